"""Midas game coins: GET /midas/balance, the settle poll, POST /midas/payments, rollback, presents."""
import logging
from urllib.parse import urlsplit

import pytest
import requests

from chalicelib import aws, coins, settings
from chalicelib.providers.midas import common as midas
from tests import table
from tests.helpers import PUBLISHABLE, SECRET, body_json, midas_sig, post_json
from tests.midas_fixtures import APPKEY, COOKIES, PAYER, URL, buy_goods_answer, expect, query_of

pytestmark = pytest.mark.usefixtures('midas_env')
LOGIN_HEADERS = {'X-Midas-Openid': PAYER['openid'], 'X-Midas-Openkey': PAYER['openkey'],
                 'X-Midas-Pf': PAYER['pf'], 'X-Midas-Pfkey': PAYER['pfkey'],
                 'X-Midas-Login-Type': 'wx', 'X-Midas-Zoneid': '1'}
BALANCE = {'ret': 0, 'balance': 150, 'gen_balance': 30, 'first_save': 0, 'save_amt': 500, 'tss_list': []}


def event_types():
    found = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return sorted(i['type']['S'] for i in found if i['pk']['S'].startswith('EVENT#'))


def pay(client, out_trade_no=None, payer=PAYER, product_id='gold_60'):
    body = {'product_id': product_id, 'payer': payer}
    if out_trade_no:
        body['out_trade_no'] = out_trade_no
    return post_json(client, '/midas/payments', body)


def pay_m_answer(balance=90):
    return lambda params: {'ret': 0, 'billno': params['billno'], 'balance': balance, 'gen_balance': 0,
                           'used_gen_amt': 30}


def test_balance_with_the_login_in_headers(client, http_mock):
    calls = []
    expect(http_mock, 'get_balance_m', BALANCE, calls)
    response = client.http.get('/midas/balance', headers={**PUBLISHABLE, **LOGIN_HEADERS})
    assert response.status_code == 200, response.body
    assert 'Deprecation' not in response.headers
    assert body_json(response) == {'balance': 150, 'gen_balance': 30, 'first_save': 0, 'save_amt': 500}
    [(request, params)] = calls
    assert request.method == 'GET' and urlsplit(request.url).path == '/mpay/get_balance_m'
    assert set(params) == {'openid', 'openkey', 'appid', 'ts', 'pf', 'pfkey', 'zoneid', 'format', 'sig'}
    assert params['sig'] == midas_sig('GET', '/v3/r/mpay/get_balance_m', params, APPKEY)
    assert request.headers['Cookie'] == COOKIES['wx'].format(api='get_balance_m')


def test_balance_with_the_login_in_the_query_and_the_settled_flag(client, http_mock):
    calls = []
    expect(http_mock, 'get_balance_m', BALANCE, calls)
    expect(http_mock, 'get_balance_m', BALANCE)
    query = '&'.join(f'{k}={requests.utils.quote(v)}' for k, v in {**PAYER, 'roleid': '角色'}.items())
    answered = client.http.get(f'/midas/balance?{query}&save_amt=400', headers=PUBLISHABLE)
    settled = body_json(answered)
    assert settled['settled'] is True
    assert answered.headers['Deprecation'] == '@1796169600'      # 2026-12-02: send X-Midas-* headers
    assert calls[0][1]['zoneid'] == '1_%E8%A7%92%E8%89%B2'
    assert '&zoneid=1_%25E8%25A7%2592%25E8%2589%25B2&' in calls[0][0].url
    waiting = body_json(client.http.get(f'/midas/balance?{query}&save_amt=500', headers=PUBLISHABLE))
    assert waiting['settled'] is False


def test_the_login_in_the_query_is_logged_as_deprecated_without_its_values(client, http_mock, caplog):
    expect(http_mock, 'get_balance_m', BALANCE)
    caplog.set_level(logging.DEBUG)
    response = client.http.get(f'/midas/balance?{query_of(PAYER)}', headers=PUBLISHABLE)
    assert response.status_code == 200 and response.headers['Deprecation'] == '@1796169600'
    [deprecated] = [record for record in caplog.records if 'deprecated' in record.getMessage()]
    assert (deprecated.name, deprecated.levelno) == ('paygate.handlers', logging.WARNING)
    assert 'query string' in deprecated.getMessage()
    for secret in (PAYER['openkey'], PAYER['pfkey']):
        assert secret not in caplog.text


