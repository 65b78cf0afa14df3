"""Each route family driven once through the app, every answer checked against docs/openapi.yaml.

The happy path and the usual refusals of each family: what a client generated from the spec must be
ready to read. tests/openapi_check.py does the checking; other route tests can use it too.
"""
import json
import time
from urllib.parse import urlencode

import pytest

from tests import alipay_fixtures, cloudmarket_fixtures, midas_fixtures, wechatpay_fixtures
from tests.codepay_fixtures import expect_create
from tests.helpers import FORM, JSON, PUBLISHABLE, SECRET, body_json, codepay_notification, form_body
from tests.openapi_check import check_response

WEBHOOKS = json.dumps([{'id': 'main', 'url': 'https://merchant.test/paygate', 'secrets': ['whsec_test']}])


def call(client, method, path, headers=None, body=None):
    """One request through the app, its answer checked against the spec."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode('utf-8')
    response = getattr(client.http, method.lower())(path, headers=headers or {}, body=data)
    return check_response(method, path, response)


def test_orders(client, http_mock):
    expect_create(http_mock)
    order = {'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'},
             'out_trade_no': 'docs-orders-1', 'metadata': {'player': 'p1'}}
    created = call(client, 'POST', '/orders', PUBLISHABLE, order)
    assert created.status_code == 201
    assert call(client, 'POST', '/orders', PUBLISHABLE, order).status_code == 200
    order_id = body_json(created)['order_id']
    assert call(client, 'GET', f'/orders/{order_id}', PUBLISHABLE).status_code == 200
    assert call(client, 'GET', '/orders/ord_000000000000000000000000', PUBLISHABLE).status_code == 404
    assert call(client, 'GET', f'/orders/{order_id}').status_code == 401
    assert call(client, 'POST', '/orders', PUBLISHABLE, {**order, 'quantity': 0}).status_code == 400
    assert call(client, 'POST', '/orders', PUBLISHABLE, {**order, 'quantity': 2}).status_code == 409
    assert call(client, 'POST', '/orders', PUBLISHABLE, b'{"provider": ').status_code == 400
    assert call(client, 'POST', '/orders', {**PUBLISHABLE, 'Content-Type': 'text/plain'}, order).status_code == 415
    assert call(client, 'POST', f'/orders/{order_id}/close', PUBLISHABLE).status_code == 403
    assert call(client, 'POST', f'/orders/{order_id}/close', SECRET).status_code == 200
    other = body_json(call(client, 'POST', '/orders', PUBLISHABLE, {**order, 'out_trade_no': 'docs-orders-2'}))
    paid = codepay_notification(other['out_trade_no'], money='6.00', pay_no='CPDOCS1')
    assert call(client, 'POST', '/notify/codepay', FORM, form_body(paid)).status_code == 200
    assert call(client, 'POST', '/notify/codepay', FORM, form_body({**paid, 'sign': 'x'})).status_code == 400
    refused = call(client, 'POST', f'/orders/{other["order_id"]}/refunds', SECRET, {'amount': 100})
    assert body_json(refused)['error']['code'] == 'not_supported'


def test_events(client, http_mock, paygate_env):
    paygate_env.setenv('PAYGATE_WEBHOOKS', WEBHOOKS)
    expect_create(http_mock)
    order = body_json(call(client, 'POST', '/orders', PUBLISHABLE,
                           {'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'qq'}}))
    call(client, 'POST', f'/orders/{order["order_id"]}/close', SECRET)
    page = body_json(call(client, 'GET', f'/events?order_id={order["order_id"]}', SECRET))
    event_id = page['data'][0]['id']
    assert call(client, 'GET', f'/events/{event_id}', SECRET).status_code == 200
    assert call(client, 'POST', f'/events/{event_id}/resend', SECRET).status_code == 202
    assert call(client, 'GET', '/events/evt_000000000000000000000000', SECRET).status_code == 404
    assert call(client, 'GET', '/events?limit=0', SECRET).status_code == 400
    assert call(client, 'GET', '/events', PUBLISHABLE).status_code == 403
    paygate_env.delenv('PAYGATE_WEBHOOKS')
    from tests.conftest import reset_caches
    reset_caches()
    assert call(client, 'POST', f'/events/{event_id}/resend', SECRET).status_code == 422


def test_alipay(alipay_env, client, http_mock):
    keys = alipay_env
    order = body_json(call(client, 'POST', '/orders', PUBLISHABLE, alipay_fixtures.ORDER))
    unpaid = call(client, 'POST', f'/orders/{order["order_id"]}/refunds', SECRET, {'amount': 100})
    assert body_json(unpaid)['error']['code'] == 'order_not_paid'
    paid = form_body(alipay_fixtures.signed(keys, order))
    assert call(client, 'POST', '/notify/alipay', FORM, paid).status_code == 200
    forged = form_body(alipay_fixtures.signed(keys, order, key=keys.app))
    assert call(client, 'POST', '/notify/alipay', FORM, forged).status_code == 400
    alipay_fixtures.expect_gateway(http_mock, keys, {'alipay.trade.refund': {
        'code': '10000', 'msg': 'Success', 'trade_no': alipay_fixtures.TRADE_NO,
        'out_trade_no': order['out_trade_no'], 'fund_change': 'Y', 'refund_fee': '2.00'}})
    refunded = call(client, 'POST', f'/orders/{order["order_id"]}/refunds', SECRET,
                    {'amount': 200, 'refund_no': 'docs-refund-1'})
    assert body_json(refunded)['status'] == 'SUCCEEDED'
    too_much = call(client, 'POST', f'/orders/{order["order_id"]}/refunds', SECRET, {'amount': 600})
    assert body_json(too_much)['error']['code'] == 'refund_exceeds_amount'


def test_wechatpay(wechat, wechatpay_keys, client):
    wechat.jsapi()
    order = {'provider': 'wechatpay', 'product_id': 'gold_60', 'payer': {'openid': wechatpay_fixtures.OPENID}}
    created = body_json(call(client, 'POST', '/orders', PUBLISHABLE, order))
    headers, body = wechatpay_fixtures.v3_notification(
        wechatpay_fixtures.transaction(created['out_trade_no']), wechatpay_keys.wechat,
        wechatpay_fixtures.PUB_KEY_ID, int(time.time()))
    assert call(client, 'POST', '/notify/wechatpay/v3', headers, body).status_code == 204
    assert call(client, 'POST', '/notify/wechatpay/v3', {**headers, 'Wechatpay-Nonce': 'other'},
                body).status_code == 400
    fields = wechatpay_fixtures.payment_fields(created['out_trade_no'])
    xml = {'Content-Type': 'text/xml'}
    assert call(client, 'POST', '/notify/wechatpay', xml, wechatpay_fixtures.v2_xml(fields)).status_code == 200
    bad = wechatpay_fixtures.v2_xml(fields, key='K' * 32)
    assert call(client, 'POST', '/notify/wechatpay', xml, bad).status_code == 400
    early = body_json(call(client, 'POST', '/orders', PUBLISHABLE, order))
    assert call(client, 'POST', f'/orders/{early["order_id"]}/close', SECRET).status_code == 409


@pytest.mark.usefixtures('midas_env')
def test_midas(client, http_mock):
    payer = midas_fixtures.PAYER
    midas_fixtures.expect(http_mock, 'buy_goods_m', midas_fixtures.buy_goods_answer)
    order = body_json(call(client, 'POST', '/orders', PUBLISHABLE,
                           {'provider': 'midas', 'product_id': 'gold_60', 'payer': payer}))
    callback = midas_fixtures.delivery(order)
    ok = call(client, 'GET', '/notify/midas?' + midas_fixtures.query_of(callback))
    assert body_json(ok) == {'ret': 0, 'msg': 'OK'}
    forged = call(client, 'GET', '/notify/midas?' + midas_fixtures.query_of({**callback, 'sig': 'x' * 28}))
    assert body_json(forged)['ret'] == 4
    login = {'X-Midas-' + name.replace('_', '-').title(): value for name, value in payer.items()}
    midas_fixtures.expect(http_mock, 'get_balance_m',
                          {'ret': 0, 'balance': 100, 'gen_balance': 0, 'first_save': 0, 'save_amt': 100})
    assert call(client, 'GET', '/midas/balance', {**PUBLISHABLE, **login}).status_code == 200
    midas_fixtures.expect(http_mock, 'pay_m', lambda params: {
        'ret': 0, 'billno': params['billno'], 'balance': 40, 'gen_balance': 0, 'used_gen_amt': 0})
    paid = call(client, 'POST', '/midas/payments', PUBLISHABLE, {'product_id': 'gold_60', 'payer': payer})
    assert paid.status_code == 201
    midas_fixtures.expect(http_mock, 'pay_m', {'ret': 1004, 'msg': '余额不足'})
    poor = call(client, 'POST', '/midas/payments', PUBLISHABLE, {'product_id': 'gold_60', 'payer': payer})
    assert poor.status_code == 402
    midas_fixtures.expect(http_mock, 'present_m', lambda params: {
        'ret': 0, 'billno': params['billno'], 'balance': 50, 'gen_balance': 10})
    gift = {'payer': payer, 'coins': 10, 'billno': 'docs-gift-1'}
    assert call(client, 'POST', '/midas/presents', SECRET, gift).status_code == 200


def test_cloudmarket(client):
    def deliver(body, query=None):
        query = query or cloudmarket_fixtures.signed_query(timestamp=int(time.time()))
        return call(client, 'POST', '/cloudmarket?' + urlencode(query), JSON, body)

    assert body_json(deliver({'action': 'verifyInterface', 'echoback': 'hi'})) == {'echoback': 'hi'}
    created = body_json(deliver(cloudmarket_fixtures.create_body()))
    sign_id = created['signId']
    renewal = {'action': 'renewInstance', 'signId': sign_id, 'instanceExpireTime': '2099-01-01 00:00:00'}
    assert body_json(deliver(renewal)) == {'success': 'true'}
    stale = cloudmarket_fixtures.signed_query(timestamp=int(time.time()) - 3600)
    assert deliver(renewal, stale).status_code == 401
    assert deliver({'action': 'renewInstance', 'signId': sign_id}).status_code == 400
    assert call(client, 'GET', f'/instances/{sign_id}', SECRET).status_code == 200
    assert call(client, 'GET', '/instances/cm000000000000000000000000', SECRET).status_code == 404
    token = created['appInfo']['authUrl'].rsplit('/', 1)[1]
    assert call(client, 'GET', f'/cloudmarket/login/{token}').status_code == 302
    assert call(client, 'GET', f'/cloudmarket/login/{sign_id}.forged').status_code == 403
