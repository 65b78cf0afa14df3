"""Alipay's scenes: mobile web (alipay.trade.wap.pay, a signed cashier URL) and QR (alipay.trade.precreate).

The wap URL is pinned byte for byte with the clock fixed; the precreate call is
checked on the wire; signatures are checked with python-alipay-sdk; the QR
code's PNG is read back with pypng and zxing-cpp; every answer is checked
against docs/openapi.yaml. Orders of each scene are paid by Alipay's
notification, and a notification for another app is refused.
"""
import json
import re
from datetime import datetime, timezone

import pytest

from chalicelib import clock
from tests import alipay_sdk, qr_reader, table
from tests.alipay_fixtures import APP_ID, GATEWAY, expect_gateway, signed
from tests.helpers import FORM, PUBLISHABLE, assert_text_answer, assert_unchanged, body_json, post_json
from tests.openapi_check import check_response

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
QR_CODE = 'https://qr.alipay.com/bax03431ljhokirwl38f00a7'
WAP = {'provider': 'alipay', 'scene': 'wap', 'product_id': 'gold_60', 'out_trade_no': 'scenewap0001',
       'return_url': 'https://shop.example.com/paid?o=1', 'quit_url': 'https://shop.example.com/cart'}
QR = {'provider': 'alipay', 'scene': 'qr', 'product_id': 'gold_60', 'out_trade_no': 'sceneqr0001'}

# Written out from docs/providers/alipay.md#signing: sorted keys, raw values, sign_type signed.
WAP_STRING_TO_SIGN = (
    'app_id=2021000123456789'
    '&biz_content={"out_trade_no":"scenewap0001","total_amount":"6.00","subject":"60 金币",'
    '"product_code":"QUICK_WAP_WAY","time_expire":"2026-11-22 16:30:00",'
    '"quit_url":"https://shop.example.com/cart"}'
    '&charset=utf-8&format=JSON&method=alipay.trade.wap.pay'
    '&notify_url=https://pay.test/notify/alipay&return_url=https://shop.example.com/paid?o=1'
    '&sign_type=RSA2&timestamp=2026-11-22 16:00:00&version=1.0')

# The browser's URL: the gateway, then the same pairs URL-encoded like Java's URLEncoder, sign in place.
WAP_URL = (
    GATEWAY + '?app_id=2021000123456789'
    '&biz_content=%7B%22out_trade_no%22%3A%22scenewap0001%22%2C%22total_amount%22%3A%226.00%22%2C'
    '%22subject%22%3A%2260+%E9%87%91%E5%B8%81%22%2C%22product_code%22%3A%22QUICK_WAP_WAY%22%2C'
    '%22time_expire%22%3A%222026-11-22+16%3A30%3A00%22%2C'
    '%22quit_url%22%3A%22https%3A%2F%2Fshop.example.com%2Fcart%22%7D'
    '&charset=utf-8&format=JSON&method=alipay.trade.wap.pay'
    '&notify_url=https%3A%2F%2Fpay.test%2Fnotify%2Falipay'
    '&return_url=https%3A%2F%2Fshop.example.com%2Fpaid%3Fo%3D1'
    '&sign=SIGN&sign_type=RSA2&timestamp=2026-11-22+16%3A00%3A00&version=1.0')


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, 'now', lambda: NOW)


def sdk(keys):
    """python-alipay-sdk, holding the app's key pair (it verifies what the app key signs)."""
    from alipay import AliPay
    return AliPay(appid=APP_ID, app_private_key_string=keys.app.private_pem,
                  alipay_public_key_string=keys.app.public_pem)


def create(client, body):
    response = post_json(client, '/orders', body)
    assert response.status_code == 201, response.body
    return body_json(check_response('POST', '/orders', response))


def precreate_answer(params, qr_code=QR_CODE):
    biz = json.loads(params['biz_content'])
    return {'code': '10000', 'msg': 'Success', 'out_trade_no': biz['out_trade_no'], 'qr_code': qr_code}


def precreated(keys, signer=None, qr_code=QR_CODE):
    """Alipay's answer to a precreate, signed by `signer` (Alipay's key by default)."""
    return lambda params: alipay_sdk.answer_json('alipay.trade.precreate', precreate_answer(params, qr_code),
                                                 signer or keys.alipay)


# ---- wap -----------------------------------------------------------------------------------------

def test_wap_order_gives_a_signed_cashier_url_pinned_byte_for_byte(alipay_env, client, fixed_clock, alipay_keys):
    order = create(client, WAP)
    url = order['client_params']['pay_url']
    sign = re.search(r'&sign=([^&]+)', url).group(1)
    assert url == WAP_URL.replace('sign=SIGN', f'sign={sign}')
    params = alipay_sdk.decode_query(url.split('?', 1)[1])
    assert alipay_sdk.sign_content(params) == WAP_STRING_TO_SIGN
    assert sdk(alipay_keys)._verify(WAP_STRING_TO_SIGN, params['sign'])
    assert alipay_sdk.decode_query(sdk(alipay_keys).sign_data({k: v for k, v in params.items()
                                                               if k != 'sign'}))['sign'] == params['sign']
    assert order['scene'] == 'wap' and table.order(order['order_id'])['return_url'] == WAP['return_url']


