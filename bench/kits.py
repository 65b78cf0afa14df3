"""The providers as the benchmarks drive them: settings, orders, and each provider's signed notifications.

Built on the provider contract suite's kits (tests/contract_kits.py): the same
settings, keys and notifications the tests use, with every provider enabled
as a deployed stage has them, and webhooks configured, so that a paying
notification writes its event and delivery as in production. Every
notification a bench sends is a new one (its provider ids are unique).
"""
import base64
import json
import os
from urllib.parse import parse_qsl

from tests import alipay_fixtures, midas_fixtures, wechatpay_fixtures
from tests.conftest import PK, TEST_ENV, reset_caches
from tests.contract_kits import ALIPAY, CODEPAY, MIDAS, WECHATPAY_V2, WECHATPAY_V3, Env

# (label, kit); the first three are the providers the cold-start targets name.
KITS = (('Codepay', CODEPAY), ('Alipay', ALIPAY), ('WeChat Pay v3', WECHATPAY_V3),
        ('WeChat Pay v2', WECHATPAY_V2), ('Midas', MIDAS))
MAIN = KITS[:3]
# The field of each route's notification that carries the provider's own id for it.
ID_FIELDS = {'codepay': ('pay_no',), 'alipay': ('notify_id', 'trade_no'), 'midas': ('billno',),
             'wechatpay': ('transaction_id',), 'wechatpay/v3': ('transaction_id',)}
WEBHOOKS = [{'id': 'bench', 'url': 'http://127.0.0.1:9/webhooks', 'secrets': ['whsec_bench'], 'events': ['*']}]


class Stage:
    """Every provider's keys (made once per process) and the stage's settings for a kit."""

    def __init__(self):
        self.alipay_keys = alipay_fixtures.new_keys()
        self.wechatpay_keys = wechatpay_fixtures.Keys.generate()
        self._serial = 0

    def environment(self, kit, table, endpoint):
        """Plain values (no references), every provider enabled; `kit` picks WeChat Pay's API version."""
        from localdev.dynamodb_local import client_environment
        env = {**TEST_ENV, **alipay_fixtures.environment(self.alipay_keys),
               **wechatpay_fixtures.environment(self.wechatpay_keys, kit.version or 'v3'),
               **midas_fixtures.midas_environment(),
               'PAYGATE_CATALOG': 'file:chalicelib/catalog.sample.json',
               'PAYGATE_PROVIDERS': 'codepay,alipay,wechatpay,midas',
               'PAYGATE_WEBHOOKS': json.dumps(WEBHOOKS), 'PAYGATE_TABLE': table}
        return {**env, **client_environment(endpoint)} if endpoint else env

    def apply(self, kit, table, endpoint=None):
        """Make the stage this process's environment, with nothing cached."""
        for name in [name for name in os.environ if name.startswith('PAYGATE_')]:
            del os.environ[name]
        os.environ.update(self.environment(kit, table, endpoint))
        reset_caches()

    def contract_env(self, http_mock=None):
        return Env(http_mock, self.alipay_keys, self.wechatpay_keys)

    def notification(self, kit, order):
        """A new valid notification that pays `order` (a tests.contract_kits.Sent)."""
        self._serial += 1
        unique = {field: f'{os.getpid()}{self._serial:08d}' for field in ID_FIELDS[kit.route]}
        if kit is MIDAS:
            unique['billno'] = f'-APPDJSX21374-20251122-{unique["billno"]}'
        return kit.paid(self.contract_env(), order, **unique)


def create_order(client, stage, kit, body=None, headers=None):
    """POST /orders through `client` as an app would, the provider's API mocked at the transport."""
    import responses
    body = body or {'provider': kit.name, 'product_id': 'gold_60', 'payer': kit.payer}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http_mock:
        http_mock.add_passthru('http://127.0.0.1')
        kit.create(stage.contract_env(http_mock))
        response = client.http.post('/orders', body=json.dumps(body).encode(), headers={
            'Content-Type': 'application/json', 'X-Api-Key': PK, **(headers or {})})
    if response.status_code not in (200, 201):
        raise RuntimeError(f'POST /orders for {kit.name}: {response.status_code} {response.body!r}')
    return json.loads(response.body)


def send(client, sent):
    return client.http.request(sent.method, sent.path, headers=sent.headers, body=sent.body)


def lambda_event(sent):
    """The API Gateway proxy event Lambda hands the function for `sent`."""
    path, _, query = sent.path.partition('?')
    values = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(name, []).append(value)
    return {'httpMethod': sent.method, 'path': path, 'resource': path,
            'requestContext': {'httpMethod': sent.method, 'resourcePath': path, 'path': path,
                               'identity': {'sourceIp': '203.0.113.9'}},
            'headers': dict(sent.headers) or None,
            'multiValueHeaders': {name: [value] for name, value in sent.headers.items()} or None,
            'queryStringParameters': {name: found[-1] for name, found in values.items()} or None,
            'multiValueQueryStringParameters': values or None,
            'pathParameters': None, 'stageVariables': None,
            'body': base64.b64encode(sent.body).decode('ascii') if sent.body else None,
            'isBase64Encoded': bool(sent.body)}