@pytest.mark.parametrize('headers, status, code', [
    ({}, 401, 'unauthorized'),
    ({**PUBLISHABLE, **{k: v for k, v in LOGIN_HEADERS.items() if k != 'X-Midas-Openkey'}}, 400,
     'invalid_request'),
])
def test_balance_needs_a_key_and_a_login(client, http_mock, headers, status, code):
    response = client.http.get('/midas/balance', headers=headers)
    assert response.status_code == status and body_json(response)['error']['code'] == code


@pytest.mark.parametrize('answer, status, code', [
    ({'ret': 1018, 'msg': '登录校验失败'}, 401, 'relogin_required'),
    ({'ret': 1001, 'msg': '参数错误'}, 400, 'invalid_request'),
    ({'ret': 3000111, 'msg': 'other'}, 502, 'provider_error'),
    ('not json', 502, 'provider_unavailable'),
])
def test_balance_errors_are_mapped(client, http_mock, answer, status, code):
    expect(http_mock, 'get_balance_m', answer)
    response = client.http.get('/midas/balance', headers={**PUBLISHABLE, **LOGIN_HEADERS})
    assert response.status_code == status and body_json(response)['error']['code'] == code


class FakeTime:
    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self):
        return self.now


def test_the_settle_poll_asks_every_15_s_until_save_amt_moves(moto_table, http_mock):
    answers = iter([500, 500, 560])
    expect(http_mock, 'get_balance_m', lambda params: {**BALANCE, 'save_amt': next(answers)})
    time = FakeTime()
    login = midas.login(PAYER)
    result = coins.wait_for_recharge(login, 500, sleep=time.sleep, monotonic=time.monotonic)
    assert result['settled'] is True and result['save_amt'] == 560
    assert time.sleeps == [15, 15]


def test_the_settle_poll_gives_up_after_two_minutes(moto_table, http_mock):
    calls = []
    expect(http_mock, 'get_balance_m', BALANCE, calls)
    time = FakeTime()
    result = coins.wait_for_recharge(midas.login(PAYER), 500, sleep=time.sleep, monotonic=time.monotonic)
    assert result['settled'] is False
    assert time.sleeps == [15] * 8 and len(calls) == 9


def test_the_settle_lambda_function(client, http_mock):
    expect(http_mock, 'get_balance_m', {**BALANCE, 'save_amt': 600})
    answer = client.lambda_.invoke('midas_settle', {'payer': PAYER, 'save_amt': 500})
    assert answer.payload == {'balance': 150, 'gen_balance': 30, 'first_save': 0, 'save_amt': 600,
                              'settled': True}
    bad = client.lambda_.invoke('midas_settle', {'payer': PAYER})
    assert bad.payload['error']['field'] == 'save_amt'


def test_paying_with_coins(client, http_mock):
    calls = []
    expect(http_mock, 'pay_m', pay_m_answer(), calls)
    response = pay(client)
    assert response.status_code == 201, response.body
    order = body_json(response)
    assert order['status'] == 'PAID' and order['amount'] == 600 and order['provider'] == 'midas'
    assert order['client_params'] == {'billno': order['out_trade_no'], 'coins': 60}
    assert order['midas'] == {'balance': 90, 'gen_balance': 0, 'used_gen_amt': 30}
    [(request, params)] = calls
    assert request.method == 'POST' and request.headers['Content-Type'] == 'application/x-www-form-urlencoded'
    assert request.headers['Cookie'] == COOKIES['qq'].format(api='pay_m')
    assert (params['billno'], params['amt']) == (order['out_trade_no'], '60')
    assert params['sig'] == midas_sig('POST', '/v3/r/mpay/pay_m', params, APPKEY)
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version'], stored['provider_trade_no']) == ('PAID', 2, order['out_trade_no'])
    assert PAYER['openkey'] not in repr(stored)
    assert event_types() == ['order.paid']
    record = table.notification('midas', f'pay_m:{order["out_trade_no"]}')
    assert record['verdict'] == 'applied' and PAYER['openkey'].encode() not in record['body']


def test_a_retried_payment_never_pays_twice(client, http_mock):
    expect(http_mock, 'pay_m', pay_m_answer())
    first = pay(client, 'coins-order-1')
    again = pay(client, 'coins-order-1', payer={**PAYER, 'openkey': 'REFRESHED'})
    assert (first.status_code, again.status_code) == (201, 200)
    assert body_json(again)['order_id'] == body_json(first)['order_id']
    assert len(http_mock.calls) == 1 and event_types() == ['order.paid']


