"""Cold start by construction: a route imports only what its code path needs."""
import json
import subprocess
import sys

from localdev import PROJECT_ROOT

PROBE = '''
import json, sys
import app
from chalicelib import handlers, notifications
{imports}
heavy = ("boto3", "botocore", "requests", "Crypto", "defusedxml", "cryptography")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or
                        m.startswith("chalicelib.providers."))))
'''


def loaded_by(imports):
    """The heavy and provider modules a fresh interpreter holds after importing the app and `imports`."""
    from tests.conftest import TEST_ENV
    run = subprocess.run([sys.executable, '-c', PROBE.format(imports=imports)], cwd=PROJECT_ROOT,
                         env=TEST_ENV, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_importing_the_app_and_the_codepay_route_loads_nothing_heavy():
    assert loaded_by('from chalicelib.providers import codepay') == ['chalicelib.providers.codepay']


def test_the_midas_routes_load_only_midas():
    assert loaded_by('from chalicelib.providers.midas import coins') == [
        'chalicelib.providers.midas', 'chalicelib.providers.midas.api',
        'chalicelib.providers.midas.coins', 'chalicelib.providers.midas.sign']


def test_the_cloudmarket_routes_load_nothing_heavy():
    """The delivery and login code needs no provider module, no requests, no boto3 until DynamoDB."""
    assert loaded_by('from chalicelib.cloudmarket import dispatcher, login, instances') == []


def test_the_alipay_route_loads_only_the_alipay_provider():
    assert loaded_by('from chalicelib.providers import alipay') == [
        'chalicelib.providers.alipay', 'chalicelib.providers.alipay.certs',
        'chalicelib.providers.alipay.codec', 'chalicelib.providers.alipay.gateway',
        'chalicelib.providers.alipay.notify', 'chalicelib.providers.alipay.responses']


def test_wechatpay_notify_routes_load_nothing_heavy_before_use():
    """Verification needs pycryptodome / defusedxml / boto3 only when a request comes; no login, no requests."""
    assert loaded_by('from chalicelib.providers.wechatpay import notify_v2, notify_v3') == [
        'chalicelib.providers.wechatpay', 'chalicelib.providers.wechatpay.certificates',
        'chalicelib.providers.wechatpay.common', 'chalicelib.providers.wechatpay.crypto',
        'chalicelib.providers.wechatpay.notify_v2', 'chalicelib.providers.wechatpay.notify_v3',
        'chalicelib.providers.wechatpay.v2', 'chalicelib.providers.wechatpay.v3',
        'chalicelib.providers.wechatpay.xmlfields']
