"""WeChat Pay's scenes: APP (the WeChat SDK's PayReq), Native (a QR code), H5 (a mobile browser).

Request bytes are pinned with the clock and the nonce fixed; the signatures
are checked with wechatpayv3 (v3) and wechatpy (v2), and client parameters
the way the SDKs make them (Native's PNG read back with pypng and zxing-cpp);
every answer is checked against docs/openapi.yaml. Each scene's order is paid
by its notification, and a notification carrying another scene's appid is
refused by the order.
"""
import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from wechatpayv3 import utils as v3utils
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from chalicelib import clock, providers
from chalicelib.providers.wechatpay import common
from tests import qr_reader, table
from tests.helpers import PUBLISHABLE, SECRET, assert_unchanged, body_json, post_json
from tests.openapi_check import check_response
from tests.wechatpay_fixtures import (APIV3_KEY, APP_APPID, APPID, CERT_SERIAL, KEY, MCH_ID, PUB_KEY_ID,
                                      payment_fields, private_pem, public_pem, refund_notification, transaction,
                                      v2_xml, v3_notification)

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
TIMESTAMP = '1795334400'
NONCE = '5K8264ILTKCH16CQ2502SI8ZNMTM67VS'
PREPAY_ID = 'wx22160000123456789012345678901234'
CODE_URL = 'weixin://wxpay/bizpayurl?pr=8q2Fz3Rzz'
H5_URL = 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2216000012&package=1037687096'
TRADE_TYPES = {'jsapi': 'JSAPI', 'app': 'APP', 'native': 'NATIVE', 'h5': 'MWEB'}
SCENE_APPIDS = {'jsapi': APPID, 'app': APP_APPID, 'native': APPID, 'h5': APPID}


