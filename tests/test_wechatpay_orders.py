"""WeChat Pay orders through the routes: login, v2 unifiedorder, v3 prepay, close, refund, query."""
import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import aws, clock, providers, settings
from tests import table
from tests.helpers import SECRET, body_json, post_json
from tests.wechatpay_fixtures import (APP_SECRET, APPID, CERT_SERIAL, KEY, LOGIN_URL, MCH_ID, OPENID,
                                      PLATFORM_SERIAL, PUB_KEY_ID, WX_URL, authorization_fields,
                                      certificates_reply, p12_settings, private_pem, rsa_verify,
                                      transaction, v2_sign, v3_notification)

ORDER = {'provider': 'wechatpay', 'product_id': 'gold_60', 'quantity': 2, 'payer': {'openid': OPENID},
         'client_ip': '203.0.113.7'}


def scan(prefix):
    found = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return [item for item in found if item['pk']['S'].startswith(prefix)]


def create(client, body=ORDER):
    return post_json(client, '/orders', body)


@pytest.mark.parametrize('sign_type', ['MD5', 'HMAC-SHA256'])
def test_v2_order_unifiedorder_on_the_wire_and_the_second_signature(wechatpay_env, wechat, client, sign_type):
    wechatpay_env(version='v2', sign_type=sign_type)
    wechat.unifiedorder(prepay_id='wx201410272009395522657a690389285100')
    response = create(client)
    assert response.status_code == 201
    order = body_json(response)
    [(request, sent)] = wechat.requests
    assert request.url == f'{WX_URL}/pay/unifiedorder'
    assert {k: v for k, v in sent.items() if k not in ('nonce_str', 'sign', 'time_expire')} == {
        'appid': APPID, 'mch_id': MCH_ID, 'sign_type': sign_type, 'body': '60 金币',
        'out_trade_no': order['out_trade_no'], 'total_fee': '1200', 'spbill_create_ip': '203.0.113.7',
        'notify_url': 'https://pay.test/notify/wechatpay', 'trade_type': 'JSAPI', 'openid': OPENID}
    assert len(sent['time_expire']) == 14 and len(sent['nonce_str']) == 32
    params = order['client_params']
    assert set(params) == {'appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'}
    assert params['package'] == 'prepay_id=wx201410272009395522657a690389285100'
    assert params['appId'] == APPID and params['signType'] == sign_type
    assert abs(int(params['timeStamp']) - time.time()) < 60  # seconds, not milliseconds
    unsigned = {k: v for k, v in params.items() if k != 'paySign'}
    assert params['paySign'] == v2_sign(unsigned, KEY, sign_type)
    assert params['paySign'] != sent['sign']
    stored = table.order(order['order_id'])
    assert stored['provider_data'] == {'api_version': 'v2', 'sign_type': sign_type, 'openid': OPENID, 'appid': APPID,
                                       'prepay_id': 'wx201410272009395522657a690389285100'}


@pytest.mark.parametrize('answer, key', [
    ({'result_code': 'FAIL', 'err_code': 'ORDERPAID', 'err_code_des': '订单已支付'}, KEY),
    ({'prepay_id': 'wx1'}, 'another-key-0000000000000000000000'),
    ({'prepay_id': 'wx1', 'appid': 'wx0000000000000000'}, KEY),
    ({'return_code': 'FAIL', 'return_msg': '签名错误'}, KEY),
])
def test_v2_refused_or_unverifiable_reply_is_502_and_no_order(wechatpay_env, wechat, client, answer, key):
    wechatpay_env(version='v2')
    wechat.v2('/pay/unifiedorder', lambda sent: answer, key=key)
    response = create(client)
    assert response.status_code == 502 and body_json(response)['error']['code'] == 'provider_error'
    assert scan('ORDER#') == []


