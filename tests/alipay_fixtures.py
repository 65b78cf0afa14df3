"""Alipay settings, keys and a gateway mocked at the transport, for the Alipay tests."""
import json
from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest

from tests import alipay_sdk
from tests.conftest import reset_caches

APP_ID = '2021000123456789'
SELLER_ID = '2088101122334455'
GATEWAY = 'https://alipay.test/gateway.do'
ORDER = {'provider': 'alipay', 'product_id': 'gold_60', 'payer': {}}


@pytest.fixture(scope='session')
def alipay_keys():
    """Throw-away key pairs: the app's and the one standing in for Alipay's."""
    return SimpleNamespace(app=alipay_sdk.KeyPair(), alipay=alipay_sdk.KeyPair())


@pytest.fixture
def alipay_env(paygate_env, alipay_keys):
    """The test stage with Alipay enabled in public-key mode."""
    for name, value in {'PAYGATE_PROVIDERS': 'codepay,alipay', 'PAYGATE_ALIPAY_APP_ID': APP_ID,
                        'PAYGATE_ALIPAY_SELLER_ID': SELLER_ID, 'PAYGATE_ALIPAY_GATEWAY': GATEWAY,
                        'PAYGATE_ALIPAY_APP_PRIVATE_KEY': alipay_keys.app.private_pem,
                        'PAYGATE_ALIPAY_PUBLIC_KEY': alipay_keys.alipay.public_pem}.items():
        paygate_env.setenv(name, value)
    reset_caches()
    return alipay_keys


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
