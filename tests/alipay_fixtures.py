"""Alipay settings, keys and a gateway mocked at the transport, for the Alipay tests; and Paygate
served beside the Alipay sandbox, for the tests that go through both over HTTP."""
import json
from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest

from localdev.ports import free_port
from localdev.sandbox import Sandbox, alipay as emulator
from localdev.server import BackgroundServer, create_server
from tests import alipay_sdk
from tests.conftest import reset_caches

APP_ID = '2021000123456789'
SELLER_ID = '2088101122334455'
GATEWAY = 'https://alipay.test/gateway.do'
ORDER = {'provider': 'alipay', 'product_id': 'gold_60', 'payer': {}}
NOTIFY_ID = '2026112200222160500046001404371234'
TRADE_NO = '2026112222001404370512345678'
SANDBOX_APP_ID = '2021000000000001'


def new_keys():
    """Throw-away key pairs: the app's and the one standing in for Alipay's."""
    return SimpleNamespace(app=alipay_sdk.KeyPair(), alipay=alipay_sdk.KeyPair())


def environment(keys):
    """The settings that enable Alipay in public-key mode."""
    return {'PAYGATE_PROVIDERS': 'codepay,alipay', 'PAYGATE_ALIPAY_APP_ID': APP_ID,
            'PAYGATE_ALIPAY_SELLER_ID': SELLER_ID, 'PAYGATE_ALIPAY_GATEWAY': GATEWAY,
            'PAYGATE_ALIPAY_APP_PRIVATE_KEY': keys.app.private_pem,
            'PAYGATE_ALIPAY_PUBLIC_KEY': keys.alipay.public_pem}


def expect_gateway(http_mock, keys, answers, calls=None):
    """Answer gateway calls as Alipay would: check our signature, answer `answers[method]`.

    An answer is a payload dict (signed JSON), a callable(params) -> body
    text, or an Exception to raise (a transport failure).
    """
    def reply(request):
        params = dict(parse_qsl(request.body.decode('ascii'), keep_blank_values=True))
        assert keys.app.verifies(alipay_sdk.sign_content(params), params['sign']), params
        if calls is not None:
            calls.append({**params, 'biz': json.loads(params['biz_content'])})
        answer = answers[params['method']]
        if isinstance(answer, Exception):
            raise answer
        body = answer(params) if callable(answer) else alipay_sdk.answer_json(
            params['method'], answer, keys.alipay)
        return 200, {'Content-Type': 'text/html;charset=utf-8'}, body
    http_mock.add_callback('POST', GATEWAY, callback=reply)


def fields_for(order, **change):
    """An Alipay payment notification for `order`, before signing; a change to None removes a field."""
    fields = {
        'notify_time': '2026-11-22 16:05:01', 'notify_type': 'trade_status_sync', 'notify_id': NOTIFY_ID,
        'app_id': APP_ID, 'charset': 'utf-8', 'version': '1.0', 'sign_type': 'RSA2',
        'trade_no': TRADE_NO, 'out_trade_no': order['out_trade_no'], 'buyer_id': '2088102177846880',
        'buyer_logon_id': 'san***@sandbox.com', 'seller_id': SELLER_ID, 'seller_email': 'shop@example.com',
        'trade_status': 'TRADE_SUCCESS', 'total_amount': '6.00', 'receipt_amount': '6.00',
        'invoice_amount': '6.00', 'buyer_pay_amount': '6.00', 'point_amount': '0.00', 'subject': '60 金币',
        'gmt_create': '2026-11-22 16:04:50', 'gmt_payment': '2026-11-22 16:05:00',
        'fund_bill_list': '[{"amount":"6.00","fundChannel":"ALIPAYACCOUNT"}]',
    }
    fields.update(change)
    return {name: value for name, value in fields.items() if value is not None}


def signed(keys, order, encoding='utf-8', key=None, **change):
    """The notification signed as Alipay signs it, over its text in `encoding`."""
    return alipay_sdk.notification(fields_for(order, **change), key or keys.alipay, encoding)


@pytest.fixture
def alipay_and_sandbox(moto_table, paygate_env, tmp_path):
    """Paygate (test stage, Alipay on) and the Alipay sandbox, each on its own port on 127.0.0.1:
    (Paygate's URL, the sandbox's URL)."""
    keys = emulator.make_keys(tmp_path)
    sandbox_port, paygate_port = free_port(), free_port()
    env = {'PAYGATE_PROVIDERS': 'codepay,alipay', 'PAYGATE_ALIPAY_APP_ID': SANDBOX_APP_ID,
           'PAYGATE_ALIPAY_SELLER_ID': '2088000000000001',
           'PAYGATE_ALIPAY_GATEWAY': f'http://127.0.0.1:{sandbox_port}/alipay/gateway.do',
           'PAYGATE_ALIPAY_APP_PRIVATE_KEY': (keys / 'app_private_key.pem').read_text(),
           'PAYGATE_ALIPAY_PUBLIC_KEY': (keys / 'alipay_public_key.pem').read_text(),
           'PAYGATE_PUBLIC_URL': f'http://127.0.0.1:{paygate_port}'}
    for name, value in env.items():
        paygate_env.setenv(name, value)
    reset_caches()
    server = create_server('test', '127.0.0.1', paygate_port)
    with Sandbox({**env, 'PAYGATE_SANDBOX_ALIPAY_KEYS': str(keys)}, sandbox_port, env['PAYGATE_PUBLIC_URL']) as sandbox, \
            BackgroundServer(server) as paygate:
        yield paygate.url, sandbox.base_url