def test_v3_order_prepay_on_the_wire_and_client_params(wechat, client, wechatpay_keys):
    wechat.jsapi(prepay_id='wx26112216010098765432101234567890')
    response = create(client)
    assert response.status_code == 201
    order = body_json(response)
    [request] = wechat.requests
    assert request.url == f'{WX_URL}/v3/pay/transactions/jsapi'
    assert request.headers['Wechatpay-Serial'] == PUB_KEY_ID
    assert request.headers['Content-Type'] == 'application/json' and request.headers['User-Agent']
    sent = json.loads(request.body)
    assert sent.pop('time_expire').endswith('+08:00')
    assert sent == {'appid': APPID, 'mchid': MCH_ID, 'description': '60 金币', 'out_trade_no': order['out_trade_no'],
                    'notify_url': 'https://pay.test/notify/wechatpay/v3',
                    'amount': {'total': 1200, 'currency': 'CNY'}, 'payer': {'openid': OPENID}}
    assert authorization_fields(request.headers['Authorization'])['serial_no'] == CERT_SERIAL
    params = order['client_params']
    assert params['signType'] == 'RSA' and params['package'] == 'prepay_id=wx26112216010098765432101234567890'
    message = f'{APPID}\n{params["timeStamp"]}\n{params["nonceStr"]}\n{params["package"]}\n'.encode()
    assert rsa_verify(wechatpay_keys.merchant, message, params['paySign'])
    assert table.order(order['order_id'])['provider_data']['api_version'] == 'v3'


@pytest.mark.parametrize('serial, signer', [(PUB_KEY_ID, 'merchant'), (PLATFORM_SERIAL, 'platform'),
                                            ('WECHATPAY/SIGNTEST/', 'wechat')])
def test_v3_reply_without_a_valid_wechat_signature_is_502(wechat, client, wechatpay_keys, serial, signer):
    wechat.v3('POST', '/v3/pay/transactions/jsapi', body={'prepay_id': 'wx1'}, serial=serial,
              key=getattr(wechatpay_keys, signer))
    response = create(client)
    assert response.status_code == 502
    assert scan('ORDER#') == []


def test_v3_error_reply_is_502(wechat, client):
    wechat.v3('POST', '/v3/pay/transactions/jsapi', status=400,
              body={'code': 'PARAM_ERROR', 'message': '参数错误'})
    response = create(client)
    assert response.status_code == 502 and 'PARAM_ERROR' in body_json(response)['error']['message']


def login_mock(wechat, answer):
    def reply(request):
        query = parse_qs(urlsplit(request.url).query)
        assert query == {'appid': [APPID], 'secret': [APP_SECRET], 'js_code': ['081xYz000abc'],
                         'grant_type': ['authorization_code']}
        return 200, {'Content-Type': 'text/plain'}, json.dumps(answer)
    wechat.http.add_callback('GET', f'{LOGIN_URL}/sns/jscode2session', callback=reply)


