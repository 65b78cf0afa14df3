"""Cold start by construction: a route imports only what its code path needs."""
import json
import subprocess
import sys

from localdev import PROJECT_ROOT

PROBE = '''
import json, sys
import app
from chalicelib import handlers, notifications
from chalicelib.providers import codepay
heavy = ("boto3", "botocore", "requests", "Crypto", "defusedxml")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or
                        m.startswith("chalicelib.providers."))))
'''


def test_importing_the_app_and_the_codepay_route_loads_nothing_heavy():
    from tests.conftest import TEST_ENV
    run = subprocess.run([sys.executable, '-c', PROBE], cwd=PROJECT_ROOT, env=TEST_ENV,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ['chalicelib.providers.codepay']


def test_the_cloudmarket_routes_load_nothing_heavy():
    """The delivery and login code needs no provider module, no requests, no boto3 until DynamoDB."""
    from tests.conftest import TEST_ENV
    probe = PROBE.replace('from chalicelib.providers import codepay',
                          'from chalicelib.cloudmarket import dispatcher, login, instances')
    run = subprocess.run([sys.executable, '-c', probe], cwd=PROJECT_ROOT, env=TEST_ENV,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


def test_the_alipay_route_loads_only_the_alipay_provider():
    from tests.conftest import TEST_ENV
    probe = PROBE.replace('from chalicelib.providers import codepay', 'from chalicelib.providers import alipay')
    run = subprocess.run([sys.executable, '-c', probe], cwd=PROJECT_ROOT, env=TEST_ENV,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ['chalicelib.providers.alipay', 'chalicelib.providers.alipay.certs',
                                      'chalicelib.providers.alipay.codec', 'chalicelib.providers.alipay.gateway',
                                      'chalicelib.providers.alipay.notify', 'chalicelib.providers.alipay.responses']
