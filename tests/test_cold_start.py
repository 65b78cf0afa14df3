"""Cold start by construction: a route imports only what its code path needs.

Deployed, each endpoint group is its own Lambda function (deploy/), so a cold
start pays only for the imports of the one request it serves. Each probe is a
fresh interpreter that imports the app and hands one API Gateway event to its
Lambda entry point, against DynamoDB Local (no moto: it would import requests).
"""
import json
import os
import subprocess
import sys

from deploy import functions, plan
from localdev import PROJECT_ROOT
from tests.conftest import PK, SK, TEST_ENV
from tests.helpers import codepay_notification, form_body

HEAVY = ('boto3', 'botocore', 'requests', 'urllib3', 'Crypto', 'defusedxml', 'cryptography', 'segno')
# Shared by every provider: the contract's types, not any provider's code.
CONTRACT = 'chalicelib.providers.contract'

IMPORTS = f'''
import json, sys
import app
from chalicelib import handlers, notifications
{{imports}}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r} or
                        m.startswith("chalicelib.providers.") and m != {CONTRACT!r})))
'''

INVOKE = f'''
import json, sys
method, resource, path_parameters, headers, body = json.loads(sys.argv[1])
import app
path = resource.format(**path_parameters)
event = {{"requestContext": {{"httpMethod": method, "resourcePath": resource, "path": path,
                              "identity": {{"sourceIp": "203.0.113.9"}}}},
          "httpMethod": method, "path": path, "resource": resource,
          "headers": headers, "pathParameters": path_parameters or None, "stageVariables": None,
          "multiValueQueryStringParameters": None, "body": body, "isBase64Encoded": False}}
response = app.app(event, None)
loaded = sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in {HEAVY!r}}} |
                {{m for m in sys.modules if m.startswith("chalicelib.providers.")}})
print(json.dumps({{"status": response["statusCode"], "loaded": loaded}}))
'''


