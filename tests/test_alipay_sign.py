"""Alipay signing and encoding: pinned byte-for-byte, round trips, and the SDKs' algorithms."""
import re
from datetime import datetime, timezone

import pytest

from chalicelib import catalog, clock
from chalicelib.providers import alipay
from chalicelib.providers.alipay import sign
from tests import alipay_sdk
from tests.alipay_fixtures import APP_ID

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
ORDER = {'out_trade_no': 'pg20261122080000a1b2c3d4e5f6', 'scene': 'app', 'amount': 600, 'quantity': 1,
         'expires_at': '2026-11-22T08:30:00Z'}

# The string to sign, written out from docs/providers/alipay.md#signing: sorted keys, raw values,
# sign_type included, biz_content exactly as sent, times in GMT+8.
STRING_TO_SIGN = (
    'app_id=2021000123456789'
    '&biz_content={"out_trade_no":"pg20261122080000a1b2c3d4e5f6","total_amount":"6.00",'
    '"subject":"60 金币","product_code":"QUICK_MSECURITY_PAY","time_expire":"2026-11-22 16:30:00"}'
    '&charset=utf-8&format=JSON&method=alipay.trade.app.pay'
    '&notify_url=https://pay.test/notify/alipay&sign_type=RSA2'
    '&timestamp=2026-11-22 16:00:00&version=1.0')

# The same pairs as the order string: values URL-encoded like Java's URLEncoder, sign in its sorted place.
ORDER_STRING = (
    'app_id=2021000123456789'
    '&biz_content=%7B%22out_trade_no%22%3A%22pg20261122080000a1b2c3d4e5f6%22%2C%22total_amount'
    '%22%3A%226.00%22%2C%22subject%22%3A%2260+%E9%87%91%E5%B8%81%22%2C%22product_code%22%3A'
    '%22QUICK_MSECURITY_PAY%22%2C%22time_expire%22%3A%222026-11-22+16%3A30%3A00%22%7D'
    '&charset=utf-8&format=JSON&method=alipay.trade.app.pay'
    '&notify_url=https%3A%2F%2Fpay.test%2Fnotify%2Falipay&sign=SIGN&sign_type=RSA2'
    '&timestamp=2026-11-22+16%3A00%3A00&version=1.0')


@pytest.fixture
def order_string(alipay_env, monkeypatch):
    monkeypatch.setattr(clock, 'now', lambda: NOW)
    created = alipay.create(ORDER, catalog.get().get('gold_60'), {})
    return created.client_params['order_string']


def test_string_to_sign_of_a_fixed_request_is_pinned(order_string):
    params = alipay_sdk.decode_query(order_string)
    assert sign.sign_content(params) == STRING_TO_SIGN
    assert alipay_sdk.sign_content(params) == STRING_TO_SIGN


def test_order_string_is_pinned_byte_for_byte_and_signed_by_the_app_key(order_string, alipay_keys):
    sign = re.search(r'&sign=([^&]+)', order_string).group(1)
    assert order_string == ORDER_STRING.replace('sign=SIGN', f'sign={sign}')
    params = alipay_sdk.check_order_string(order_string, alipay_keys.app)
    assert alipay_keys.app.verifies(STRING_TO_SIGN, params['sign'])
    assert not alipay_keys.alipay.verifies(STRING_TO_SIGN, params['sign'])


def test_python_alipay_sdk_signs_the_same_parameters_identically(order_string, alipay_keys):
    """python-alipay-sdk's sign_data over our parameters gives our signature (RSA PKCS#1 v1.5 is deterministic)."""
    from alipay import AliPay
    sdk = AliPay(appid=APP_ID, app_private_key_string=alipay_keys.app.private_pem,
                 alipay_public_key_string=alipay_keys.app.public_pem)
    params = alipay_sdk.decode_query(order_string)
    ours = params.pop('sign')
    theirs = alipay_sdk.decode_query(sdk.sign_data(dict(params)))['sign']
    assert theirs == ours
    assert sdk._verify(STRING_TO_SIGN, ours)


@pytest.mark.parametrize('value, encoded', [
    ('a b', 'a+b'), ('*', '*'), ('~', '%7E'), ('-_.', '-_.'), ('+', '%2B'), ('&=', '%26%3D'),
    (':/{}"', '%3A%2F%7B%7D%22'), ('中', '%E4%B8%AD'), ('2026-11-22 16:00:00', '2026-11-22+16%3A00%3A00'),
])
def test_values_are_encoded_like_java_urlencoder(value, encoded):
    assert sign.url_encode(value) == encoded


def test_empty_values_are_neither_signed_nor_sent(alipay_keys):
    params = {'app_id': APP_ID, 'method': 'm', 'app_auth_token': '', 'biz_content': '{"a":"*~ "}'}
    query = sign.signed_query(params, alipay_keys.app.private_pem)
    assert 'app_auth_token' not in query
    assert 'biz_content=%7B%22a%22%3A%22*%7E+%22%7D' in query
    decoded = alipay_sdk.check_order_string(query, alipay_keys.app)
    assert decoded['biz_content'] == '{"a":"*~ "}'


def test_round_trip_and_tampering(alipay_keys):
    params = {'app_id': APP_ID, 'method': 'alipay.trade.query', 'sign_type': 'RSA2',
              'biz_content': '{"out_trade_no":"x y+z"}'}
    query = sign.signed_query(params, alipay_keys.app.private_pem)
    decoded = alipay_sdk.decode_query(query)
    assert alipay_keys.app.verifies(alipay_sdk.sign_content(decoded), decoded['sign'])
    for name in params:
        tampered = {**decoded, name: decoded[name] + '1'}
        assert not alipay_keys.app.verifies(alipay_sdk.sign_content(tampered), decoded['sign']), name


def test_notification_verification_round_trip(alipay_keys):
    fields = alipay_sdk.notification({'notify_id': 'n1', 'sign_type': 'RSA2', 'subject': '金币 x1',
                                      'body': ''}, alipay_keys.alipay)
    key = alipay_keys.alipay.public_pem
    assert sign.verify_notification(fields, key, 'utf-8')
    assert not sign.verify_notification({**fields, 'subject': '金币 x2'}, key, 'utf-8')
    assert not sign.verify_notification(fields, alipay_keys.app.public_pem, 'utf-8')
    assert sign.verify_notification({**fields, 'sign_type': 'RSA'}, key, 'utf-8')
    assert sign.verify_notification({**fields, 'extra': ''}, key, 'utf-8')
    assert not sign.verify_notification({**fields, 'extra': 'x'}, key, 'utf-8')


def test_notification_signed_in_the_neighbouring_sdk_forms_verifies(alipay_keys):
    fields = {'notify_id': 'n1', 'sign_type': 'RSA2', 'subject': '金币', 'body': ''}
    with_empty = '&'.join(f'{k}={fields[k]}' for k in sorted(fields) if k != 'sign_type')
    with_sign_type = alipay_sdk.sign_content(fields)
    key = alipay_keys.alipay.public_pem
    for text in (with_empty, with_sign_type):
        assert sign.verify_notification({**fields, 'sign': alipay_keys.alipay.sign(text)}, key, 'utf-8')
        assert not sign.verify_notification({**fields, 'subject': 'x', 'sign': alipay_keys.alipay.sign(text)},
                                             key, 'utf-8')
