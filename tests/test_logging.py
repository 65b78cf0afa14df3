"""What Paygate logs reaches the Lambda's output, and no secret is ever in it."""
import subprocess
import sys

from localdev import PROJECT_ROOT
from tests.conftest import CODEPAY_KEY, PK, SK, TEST_ENV

REQUESTS = '''
from moto import mock_aws
with mock_aws():
    from chalicelib import aws, settings, tables
    tables.create(aws.client('dynamodb'), settings.get().table_name)
    import app
    from chalice.test import Client
    from tests.helpers import codepay_notification, form_body
    with Client(app.app, stage_name='test') as client:
        forged = codepay_notification('pg-someone-else', key='not-the-key')
        client.http.post('/notify/codepay', body=form_body(forged),
                         headers={'Content-Type': 'application/x-www-form-urlencoded'})
        client.http.get('/orders/ord_missing', headers={'X-Api-Key': '%s'})
        client.http.get('/events', headers={'Authorization': 'Bearer %s'})
'''


def test_warnings_reach_stdout_and_carry_no_secret():
    run = subprocess.run([sys.executable, '-c', REQUESTS % (PK, SK)], cwd=PROJECT_ROOT, env=TEST_ENV,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert 'paygate.notify - WARNING - codepay notification refused (signature)' in run.stdout
    for secret in (CODEPAY_KEY, PK, SK):
        assert secret not in run.stdout + run.stderr


def test_in_lambda_every_line_is_a_json_object_with_the_request_and_what_it_is_about():
    """CloudWatch Logs Insights queries fields: level, logger, request id, function, provider, outcome."""
    import json
    run = subprocess.run([sys.executable, '-c', REQUESTS % (PK, SK)], cwd=PROJECT_ROOT,
                         env={**TEST_ENV, 'AWS_LAMBDA_FUNCTION_NAME': 'paygate-test-notify_codepay'},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    refused = next(line for line in lines if line['message'].startswith('codepay notification refused'))
    assert refused['level'] == 'WARNING' and refused['logger'] == 'paygate.notify'
    assert (refused['provider'], refused['outcome']) == ('codepay', 'refused: signature')
    assert refused['function'] == 'paygate-test-notify_codepay' and 'request_id' in refused
    for secret in (CODEPAY_KEY, PK, SK):
        assert secret not in run.stdout + run.stderr