def order_body(scene, number=1, **extra):
    body = {'provider': 'wechatpay', 'scene': scene, 'product_id': 'gold_60',
            'out_trade_no': f'scene-{scene}-{number:04d}', **extra}
    if scene == 'jsapi':
        body['payer'] = {'openid': 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'}
    if scene == 'h5':
        body['client_ip'] = '203.0.113.7'
    return body


@pytest.fixture
def fixed(monkeypatch):
    """The clock at NOW and every nonce NONCE, so requests are the same bytes every run."""
    monkeypatch.setattr(clock, 'now', lambda: NOW)
    monkeypatch.setattr(common, 'nonce', lambda: NONCE)
    monkeypatch.setattr(v3utils.time, 'time', lambda: float(TIMESTAMP))


def v3_reply(scene):
    return {'native': {'code_url': CODE_URL}, 'h5': {'h5_url': H5_URL}}.get(scene, {'prepay_id': PREPAY_ID})


def create(client, wechat, scene, version='v3', **extra):
    if version == 'v3':
        wechat.v3('POST', f'/v3/pay/transactions/{scene}', body=v3_reply(scene))
    else:
        wechat.v2('/pay/unifiedorder', lambda sent: {'trade_type': sent['trade_type'], 'prepay_id': PREPAY_ID,
                                                     **({'code_url': CODE_URL} if scene == 'native' else {})})
    response = post_json(client, '/orders', order_body(scene, **extra))
    assert response.status_code == 201, response.body
    return body_json(check_response('POST', '/orders', response))


def assert_native_params(client, order):
    """A Native order gives code_url and its QR code as a PNG holding exactly code_url, and shows them
    again when read."""
    params = order['client_params']
    assert set(params) == {'code_url', 'qr_png'} and params['code_url'] == CODE_URL
    assert qr_reader.read(params['qr_png']).text == CODE_URL
    shown = check_response('GET', f'/orders/{order["order_id"]}',
                           client.http.get(f'/orders/{order["order_id"]}', headers=PUBLISHABLE))
    assert body_json(shown)['client_params'] == params


# ---- v3 requests on the wire --------------------------------------------------------------------

V3_BODIES = {
    'app': '{"appid":"wxd930ea5d5a258f4f","mchid":"1900000109","description":"60 金币",'
           '"out_trade_no":"scene-app-0001","time_expire":"2026-11-22T16:30:00+08:00",'
           '"notify_url":"https://pay.test/notify/wechatpay/v3","amount":{"total":600,"currency":"CNY"}}',
    'native': '{"appid":"wx8888888888888888","mchid":"1900000109","description":"60 金币",'
              '"out_trade_no":"scene-native-0001","time_expire":"2026-11-22T16:30:00+08:00",'
              '"notify_url":"https://pay.test/notify/wechatpay/v3","amount":{"total":600,"currency":"CNY"}}',
    'h5': '{"appid":"wx8888888888888888","mchid":"1900000109","description":"60 金币",'
          '"out_trade_no":"scene-h5-0001","time_expire":"2026-11-22T16:30:00+08:00",'
          '"notify_url":"https://pay.test/notify/wechatpay/v3","amount":{"total":600,"currency":"CNY"},'
          '"scene_info":{"payer_client_ip":"203.0.113.7","h5_info":{"type":"Wap"}}}',
}


@pytest.mark.parametrize('scene', ['app', 'native', 'h5'])
def test_v3_prepay_request_is_pinned_and_signed_as_wechatpayv3_signs(wechat, client, wechatpay_keys, fixed,
                                                                      scene):
    create(client, wechat, scene)
    [request] = wechat.requests
    assert request.url == f'https://wxpay.test/v3/pay/transactions/{scene}'
    assert request.body.decode('utf-8') == V3_BODIES[scene]
    path = f'/v3/pay/transactions/{scene}'
    assert request.headers['Authorization'] == v3utils.build_authorization(
        path, 'POST', MCH_ID, CERT_SERIAL, wechatpay_keys.merchant,
        data=V3_BODIES[scene], nonce_str=NONCE)
    signature = request.headers['Authorization'].split('signature="')[1].split('"')[0]
    # The string signed: POST\n<path>\n<timestamp>\n<nonce>\n<body>\n, checked by wechatpayv3's verifier.
    assert v3utils.rsa_verify(f'POST\n{path}\n{TIMESTAMP}', NONCE, V3_BODIES[scene], signature,
                              wechatpay_keys.merchant.public_key())


def test_v3_app_order_gives_the_sdk_payreq_signed_as_wechatpayv3_signs(wechat, client, wechatpay_keys, fixed):
    from wechatpayv3.core import Core
    order = create(client, wechat, 'app')
    params = order['client_params']
    assert {k: v for k, v in params.items() if k != 'sign'} == {
        'appid': APP_APPID, 'partnerid': MCH_ID, 'prepayid': PREPAY_ID, 'package': 'Sign=WXPay',
        'noncestr': NONCE, 'timestamp': TIMESTAMP}
    core = Core(MCH_ID, CERT_SERIAL, private_pem(wechatpay_keys.merchant), APIV3_KEY,
                public_key=public_pem(wechatpay_keys.wechat), public_key_id=PUB_KEY_ID)
    assert params['sign'] == core.sign([APP_APPID, TIMESTAMP, NONCE, PREPAY_ID])
    assert v3utils.rsa_verify(APP_APPID, TIMESTAMP, f'{NONCE}\n{PREPAY_ID}', params['sign'],
                              wechatpay_keys.merchant.public_key())
    stored = table.order(order['order_id'])
    assert stored['scene'] == 'app' and order['scene'] == 'app'
    assert stored['provider_data'] == {'api_version': 'v3', 'appid': APP_APPID, 'prepay_id': PREPAY_ID}


def test_v3_native_and_h5_orders_give_the_url_to_show_or_open(wechat, client, fixed):
    assert_native_params(client, create(client, wechat, 'native'))
    h5 = create(client, wechat, 'h5', return_url='https://shop.example.com/paid?order=1&x=%E4%B8%AD')
    url = urlsplit(h5['client_params']['h5_url'])
    assert h5['client_params']['h5_url'].startswith(H5_URL + '&redirect_url=https%3A%2F%2Fshop.example.com')
    assert parse_qs(url.query)['redirect_url'] == ['https://shop.example.com/paid?order=1&x=%E4%B8%AD']
    assert parse_qs(url.query)['prepay_id'] == ['wx2216000012']


# ---- v2 ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('sign_type', ['MD5', 'HMAC-SHA256'])
def test_v2_app_order_unifiedorder_and_payreq_as_wechatpy_makes_them(wechatpay_env, wechat, client, fixed,
                                                                    sign_type):
    wechatpay_env(version='v2', sign_type=sign_type)
    order = create(client, wechat, 'app', version='v2')
    [(request, sent)] = wechat.requests
    assert {k: v for k, v in sent.items() if k != 'sign'} == {
        'appid': APP_APPID, 'mch_id': MCH_ID, 'nonce_str': NONCE, 'sign_type': sign_type, 'body': '60 金币',
        'out_trade_no': 'scene-app-0001', 'total_fee': '600', 'spbill_create_ip': '127.0.0.1',
        'notify_url': 'https://pay.test/notify/wechatpay', 'trade_type': 'APP',
        'time_expire': '20261122163000'}
    params = order['client_params']
    six = {k: v for k, v in params.items() if k != 'sign'}
    if sign_type == 'MD5':
        payment = WeChatPay(appid=APP_APPID, api_key=KEY, mch_id=MCH_ID)
        assert params == payment.order.get_appapi_params(PREPAY_ID, TIMESTAMP, NONCE)
    else:
        assert params['sign'] == calculate_signature_hmac(six, KEY)
    assert table.order(order['order_id'])['provider_data']['appid'] == APP_APPID


def test_v2_native_order_sends_product_id_and_gives_code_url(wechatpay_env, wechat, client, fixed):
    wechatpay_env(version='v2')
    order = create(client, wechat, 'native', version='v2')
    [(request, sent)] = wechat.requests
    assert {k: v for k, v in sent.items() if k != 'sign'} == {
        'appid': APPID, 'mch_id': MCH_ID, 'nonce_str': NONCE, 'sign_type': 'MD5', 'body': '60 金币',
        'out_trade_no': 'scene-native-0001', 'total_fee': '600', 'spbill_create_ip': '127.0.0.1',
        'notify_url': 'https://pay.test/notify/wechatpay', 'trade_type': 'NATIVE', 'product_id': 'gold_60',
        'time_expire': '20261122163000'}
    assert sent['sign'] == calculate_signature({k: v for k, v in sent.items() if k != 'sign'}, KEY)
    assert_native_params(client, order)


@pytest.mark.parametrize('version', ['v3', 'v2'])
def test_a_code_url_too_long_to_draw_is_a_provider_error_and_stores_nothing(wechatpay_env, wechat, client,
                                                                              version):
    too_long = 'weixin://wxpay/bizpayurl?pr=' + 'x' * 1000
    if version == 'v3':
        wechat.v3('POST', '/v3/pay/transactions/native', body={'code_url': too_long})
    else:
        wechatpay_env(version='v2')
        wechat.v2('/pay/unifiedorder', lambda sent: {'trade_type': 'NATIVE', 'prepay_id': PREPAY_ID,
                                                     'code_url': too_long})
    body = order_body('native')
    response = check_response('POST', '/orders', post_json(client, '/orders', body))
    assert response.status_code == 502 and 'code_url' in body_json(response)['error']['message']
    assert table.order_by_trade_no(body['out_trade_no']) is None


# ---- what POST /orders refuses --------------------------------------------------------------------

@pytest.mark.parametrize('body, status, field, words', [
    ({'scene': 'mweb'}, 400, 'scene', 'jsapi, app, native, h5'),
    ({'scene': 7}, 400, 'scene', 'string'),
    ({'scene': 'h5', 'client_ip': None}, 400, 'client_ip', 'client_ip'),
    ({'scene': 'native', 'payer': {'openid': 'o1'}}, 400, 'payer', 'no payer'),
    ({'scene': 'jsapi', 'return_url': 'https://shop.example.com/'}, 400, 'return_url', 'not taken'),
    ({'scene': 'h5', 'return_url': 'javascript:alert(1)'}, 400, 'return_url', 'http(s) URL'),
    ({'scene': 'h5', 'quit_url': 'https://shop.example.com/'}, 400, 'quit_url', 'not taken'),
])
def test_scene_requests_that_do_not_fit_are_refused_and_nothing_is_asked(wechat, client, body, status, field,
                                                                        words):
    request = {**order_body(body.get('scene') if body.get('scene') in TRADE_TYPES else 'native'), **body}
    request = {k: v for k, v in request.items() if v is not None}
    response = post_json(client, '/orders', request)
    assert response.status_code == status
    error = body_json(response)['error']
    assert error['field'] == field and words in error['message']
    assert wechat.requests == [] and table.order_by_trade_no(request['out_trade_no']) is None
    if body.get('scene') == 'mweb':
        assert error['allowed'] == ['jsapi', 'app', 'native', 'h5']


def test_app_scene_needs_the_app_appid_and_h5_needs_v3(wechatpay_env, wechat, client):
    wechatpay_env(PAYGATE_WECHATPAY_APP_APPID=None)
    response = post_json(client, '/orders', order_body('app'))
    assert response.status_code == 422 and 'PAYGATE_WECHATPAY_APP_APPID' in body_json(response)['error']['message']
    wechatpay_env(version='v2')
    response = post_json(client, '/orders', order_body('h5'))
    assert response.status_code == 422 and body_json(response)['error']['field'] == 'scene'
    assert wechat.requests == []


def test_an_order_without_scene_is_jsapi(wechat, client):
    wechat.jsapi()
    body = {k: v for k, v in order_body('jsapi').items() if k != 'scene'}
    order = body_json(post_json(client, '/orders', body))
    assert order['scene'] == 'jsapi' and order['client_params']['signType'] == 'RSA'


# ---- notifications: paid in its scene, refused for another scene's appid --------------------------

def notify_v3(client, keys, out_trade_no, appid, scene):
    headers, body = v3_notification(transaction(out_trade_no, appid=appid, trade_type=TRADE_TYPES[scene]),
                                    keys.wechat, PUB_KEY_ID, int(time.time()))
    return client.http.post('/notify/wechatpay/v3', headers=headers, body=body)


def notify_v2(client, out_trade_no, appid, scene):
    body = v2_xml(payment_fields(out_trade_no, appid=appid, trade_type=TRADE_TYPES[scene]))
    return client.http.post('/notify/wechatpay', headers={'Content-Type': 'text/xml'}, body=body)


@pytest.mark.parametrize('scene', ['jsapi', 'app', 'native', 'h5'])
def test_v3_notification_pays_an_order_of_each_scene(wechat, client, wechatpay_keys, scene):
    order = create(client, wechat, scene)
    response = notify_v3(client, wechatpay_keys, order['out_trade_no'], SCENE_APPIDS[scene], scene)
    assert response.status_code == 204
    assert table.order(order['order_id'])['status'] == 'PAID'


@pytest.mark.parametrize('scene', ['jsapi', 'app', 'native', 'h5'])
def test_v3_notification_with_another_scenes_appid_is_refused(wechat, client, wechatpay_keys, scene):
    order = create(client, wechat, scene)
    other = APPID if SCENE_APPIDS[scene] == APP_APPID else APP_APPID
    response = notify_v3(client, wechatpay_keys, order['out_trade_no'], other, scene)
    assert response.status_code == 400 and json.loads(response.body)['message'] == 'refused: merchant'
    assert_unchanged(order['order_id'])
    record = table.notification('wechatpay', '4200001234202611220000000002')
    assert record['verdict'] == 'rejected' and record['reason'].startswith('merchant')


def test_an_order_from_before_scenes_is_paid_with_the_mini_programs_appid_only(wechat, client,
                                                                              wechatpay_keys):
    """Orders made before scenes keep no appid: they were made with the mini program's."""
    order = create(client, wechat, 'jsapi')
    stored = table.order(order['order_id'])
    legacy = {name: value for name, value in stored['provider_data'].items() if name != 'appid'}
    table.change(stored, {'provider_data': legacy})
    refused = notify_v3(client, wechatpay_keys, order['out_trade_no'], APP_APPID, 'app')
    assert refused.status_code == 400 and table.order(order['order_id'])['status'] == 'CREATED'
    paid = notify_v3(client, wechatpay_keys, order['out_trade_no'], APPID, 'jsapi')
    assert paid.status_code == 204 and table.order(order['order_id'])['status'] == 'PAID'


def test_v3_notification_with_an_appid_not_ours_is_refused_before_the_order(wechat, client, wechatpay_keys):
    order = create(client, wechat, 'native')
    response = notify_v3(client, wechatpay_keys, order['out_trade_no'], 'wx0000000000000000', 'native')
    assert response.status_code == 400 and table.order(order['order_id'])['status'] == 'CREATED'


@pytest.mark.parametrize('scene', ['jsapi', 'app', 'native'])
def test_v2_notification_pays_an_order_of_each_scene_and_refuses_another_scenes_appid(
        wechatpay_env, wechat, client, scene):
    wechatpay_env(version='v2')
    order = create(client, wechat, scene, version='v2')
    other = APPID if SCENE_APPIDS[scene] == APP_APPID else APP_APPID
    refused = notify_v2(client, order['out_trade_no'], other, scene)
    assert refused.status_code == 400 and 'not our appid or mch_id' in refused.body.decode()
    assert table.order(order['order_id'])['status'] == 'CREATED'
    paid = notify_v2(client, order['out_trade_no'], SCENE_APPIDS[scene], scene)
    assert paid.status_code == 200 and 'SUCCESS' in paid.body.decode()
    assert table.order(order['order_id'])['status'] == 'PAID'


# ---- query, close and refund of an APP order carry its appid -------------------------------------

def test_v2_app_order_is_queried_closed_and_refunded_with_the_app_appid(wechatpay_env, wechat, client,
                                                                      wechatpay_keys, monkeypatch):
    wechatpay_env(version='v2', PAYGATE_WECHATPAY_CLIENT_CERT=wechatpay_keys.platform_cert,
                  PAYGATE_WECHATPAY_CLIENT_KEY=private_pem(wechatpay_keys.platform))
    order = create(client, wechat, 'app', version='v2')
    stored = table.order(order['order_id'])
    wechat.v2('/pay/orderquery', lambda sent: {'trade_state': 'NOTPAY', 'out_trade_no': sent['out_trade_no']})
    assert providers.load('wechatpay').query(stored) is None
    wechat.v2('/pay/closeorder', lambda sent: {})
    providers.load('wechatpay').close(stored, clock.now() + timedelta(minutes=6))
    assert notify_v2(client, order['out_trade_no'], APP_APPID, 'app').status_code == 200
    wechat.v2('/secapi/pay/refund', lambda sent: {'refund_id': '5000000038', 'out_refund_no': sent['out_refund_no']})
    response = post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 600, 'refund_no': 'rf-app-1'},
                         SECRET)
    assert response.status_code == 202
    assert [sent['appid'] for _, sent in wechat.requests] == [APP_APPID] * 4
    refund = client.http.post('/notify/wechatpay', headers={'Content-Type': 'text/xml'},
                              body=refund_notification(order['out_trade_no'], 'rf-app-1', appid=APP_APPID))
    assert refund.status_code == 200 and table.order(order['order_id'])['status'] == 'REFUNDED'


def test_v3_query_of_an_app_order_checks_the_appid_it_answers_for(wechat, client):
    order = create(client, wechat, 'app')
    stored = table.order(order['order_id'])
    path = f'/v3/pay/transactions/out-trade-no/{order["out_trade_no"]}?mchid={MCH_ID}'
    answer = {'trade_state': 'SUCCESS', 'out_trade_no': order['out_trade_no'], 'mchid': MCH_ID,
              'transaction_id': '4200000001', 'amount': {'total': 600}}
    wechat.v3('GET', path, body={**answer, 'appid': APP_APPID})
    assert providers.load('wechatpay').query(stored).amount == 600
    wechat.v3('GET', path, body={**answer, 'appid': APPID})
    with pytest.raises(Exception, match='another order, merchant or appid'):
        providers.load('wechatpay').query(stored)