def test_js_code_is_exchanged_for_the_openid_and_the_session_key_is_never_kept(wechat, client, notify_log):
    login_mock(wechat, {'openid': 'oFromLogin123', 'session_key': 'SESSIONKEY+secret==', 'unionid': 'u1'})
    wechat.jsapi()
    response = create(client, {**ORDER, 'payer': {'js_code': '081xYz000abc'}})
    assert response.status_code == 201
    order = body_json(response)
    assert json.loads(wechat.requests[0].body)['payer'] == {'openid': 'oFromLogin123'}
    stored = table.order(order['order_id'])
    assert stored['provider_data']['openid'] == 'oFromLogin123' and stored['payer'] == {}
    everything = json.dumps(aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items'])
    assert 'SESSIONKEY' not in everything and '081xYz000abc' not in everything
    assert 'SESSIONKEY' not in response.body.decode() and 'SESSIONKEY' not in notify_log.text


@pytest.mark.parametrize('errcode, status, code', [
    (40029, 400, 'invalid_js_code'), (40163, 400, 'js_code_used'), (40226, 403, 'payer_blocked'),
    (45011, 429, 'rate_limited'), (-1, 503, 'wechat_busy'), (40125, 502, 'provider_error'),
])
def test_login_errors_are_mapped_and_nothing_is_stored(wechat, client, errcode, status, code):
    login_mock(wechat, {'errcode': errcode, 'errmsg': 'x'})
    response = create(client, {**ORDER, 'payer': {'js_code': '081xYz000abc'}})
    assert response.status_code == status
    assert body_json(response)['error']['code'] == code
    assert scan('ORDER#') == [] and scan('REF#') == []


def test_login_unreachable_is_503(wechat, client):
    from requests import ConnectionError as RequestsConnectionError
    wechat.http.add('GET', f'{LOGIN_URL}/sns/jscode2session', body=RequestsConnectionError('down'))
    response = create(client, {**ORDER, 'payer': {'js_code': '081xYz000abc'}})
    assert response.status_code == 503 and APP_SECRET not in response.body.decode()


@pytest.mark.parametrize('payer', [{}, {'openid': OPENID, 'js_code': 'c'}, {'openid': ''}, {'js_code': 'a\nb'}])
def test_bad_payers_are_400(wechatpay_env, moto_table, client, payer):
    response = create(client, {**ORDER, 'payer': payer})
    assert response.status_code == 400 and body_json(response)['error']['field'].startswith('payer')


def make_paid(client, wechat, keys, version):
    if version == 'v2':
        wechat.unifiedorder()
    else:
        wechat.jsapi()
    order = body_json(create(client))
    headers, body = v3_notification(transaction(order['out_trade_no'], total=1200), keys.wechat, PUB_KEY_ID,
                                    int(time.time()))
    if version == 'v2':
        from tests.wechatpay_fixtures import payment_fields, v2_xml
        headers, body = {'Content-Type': 'text/xml'}, v2_xml(payment_fields(order['out_trade_no'], '1200'))
        assert client.http.post('/notify/wechatpay', headers=headers, body=body).status_code == 200
    else:
        assert client.http.post('/notify/wechatpay/v3', headers=headers, body=body).status_code == 204
    return order


def refund(client, order, amount=300, refund_no='refund-0001'):
    return post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': amount, 'refund_no': refund_no,
                                                                     'reason': '退一件'}, SECRET)


def test_v2_refund_uses_the_client_certificate_and_waits_for_the_notification(
        wechatpay_env, wechat, client, wechatpay_keys):
    wechatpay_env(version='v2', PAYGATE_WECHATPAY_CLIENT_CERT=wechatpay_keys.platform_cert,
                  PAYGATE_WECHATPAY_CLIENT_KEY=private_pem(wechatpay_keys.platform))
    order = make_paid(client, wechat, wechatpay_keys, 'v2')
    wechat.v2('/secapi/pay/refund', lambda sent: {'refund_id': '5000000038', 'out_refund_no': sent['out_refund_no']})
    response = refund(client, order)
    assert response.status_code == 202 and body_json(response)['status'] == 'PENDING'
    request, sent = wechat.requests[-1]
    assert (sent['out_trade_no'], sent['out_refund_no'], sent['total_fee'], sent['refund_fee']) == (
        order['out_trade_no'], 'refund-0001', '1200', '300')
    assert sent['notify_url'] == 'https://pay.test/notify/wechatpay' and sent['refund_desc'] == '退一件'
    with open(request.req_kwargs['cert'], encoding='ascii') as pem:
        content = pem.read()
    assert wechatpay_keys.platform_cert.strip() in content and 'PRIVATE KEY-----' in content
    assert table.order(order['order_id'])['refund_pending_amount'] == 300


def test_a_p12_client_certificate_setting_is_refused_with_the_way_to_convert_it(wechatpay_env, wechatpay_keys):
    """The Lambda package carries no PKCS#12 reader (it would double the package)."""
    from chalicelib import settings
    wechatpay_env(version='v2', **p12_settings(wechatpay_keys))
    with pytest.raises(settings.SettingsError, match='paygate keys from-p12'):
        settings.get()