def test_insufficient_balance_is_402_and_a_retry_after_recharge_pays(client, http_mock):
    calls = []
    expect(http_mock, 'pay_m', {'ret': 1004, 'msg': '余额不足'}, calls)
    response = pay(client, 'coins-order-2')
    assert response.status_code == 402
    assert body_json(response)['error']['code'] == 'insufficient_balance'
    order_id = table.order_id_of('coins-order-2')
    assert table.order(order_id)['status'] == 'CREATED' and event_types() == []
    expect(http_mock, 'pay_m', pay_m_answer(), calls)
    assert pay(client, 'coins-order-2').status_code == 200
    assert [params['billno'] for _, params in calls] == ['coins-order-2', 'coins-order-2']
    assert table.order(order_id)['status'] == 'PAID'


def test_an_expired_login_is_401(client, http_mock):
    expect(http_mock, 'pay_m', {'ret': 1018, 'msg': '登录校验失败'})
    response = pay(client)
    assert response.status_code == 401
    assert body_json(response)['error']['code'] == 'relogin_required'


def test_an_unknown_outcome_is_marked_and_retried_with_the_same_billno(client, http_mock):
    http_mock.add('POST', f'{URL}/mpay/pay_m', body=requests.exceptions.ReadTimeout())
    response = pay(client, 'coins-order-3')
    assert response.status_code == 502
    assert 'coins-order-3' in body_json(response)['error']['message']
    order_id = table.order_id_of('coins-order-3')
    assert table.order(order_id)['provider_data']['pay_m_unknown'] is True
    calls = []
    expect(http_mock, 'pay_m', pay_m_answer(), calls)
    assert pay(client, 'coins-order-3').status_code == 200
    assert calls[0][1]['billno'] == 'coins-order-3'


def test_a_price_that_is_not_whole_coins_is_refused(client, http_mock):
    response = pay(client, product_id='odd_15')
    assert response.status_code == 422
    assert body_json(response)['error']['code'] == 'price_not_whole_coins'


def test_an_item_order_is_not_a_coin_payment(client, http_mock):
    expect(http_mock, 'buy_goods_m', buy_goods_answer)
    post_json(client, '/orders', {'provider': 'midas', 'product_id': 'gold_60', 'payer': PAYER,
                                  'out_trade_no': 'item-order-1'})
    response = pay(client, 'item-order-1')
    assert response.status_code == 409


def unknown_coin_order(client, http_mock):
    http_mock.add('POST', f'{URL}/mpay/pay_m', body=requests.exceptions.ConnectionError())
    pay(client, 'coins-order-4')
    return table.order_id_of('coins-order-4')


def test_closing_an_unconfirmed_coin_order_rolls_it_back(client, http_mock):
    order_id = unknown_coin_order(client, http_mock)
    refused = post_json(client, f'/orders/{order_id}/close', {}, SECRET)
    assert refused.status_code == 400 and body_json(refused)['error']['field'] == 'payer.openkey'
    assert table.order(order_id)['status'] == 'CREATED'
    calls = []
    expect(http_mock, 'cancel_pay_m', lambda p: {'ret': 0, 'billno': p['billno'], 'balance': 150,
                                                 'gen_balance': 0}, calls)
    login = {'openkey': PAYER['openkey'], 'pfkey': PAYER['pfkey'], 'openid': 'ignored-stored-wins'}
    closed = post_json(client, f'/orders/{order_id}/close', {'payer': login}, SECRET)
    assert closed.status_code == 200 and body_json(closed)['status'] == 'CLOSED'
    [(request, params)] = calls
    assert (params['billno'], params['amt'], params['openid']) == ('coins-order-4', '60', PAYER['openid'])
    assert params['sig'] == midas_sig('POST', '/v3/r/mpay/cancel_pay_m', params, APPKEY)
    assert PAYER['openkey'] not in repr(table.order(order_id))


def test_a_failed_rollback_leaves_the_order_open(client, http_mock):
    order_id = unknown_coin_order(client, http_mock)
    expect(http_mock, 'cancel_pay_m', {'ret': 1001, 'msg': '参数错误'})
    login = {'openkey': PAYER['openkey'], 'pfkey': PAYER['pfkey']}
    response = post_json(client, f'/orders/{order_id}/close', {'payer': login}, SECRET)
    assert response.status_code == 400 and body_json(response)['error']['code'] == 'invalid_request'
    assert table.order(order_id)['status'] == 'CREATED'


def test_closing_a_refused_coin_order_asks_nothing_of_midas(client, http_mock):
    expect(http_mock, 'pay_m', {'ret': 1004, 'msg': '余额不足'})
    pay(client, 'coins-order-5')
    order_id = table.order_id_of('coins-order-5')
    response = client.http.post(f'/orders/{order_id}/close', headers=SECRET, body=b'')
    assert response.status_code == 200 and body_json(response)['status'] == 'CLOSED'
    assert len(http_mock.calls) == 1