def loaded_by(imports):
    """The heavy and provider modules a fresh interpreter holds after importing the app and `imports`."""
    run = subprocess.run([sys.executable, '-c', IMPORTS.format(imports=imports)], cwd=PROJECT_ROOT,
                         env=TEST_ENV, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_importing_the_app_and_the_codepay_route_loads_nothing_heavy():
    assert loaded_by('from chalicelib.providers.codepay import notify') == [
        'chalicelib.providers.codepay', 'chalicelib.providers.codepay.notify', 'chalicelib.providers.codepay.sign']


def test_the_midas_routes_load_only_midas():
    assert loaded_by('from chalicelib import coins') == [
        'chalicelib.providers.midas', 'chalicelib.providers.midas.api',
        'chalicelib.providers.midas.coins', 'chalicelib.providers.midas.common',
        'chalicelib.providers.midas.sign']


def test_the_cloudmarket_routes_load_nothing_heavy():
    """The delivery and login code needs no provider module, no requests, no boto3 until DynamoDB."""
    assert loaded_by('from chalicelib.cloudmarket import dispatcher, login, instances') == []


def test_the_alipay_route_loads_only_the_alipay_provider():
    assert loaded_by('from chalicelib.providers.alipay import notify') == [
        'chalicelib.providers.alipay', 'chalicelib.providers.alipay.certs',
        'chalicelib.providers.alipay.gateway', 'chalicelib.providers.alipay.notify',
        'chalicelib.providers.alipay.responses', 'chalicelib.providers.alipay.sign']


def test_wechatpay_notify_routes_load_nothing_heavy_before_use():
    """Verification needs pycryptodome / defusedxml / boto3 only when a request comes; no login, no requests."""
    assert loaded_by('from chalicelib.providers.wechatpay import notify_v2, notify_v3') == [
        'chalicelib.providers.wechatpay', 'chalicelib.providers.wechatpay.common',
        'chalicelib.providers.wechatpay.crypto', 'chalicelib.providers.wechatpay.notify_v2',
        'chalicelib.providers.wechatpay.notify_v3', 'chalicelib.providers.wechatpay.sign',
        'chalicelib.providers.wechatpay.v3', 'chalicelib.providers.wechatpay.xmlfields']


def invoke(method, resource, path_parameters=None, headers=None, body=''):
    """Status and heavy modules loaded after one cold request in a fresh interpreter."""
    request = json.dumps([method, resource, path_parameters or {}, headers or {}, body])
    run = subprocess.run([sys.executable, '-c', INVOKE, request], cwd=PROJECT_ROOT,
                         env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return result['status'], set(result['loaded'])


def providers(loaded):
    """The provider packages a process loaded (their submodules and the shared contract aside)."""
    return {'.'.join(m.split('.')[:3]) for m in loaded if m.startswith('chalicelib.providers.') and m != CONTRACT}


def test_orders_read_loads_no_provider_and_no_requests(local_table):
    status, loaded = invoke('GET', '/orders/{order_id}', {'order_id': 'ord_missing'},
                            {'x-api-key': PK})
    assert status == 404
    assert providers(loaded) == set() and 'requests' not in loaded and 'Crypto' not in loaded


def test_order_creation_loads_its_provider_and_requests_for_the_outbound_call(local_table, paygate_env):
    from localdev.ports import free_port
    paygate_env.setenv('PAYGATE_CODEPAY_URL', f'http://127.0.0.1:{free_port()}')   # nothing listens
    body = json.dumps({'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'}})
    status, loaded = invoke('POST', '/orders', headers={'x-api-key': PK, 'content-type': 'application/json'},
                            body=body)
    assert status == 502
    assert providers(loaded) == {'chalicelib.providers.codepay'} and 'requests' in loaded


def test_only_a_qr_scenes_order_creation_loads_segno(local_table, wechatpay_env, wechatpay_keys):
    """segno draws the QR scenes' PNG: a WeChat Pay native order loads it, an app order of the same
    provider does not (both created cold, against the sandbox's WeChat Pay)."""
    from localdev.ports import free_port
    from localdev.sandbox import Sandbox
    from tests.wechatpay_fixtures import private_pem
    port = free_port()
    wechatpay_env(PAYGATE_WECHATPAY_URL=f'http://127.0.0.1:{port}/wechatpay',
                  PAYGATE_SANDBOX_WECHATPAY_KEY=private_pem(wechatpay_keys.wechat))
    headers = {'x-api-key': PK, 'content-type': 'application/json'}
    loaded = {}
    with Sandbox(dict(os.environ), port, 'http://127.0.0.1:9'):
        for scene in ('app', 'native'):
            body = json.dumps({'provider': 'wechatpay', 'product_id': 'gold_60', 'scene': scene})
            status, loaded[scene] = invoke('POST', '/orders', headers=headers, body=body)
            assert status == 201, scene
    assert 'segno' not in loaded['app'] and 'segno' in loaded['native']


def test_a_notification_loads_its_own_provider_only_and_no_requests(local_table):
    body = form_body(codepay_notification('pg-not-ours-123')).decode('ascii')
    status, loaded = invoke('POST', '/notify/codepay',
                            headers={'content-type': 'application/x-www-form-urlencoded'}, body=body)
    assert status == 400       # verified, then refused: the order is not ours ('fail')
    assert providers(loaded) == {'chalicelib.providers.codepay'} and 'requests' not in loaded


def test_the_events_api_loads_no_provider_and_no_requests(local_table):
    status, loaded = invoke('GET', '/events', headers={'authorization': f'Bearer {SK}'})
    assert status == 200
    assert providers(loaded) == set() and 'requests' not in loaded


def test_every_function_group_loads_no_other_providers_code(local_table, app_module):
    """An unauthenticated, empty request to each group's first route: whatever it answers,
    it makes no outbound call (no requests) and loads no provider but the group's own."""
    for function in plan.build(app_module.app):
        if not function.routes:
            continue
        method, resource = function.routes[0]
        parameters = {name.strip('{}'): 'x' for name in resource.split('/') if name.startswith('{')}
        status, loaded = invoke(method, resource, parameters)
        assert status < 500, function.name
        needs = function.spec.needs.providers
        own = function.provider or (needs if isinstance(needs, str) and needs != functions.OWN else '')
        assert all(own and m.startswith(f'chalicelib.providers.{own}') for m in providers(loaded)), \
            (function.name, loaded)
        assert 'requests' not in loaded, function.name