def test_wap_quit_url_defaults_to_the_return_url_and_urls_are_optional(alipay_env, client, alipay_keys):
    order = create(client, {**WAP, 'quit_url': None})
    params = alipay_sdk.decode_query(order['client_params']['pay_url'].split('?', 1)[1])
    assert json.loads(params['biz_content'])['quit_url'] == WAP['return_url']
    bare = create(client, {**WAP, 'out_trade_no': 'scenewap0002', 'return_url': None, 'quit_url': None})
    params = alipay_sdk.check_order_string(bare['client_params']['pay_url'].split('?', 1)[1], alipay_keys.app)
    assert 'return_url' not in params and 'quit_url' not in json.loads(params['biz_content'])


@pytest.mark.parametrize('body, field', [
    ({'scene': 'app', 'return_url': 'https://shop.example.com/'}, 'return_url'),
    ({'scene': 'qr', 'quit_url': 'https://shop.example.com/'}, 'quit_url'),
    ({'scene': 'h5'}, 'scene'),
])
def test_what_an_alipay_scene_does_not_take_is_refused(alipay_env, client, body, field):
    response = post_json(client, '/orders', {**QR, **body})
    assert response.status_code == 400 and body_json(response)['error']['field'] == field
    assert table.order_by_trade_no(QR['out_trade_no']) is None


# ---- qr (precreate) ------------------------------------------------------------------------------

def test_qr_order_precreates_at_alipay_and_gives_the_qr_code(alipay_env, client, http_mock, fixed_clock,
                                                              alipay_keys):
    calls = []
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.precreate': precreated(alipay_keys)}, calls)
    order = create(client, QR)
    params = order['client_params']
    assert set(params) == {'qr_code', 'qr_png'} and params['qr_code'] == QR_CODE and order['scene'] == 'qr'
    assert qr_reader.read(params['qr_png']).text == QR_CODE
    shown = check_response('GET', f'/orders/{order["order_id"]}',
                           client.http.get(f'/orders/{order["order_id"]}', headers=PUBLISHABLE))
    assert body_json(shown)['client_params'] == params
    [call] = calls
    assert call['biz_content'] == ('{"out_trade_no":"sceneqr0001","total_amount":"6.00","subject":"60 金币",'
                                   '"product_code":"FACE_TO_FACE_PAYMENT","timeout_express":"30m"}')
    assert (call['method'], call['notify_url'], call['timestamp'], call['app_id']) == (
        'alipay.trade.precreate', 'https://pay.test/notify/alipay', '2026-11-22 16:00:00', APP_ID)
    unsigned = {k: v for k, v in call.items() if k not in ('sign', 'biz')}
    assert sdk(alipay_keys)._verify(alipay_sdk.sign_content(unsigned), call['sign'])


@pytest.mark.parametrize('answer', ['signed by another key', 'unsigned', 'refused'])
def test_a_precreate_answer_not_signed_by_alipay_or_refusing_stores_nothing(alipay_env, client, http_mock,
                                                                            alipay_keys, answer):
    answers = {'signed by another key': precreated(alipay_keys, alipay_keys.app),
               'unsigned': lambda params: json.dumps({'alipay_trade_precreate_response': precreate_answer(params)}),
               'refused': {'code': '40004', 'msg': 'Business Failed', 'sub_code': 'ACQ.TOTAL_FEE_EXCEED',
                           'sub_msg': '订单金额超过限额'}}
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.precreate': answers[answer]})
    response = post_json(client, '/orders', QR)
    assert response.status_code == 502
    assert table.order_by_trade_no(QR['out_trade_no']) is None


def test_a_qr_code_too_long_to_draw_is_a_provider_error_and_stores_nothing(alipay_env, client, http_mock,
                                                                            alipay_keys):
    too_long = QR_CODE + 'x' * 1000
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.precreate': precreated(alipay_keys, qr_code=too_long)})
    response = check_response('POST', '/orders', post_json(client, '/orders', QR))
    assert response.status_code == 502 and 'qr_code' in body_json(response)['error']['message']
    assert table.order_by_trade_no(QR['out_trade_no']) is None


# ---- notifications -------------------------------------------------------------------------------

def notify(client, fields):
    return client.http.post('/notify/alipay', headers=FORM, body=alipay_sdk.form_body(fields))


@pytest.mark.parametrize('scene', ['wap', 'qr'])
def test_a_notification_pays_an_order_of_the_scene_and_one_for_another_app_is_refused(
        alipay_env, client, http_mock, alipay_keys, scene):
    if scene == 'qr':
        expect_gateway(http_mock, alipay_keys, {'alipay.trade.precreate': precreated(alipay_keys)})
    order = create(client, WAP if scene == 'wap' else QR)
    refused = notify(client, signed(alipay_keys, order, app_id='2021000999999999'))
    assert_text_answer(refused, 'fail')
    assert_unchanged(order['order_id'])
    accepted = notify(client, signed(alipay_keys, order))
    assert_text_answer(accepted, 'success')
    assert table.order(order['order_id'])['status'] == 'PAID'