def paid_coin_order(client, http_mock):
    expect(http_mock, 'pay_m', pay_m_answer())
    return body_json(pay(client))['order_id']


def test_refunding_a_coin_order_cancels_the_payment(client, http_mock):
    order_id = paid_coin_order(client, http_mock)
    calls = []
    expect(http_mock, 'cancel_pay_m', lambda p: {'ret': 0, 'billno': p['billno'], 'balance': 150,
                                                 'gen_balance': 30}, calls)
    login = {'openkey': PAYER['openkey'], 'pfkey': PAYER['pfkey']}
    response = post_json(client, f'/orders/{order_id}/refunds', {'amount': 600, 'payer': login}, SECRET)
    assert response.status_code == 200, response.body
    out_trade_no = table.order(order_id)['out_trade_no']
    assert body_json(response)['provider_refund_id'] == f'cancel_pay_m:{out_trade_no}'
    assert (calls[0][1]['billno'], calls[0][1]['amt']) == (out_trade_no, '60')
    assert table.order(order_id)['status'] == 'REFUNDED'
    assert event_types() == ['order.paid', 'order.refunded']


@pytest.mark.parametrize('body, status, field', [
    ({'amount': 300, 'payer': {'openkey': 'k', 'pfkey': 'p'}}, 422, 'amount'),
    ({'amount': 600}, 400, 'payer.openkey'),
    ({'amount': 600, 'payer': 'k'}, 400, 'payer'),
])
def test_coin_refunds_are_whole_and_need_the_login(client, http_mock, body, status, field):
    order_id = paid_coin_order(client, http_mock)
    response = post_json(client, f'/orders/{order_id}/refunds', body, SECRET)
    assert response.status_code == status and body_json(response)['error']['field'] == field
    stored = table.order(order_id)
    assert (stored['status'], stored['refund_pending_amount']) == ('PAID', 0)


def test_a_refused_cancel_fails_the_refund(client, http_mock):
    order_id = paid_coin_order(client, http_mock)
    expect(http_mock, 'cancel_pay_m', {'ret': 1018, 'msg': '登录校验失败'})
    login = {'openkey': 'old', 'pfkey': 'old'}
    response = post_json(client, f'/orders/{order_id}/refunds',
                         {'amount': 600, 'payer': login, 'refund_no': 'refund-coins-1'}, SECRET)
    assert response.status_code == 401 and body_json(response)['error']['code'] == 'relogin_required'
    assert table.refund(order_id, 'refund-coins-1')['refund_status'] == 'FAILED'
    assert table.order(order_id)['refund_pending_amount'] == 0


def test_presents_need_the_secret_key(client, http_mock):
    body = {'payer': PAYER, 'coins': 10}
    assert post_json(client, '/midas/presents', body).status_code == 403


def test_presenting_coins(client, http_mock):
    calls = []
    expect(http_mock, 'present_m', lambda p: {'ret': 0, 'billno': p['billno'], 'balance': 160,
                                              'gen_balance': 40}, calls)
    body = {'payer': {**PAYER, 'login_type': 'guest'}, 'coins': 10, 'billno': 'gift-000001', 'giftid': 'g9'}
    response = post_json(client, '/midas/presents', body, SECRET)
    assert response.status_code == 200, response.body
    assert body_json(response) == {'billno': 'gift-000001', 'coins': 10, 'balance': 160, 'gen_balance': 40}
    [(request, params)] = calls
    assert (params['presenttimes'], params['billno'], params['giftid']) == ('10', 'gift-000001', 'g9')
    assert params['sig'] == midas_sig('POST', '/v3/r/mpay/present_m', params, APPKEY)
    assert request.headers['Cookie'] == COOKIES['guest'].format(api='present_m')


@pytest.mark.parametrize('change, field', [
    ({'coins': 0}, 'coins'), ({'coins': '10'}, 'coins'), ({'coins': True}, 'coins'),
    ({'billno': 'a b'}, 'billno'), ({'payer': {}}, 'payer.openid'), ({'giftid': 5}, 'giftid'),
])
def test_bad_presents_are_400(client, http_mock, change, field):
    body = {'payer': PAYER, 'coins': 10, **change}
    response = post_json(client, '/midas/presents', body, SECRET)
    assert response.status_code == 400 and body_json(response)['error']['field'] == field


def test_present_errors_are_mapped(client, http_mock):
    expect(http_mock, 'present_m', {'ret': 1018, 'msg': '登录校验失败'})
    response = post_json(client, '/midas/presents', {'payer': PAYER, 'coins': 10}, SECRET)
    assert response.status_code == 401