def test_v2_refund_without_client_certificate_is_refused(wechatpay_env, wechat, client, wechatpay_keys):
    wechatpay_env(version='v2')
    order = make_paid(client, wechat, wechatpay_keys, 'v2')
    response = refund(client, order)
    assert response.status_code == 502 and 'client certificate' in body_json(response)['error']['message']
    assert table.order(order['order_id'])['refund_pending_amount'] == 0


@pytest.mark.parametrize('status, answer, http_status, refund_status', [
    (200, {'status': 'SUCCESS'}, 200, 'SUCCEEDED'),
    (200, {'status': 'PROCESSING'}, 202, 'PENDING'),
    (403, {'code': 'NOT_ENOUGH', 'message': '余额不足'}, 502, 'FAILED'),
    (500, {'code': 'SYSTEM_ERROR', 'message': '系统繁忙'}, 202, 'PENDING'),
])
def test_v3_refund_outcomes(wechat, client, wechatpay_keys, status, answer, http_status, refund_status):
    order = make_paid(client, wechat, wechatpay_keys, 'v3')
    wechat.v3('POST', '/v3/refund/domestic/refunds', status=status,
              body={'refund_id': '50300000012026', 'out_refund_no': 'refund-0001', **answer})
    response = refund(client, order)
    assert response.status_code == http_status
    assert table.refund(order['order_id'], 'refund-0001')['refund_status'] == refund_status
    sent = json.loads(wechat.requests[-1].body)
    assert sent == {'out_trade_no': order['out_trade_no'], 'out_refund_no': 'refund-0001', 'reason': '退一件',
                    'notify_url': 'https://pay.test/notify/wechatpay/v3',
                    'amount': {'refund': 300, 'total': 1200, 'currency': 'CNY'}}


def five_minutes_later(monkeypatch):
    later = clock.now() + timedelta(minutes=5, seconds=1)
    monkeypatch.setattr(clock, 'now', lambda: later)


@pytest.mark.parametrize('version', ['v2', 'v3'])
def test_close_waits_five_minutes_after_creation(wechatpay_env, wechat, client, version, monkeypatch):
    wechatpay_env(version=version)
    if version == 'v2':
        wechat.unifiedorder()
    else:
        wechat.jsapi()
    order = body_json(create(client))
    sent_before = len(wechat.requests)
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 409 and body_json(response)['error']['code'] == 'too_early'
    assert len(wechat.requests) == sent_before
    assert table.order(order['order_id'])['status'] == 'CREATED'


@pytest.mark.parametrize('version', ['v2', 'v3'])
def test_close_at_wechat_then_here(wechatpay_env, wechat, client, version, monkeypatch):
    wechatpay_env(version=version)
    if version == 'v2':
        wechat.unifiedorder()
        wechat.v2('/pay/closeorder', lambda sent: {})
    else:
        wechat.jsapi()
    order = body_json(create(client))
    five_minutes_later(monkeypatch)
    if version == 'v3':
        wechat.v3('POST', f'/v3/pay/transactions/out-trade-no/{order["out_trade_no"]}/close', status=204)
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 200 and body_json(response)['status'] == 'CLOSED'
    if version == 'v3':
        assert json.loads(wechat.requests[-1].body) == {'mchid': MCH_ID}
    else:
        assert wechat.requests[-1][1]['out_trade_no'] == order['out_trade_no']


@pytest.mark.parametrize('version', ['v2', 'v3'])
def test_close_of_an_order_paid_at_wechat_is_refused(wechatpay_env, wechat, client, version, monkeypatch):
    wechatpay_env(version=version)
    if version == 'v2':
        wechat.unifiedorder()
        wechat.v2('/pay/closeorder', lambda sent: {'result_code': 'FAIL', 'err_code': 'ORDERPAID'})
    else:
        wechat.jsapi()
    order = body_json(create(client))
    five_minutes_later(monkeypatch)
    if version == 'v3':
        wechat.v3('POST', f'/v3/pay/transactions/out-trade-no/{order["out_trade_no"]}/close', status=400,
                  body={'code': 'ORDERPAID', 'message': '订单已支付'})
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 502
    assert table.order(order['order_id'])['status'] == 'CREATED'


