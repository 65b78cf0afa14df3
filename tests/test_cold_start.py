"""Cold start by construction: a route imports only what its code path needs."""
import json
import subprocess
import sys

from localdev import PROJECT_ROOT

PROBE = '''
import json, sys
import app
{imports}
heavy = ("boto3", "botocore", "requests", "Crypto", "defusedxml", "cryptography")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or
                        m.startswith("chalicelib.providers."))))
'''


def loaded_after(imports):
    """Heavy modules and provider modules loaded after importing the app and then `imports`."""
    from tests.conftest import TEST_ENV
    run = subprocess.run([sys.executable, '-c', PROBE.format(imports=imports)], cwd=PROJECT_ROOT,
                         env=TEST_ENV, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_importing_the_app_and_the_codepay_route_loads_nothing_heavy():
    imports = 'from chalicelib import handlers, notifications\nfrom chalicelib.providers import codepay'
    assert loaded_after(imports) == ['chalicelib.providers.codepay']


def test_wechatpay_notify_routes_load_nothing_heavy_before_use():
    """Verification needs pycryptodome / defusedxml / boto3 only when a request comes; no login, no requests."""
    assert loaded_after('from chalicelib.providers.wechatpay import notify_v2, notify_v3') == [
        'chalicelib.providers.wechatpay', 'chalicelib.providers.wechatpay.certificates',
        'chalicelib.providers.wechatpay.common', 'chalicelib.providers.wechatpay.crypto',
        'chalicelib.providers.wechatpay.notify_v2', 'chalicelib.providers.wechatpay.notify_v3',
        'chalicelib.providers.wechatpay.v2', 'chalicelib.providers.wechatpay.v3',
        'chalicelib.providers.wechatpay.xmlfields']
