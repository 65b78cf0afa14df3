"""The secrets scan (tests/secrets_scan.py) catches a secret in a log line, and only a secret."""
import json
import logging
import os
import re
import subprocess
import sys

from localdev import PROJECT_ROOT
from tests.alipay_sdk import KeyPair
from tests.secrets_scan import Hit, Scan


def record(message, *args, logger='paygate.web', exc_info=None):
    return logging.LogRecord(logger, logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_secret_in_a_record_is_a_hit_naming_the_secret_and_the_logger_without_repeating_it():
    scan = Scan()
    scan.learn('PAYGATE_SECRET_KEYS', 'sk_test_old,sk_test_unit')
    scan.check_record(record('key %s refused for %s', 'sk_test_unit', 'ord_1'))
    assert scan.hits == [Hit('PAYGATE_SECRET_KEYS', 'paygate.web', 'outside any test',
                             'key <PAYGATE_SECRET_KEYS> refused for ord_1')]


def test_a_masked_secret_is_not_a_hit():
    scan = Scan()
    scan.learn('PAYGATE_SECRET_KEYS', 'sk_test_unit')
    scan.check_record(record('key %s refused', 'sk_test_...****'))
    assert (scan.scanned, scan.hits) == (1, [])


def test_a_generated_value_of_few_distinct_characters_is_not_learnt_as_a_secret():
    scan = Scan()
    scan.learn('Midas payer openkey', '00000000')
    scan.learn('Midas payer openkey', 'abababab')
    scan.check_record(record('bad sig on billno %s', '0000000000000000abababab'))
    assert (scan.secrets, scan.hits) == ({}, [])


def test_a_pem_key_is_found_by_its_body_wherever_its_lines_are_broken_and_not_by_its_armour():
    scan = Scan()
    pem = KeyPair().private_pem
    scan.learn('PAYGATE_ALIPAY_APP_PRIVATE_KEY', pem)
    scan.check_record(record('-----BEGIN PRIVATE KEY----- is not a secret'))
    scan.check_record(record('%s', json.dumps({'key': pem})))
    scan.check_record(record('%s', ''.join(pem.splitlines()[1:-1])))
    assert [hit.secret for hit in scan.hits] == ['PAYGATE_ALIPAY_APP_PRIVATE_KEY'] * 2


def test_the_webhook_secrets_are_found_not_the_rest_of_the_endpoints():
    scan = Scan()
    scan.learn('PAYGATE_WEBHOOKS', json.dumps([{'id': 'main', 'url': 'https://merchant.test/hooks',
                                                'secrets': ['whsec_new_one', 'whsec_old_one']}]))
    scan.check_record(record('delivery to https://merchant.test/hooks (main) failed'))
    scan.check_record(record('signed with whsec_old_one'))
    assert [hit.text for hit in scan.hits] == ['signed with <PAYGATE_WEBHOOKS>']


def test_an_exception_logged_with_a_secret_in_its_message_is_a_hit():
    scan = Scan()
    scan.learn('PAYGATE_CODEPAY_KEY', 'codepay-test-key-0123456789')
    try:
        raise ValueError('bad key codepay-test-key-0123456789')
    except ValueError:
        scan.check_record(record('notification failed', exc_info=sys.exc_info()))
    assert [hit.secret for hit in scan.hits] == ['PAYGATE_CODEPAY_KEY']


def test_short_placeholders_are_not_searched_for():
    scan = Scan()
    scan.learn('PAYGATE_SECRET_KEYS', 'sk')
    scan.check_record(record('asked for a task'))
    assert (scan.secrets, scan.hits) == ({}, [])


LEAKING_SESSION = '''
import http.server
import logging
import threading
import urllib.request
from chalicelib import settings

def codepay_key():
    return settings.Env({'PAYGATE_CODEPAY_KEY': 'codepay-key-the-scan-learns'}).secret('PAYGATE_CODEPAY_KEY').value

def test_logs_the_key():
    logging.getLogger('paygate.notify').warning('signed with %s', codepay_key())

def test_logs_it_masked():
    logging.getLogger('paygate.notify').warning('signed with %s****', codepay_key()[:7])

class NoContent(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204)
        self.end_headers()

def test_serves_a_url_holding_the_key():
    server = http.server.HTTPServer(('127.0.0.1', 0), NoContent)
    serving = threading.Thread(target=server.handle_request)
    serving.start()
    urllib.request.urlopen(f'http://127.0.0.1:{server.server_port}/balance?openkey={codepay_key()}', timeout=10)
    serving.join()
    server.server_close()
'''


def test_a_session_that_logs_a_secret_fails_and_says_which_secret_logger_and_test(tmp_path):
    """Through the real hooks: a log record and a line of an http.server access log."""
    (tmp_path / 'test_leak.py').write_text(LEAKING_SESSION)
    run = subprocess.run([sys.executable, '-m', 'pytest', '-p', 'tests.secrets_scan', '-p', 'no:cacheprovider',
                          'test_leak.py'], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, 'PYTHONPATH': str(PROJECT_ROOT)})
    assert run.returncode == 1, run.stdout + run.stderr
    assert '3 passed' in run.stdout
    assert ('PAYGATE_CODEPAY_KEY logged by paygate.notify in test_leak.py::test_logs_the_key: '
            'signed with <PAYGATE_CODEPAY_KEY>\n') in run.stdout
    assert ('PAYGATE_CODEPAY_KEY logged by access log (NoContent) in test_leak.py::test_serves_a_url_holding_the_key: '
            '"GET /balance?openkey=<PAYGATE_CODEPAY_KEY> HTTP/1.1" 204 -\n') in run.stdout
    assert re.search(r'^\d+ log lines scanned for 1 secret value: 2 hits$', run.stdout, re.MULTILINE)
    assert 'codepay-key-the-scan-learns' not in run.stdout