@pytest.mark.parametrize('version', ['v2', 'v3'])
def test_query_reports_payment_or_none(wechatpay_env, wechat, client, version):
    wechatpay_env(version=version)
    if version == 'v2':
        wechat.unifiedorder()
    else:
        wechat.jsapi()
    order = table.order(body_json(create(client))['order_id'])
    if version == 'v2':
        wechat.v2('/pay/orderquery', lambda sent: {'trade_state': 'NOTPAY', 'out_trade_no': sent['out_trade_no']})
        wechat.v2('/pay/orderquery', lambda sent: {'trade_state': 'SUCCESS', 'out_trade_no': sent['out_trade_no'],
                                                   'total_fee': '1200', 'transaction_id': '4200000001'})
    else:
        path = f'/v3/pay/transactions/out-trade-no/{order["out_trade_no"]}?mchid={MCH_ID}'
        wechat.v3('GET', path, body={'trade_state': 'NOTPAY', 'out_trade_no': order['out_trade_no'],
                                     'mchid': MCH_ID, 'amount': {'total': 1200}})
        wechat.v3('GET', path, body={'trade_state': 'SUCCESS', 'out_trade_no': order['out_trade_no'],
                                     'mchid': MCH_ID, 'appid': APPID, 'transaction_id': '4200000001',
                                     'amount': {'total': 1200}})
    provider = providers.load('wechatpay')
    assert provider.query(order) is None
    paid = provider.query(order)
    assert (paid.kind, paid.amount, paid.provider_trade_no, paid.event_id) == (
        'paid', 1200, '4200000001', 'query:4200000001')


def scheduled_event(client):
    return client.events.generate_cw_event('aws.events', 'Scheduled Event', {}, [])


@pytest.mark.parametrize('signer, serial', [('platform', PLATFORM_SERIAL), ('wechat', PUB_KEY_ID)])
def test_scheduled_refresh_caches_platform_certificates(wechat, client, wechatpay_keys, signer, serial):
    body, key, serial = certificates_reply(wechatpay_keys, signer, serial)
    wechat.v3('GET', '/v3/certificates', body=body, key=key, serial=serial)
    result = client.lambda_.invoke('refresh_certificates', scheduled_event(client))
    assert result.payload == {'wechatpay': [PLATFORM_SERIAL]}
    cached = table.certificate('wechatpay', PLATFORM_SERIAL)
    assert cached['pem'] == wechatpay_keys.platform_cert
    wechat.jsapi()
    order = body_json(create(client))
    headers, notification = v3_notification(transaction(order['out_trade_no'], total=1200), wechatpay_keys.platform,
                                            PLATFORM_SERIAL, int(time.time()))
    assert client.http.post('/notify/wechatpay/v3', headers=headers, body=notification).status_code == 204


@pytest.mark.parametrize('public_key', [True, False])
def test_refresh_with_an_unverifiable_reply_caches_nothing(wechatpay_env, wechat, client, wechatpay_keys,
                                                           public_key):
    """Without the public key the failure must show (the function fails); with it, a warning is enough."""
    if not public_key:
        wechatpay_env(PAYGATE_WECHATPAY_PUBLIC_KEY=None, PAYGATE_WECHATPAY_PUBLIC_KEY_ID=None)
    body, key, serial = certificates_reply(wechatpay_keys, 'merchant', PLATFORM_SERIAL)
    wechat.v3('GET', '/v3/certificates', body=body, key=key, serial=serial)
    if public_key:
        result = client.lambda_.invoke('refresh_certificates', scheduled_event(client))
        assert result.payload == {'wechatpay': []}
    else:
        with pytest.raises(Exception, match='not signed by WeChat Pay'):
            client.lambda_.invoke('refresh_certificates', scheduled_event(client))
    assert scan('CERT#') == []
