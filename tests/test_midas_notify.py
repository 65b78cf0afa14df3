"""GET /notify/midas: what only Midas has (its callback signing, token mapping, mixed payments, ret answers);
the cases every notify route shares are in tests/test_contract.py."""
import json

import pytest

from chalicelib import aws, settings
from tests import table
from tests.helpers import body_json, event_bodies, midas_callback_sig, post_json
from tests.midas_fixtures import PAYER, buy_goods_answer, delivery, expect, query_of

pytestmark = pytest.mark.usefixtures('midas_env')
OK = '{"ret":0,"msg":"OK"}'
BAD_SIG = '{"ret":4,"msg":"请求参数错误：（sig）"}'
UNKNOWN_TOKEN = '{"ret":3,"msg":"token不存在"}'
BILLNO = '-APPDJSX21374-20251122-1512345678'


@pytest.fixture
def order(client, http_mock):
    expect(http_mock, 'buy_goods_m', buy_goods_answer)
    body = {'provider': 'midas', 'product_id': 'gold_60', 'payer': PAYER}
    return body_json(post_json(client, '/orders', body))


def notify(client, fields=None, query=None, headers=None):
    return client.http.get('/notify/midas?' + (query if query is not None else query_of(fields)),
                           headers=headers or {})


def items(prefix):
    found = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return [item for item in found if item['pk']['S'].startswith(prefix)]


def assert_answer(response, text, status=None):
    assert response.body.decode('utf-8') == text
    assert response.headers['Content-Type'] == 'application/json; charset=utf-8'
    if status:
        assert response.status_code == status


def assert_unchanged(order_id):
    stored = table.order(order_id)
    assert stored['status'] == 'CREATED' and stored['version'] == 1
    assert items('EVENT#') == []


def test_the_answer_bytes_are_pinned():
    from chalicelib.providers.contract import Rejected
    from chalicelib.providers.midas import notify as midas
    assert midas.SUCCESS.body.encode('utf-8') == b'{"ret":0,"msg":"OK"}'
    assert midas.failure(Rejected(Rejected.SIGNATURE, 'x')).body.encode('utf-8') == \
        '{"ret":4,"msg":"请求参数错误：（sig）"}'.encode('utf-8')
    assert midas.failure(Rejected(Rejected.UNKNOWN_ORDER, 'x')).body == UNKNOWN_TOKEN
    assert midas.failure(Rejected('internal', 'x')).body == '{"ret":1,"msg":"系统繁忙"}'


def test_a_form_content_type_on_the_get_is_accepted(client, order):
    response = notify(client, delivery(order), headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert_answer(response, OK, 200)


def test_empty_and_unknown_parameters_are_signed_too(client, order):
    fields = delivery(order, cftid='10000189 01321608272960639630', ebazinga='', mbazinga='1',
                      paychannel='qdqb', paychannelsubid='1', **{'new_field.v2': '金*~%'})
    assert_answer(notify(client, fields), OK)
    assert table.order(order['order_id'])['status'] == 'PAID'


def test_a_parameter_without_equals_sign_counts_as_empty(client, order):
    fields = delivery(order)
    query = query_of(fields).replace('pubacct_payamt_coins=&', 'pubacct_payamt_coins&')
    assert_answer(notify(client, query=query), OK)


def test_a_sig_whose_plus_became_a_space_still_verifies(client, order):
    for billno in (f'-APPDJSX-{n}' for n in range(200)):
        fields = delivery(order, billno=billno)
        if '+' in fields['sig']:
            break
    else:
        pytest.skip('no sig with a + among 200')
    query = query_of({**fields, 'sig': fields['sig'].replace('+', ' ')})
    assert_answer(notify(client, query=query), OK)


@pytest.mark.parametrize('field, value', [
    ('amt', '6000'), ('openid', 'someone'), ('billno', '-APPDJSX-other'), ('ts', '1763780001'),
    ('payitem', 'g001*6*1'), ('appmeta', 'x*qdqb*qq'), ('zoneid', '2'), ('pubacct_payamt_coins', '10'),
    ('ebazinga', ''), ('sig', 'VvKwcaMqUNpKhx0XfCvOqPRiAnU='),
])
def test_a_tampered_or_added_field_is_refused(client, order, field, value):
    fields = {**delivery(order), field: value}
    assert_answer(notify(client, fields), BAD_SIG, 400)
    assert_unchanged(order['order_id'])
    [record] = items('NOTIFY#')
    assert record['verdict']['S'] == 'rejected' and record['reason']['S'].startswith('signature')


def test_signed_over_another_path_is_refused(client, order):
    assert_answer(notify(client, delivery(order, path='/cgi-bin/temp.py')), BAD_SIG)
    assert_unchanged(order['order_id'])


def test_the_configured_callback_path_is_the_signed_path(client, order, midas_env):
    from tests.conftest import reset_caches
    midas_env.setenv('PAYGATE_MIDAS_CALLBACK_PATH', '/api/notify/midas')
    reset_caches()
    assert_answer(notify(client, delivery(order)), BAD_SIG)
    assert_answer(notify(client, delivery(order, path='/api/notify/midas')), OK)


def test_signed_without_the_special_encoding_is_refused(client, order):
    from tests.helpers import midas_sig
    fields = delivery(order)
    fields['sig'] = midas_sig('GET', '/notify/midas', fields, 'MidasTestAppKey0123456789abcdefX')
    assert_answer(notify(client, fields), BAD_SIG)


@pytest.mark.parametrize('change, answer', [
    ({'amt': '6000'}, '{"ret":4,"msg":"请求参数错误：（amt）"}'),
    ({'amt': '599'}, '{"ret":4,"msg":"请求参数错误：（amt）"}'),
    ({'amt': ''}, '{"ret":4,"msg":"请求参数错误：（amt）"}'),
    ({'amt': '60'}, '{"ret":4,"msg":"请求参数错误：（amt）"}'),
    ({'payitem': 'g001*6*1'}, '{"ret":4,"msg":"请求参数错误：（payitem）"}'),
    ({'payitem': 'g001*60*2', 'amt': '1200'}, '{"ret":4,"msg":"请求参数错误：（payitem）"}'),
    ({'payitem': 'g002*60*1'}, '{"ret":4,"msg":"请求参数错误：（payitem）"}'),
    ({'payitem': 'garbage'}, '{"ret":4,"msg":"请求参数错误：（payitem）"}'),
])
def test_a_wrong_amount_is_refused_even_when_signed(client, order, change, answer):
    assert_answer(notify(client, delivery(order, **change)), answer, 400)
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('amt, coins, vouchers, split', [
    ('300', '20', '10', {'amt': 300, 'payamt_coins': 200, 'pubacct_payamt_coins': 100}),
    ('', '60', '', {'amt': 0, 'payamt_coins': 600, 'pubacct_payamt_coins': 0}),
    ('0', '0', '60', {'amt': 0, 'payamt_coins': 0, 'pubacct_payamt_coins': 600}),
    ('600', '20', '', {'amt': 600, 'payamt_coins': 200, 'pubacct_payamt_coins': 0}),
])
def test_a_payment_mixing_q_points_game_coins_and_vouchers_pays(client, order, amt, coins, vouchers, split):
    """amt is in 0.1 Q点 (fen), payamt_coins and pubacct_payamt_coins in Q点: 30 + 20 + 10 Q点 = 6 yuan;
    amt alone equal to the price pays too (Tencent's worked example sends coins beside it)."""
    fields = delivery(order, amt=amt, payamt_coins=coins, pubacct_payamt_coins=vouchers)
    assert_answer(notify(client, fields), OK)
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['amount'], stored['paid_amount']) == ('PAID', 600, 600)
    assert stored['payment_split'] == split


@pytest.mark.parametrize('amt, coins, vouchers', [('300', '20', ''), ('', '', ''), ('590', '', ''),
                                                  ('300', '20', '20'), ('300', 'x', '30')])
def test_a_payment_that_is_not_the_price_in_any_reading_is_refused(client, order, amt, coins, vouchers):
    fields = delivery(order, amt=amt, payamt_coins=coins, pubacct_payamt_coins=vouchers)
    param = 'payamt_coins' if coins == 'x' else 'amt'
    assert_answer(notify(client, fields), f'{{"ret":4,"msg":"请求参数错误：（{param}）"}}', 400)
    assert_unchanged(order['order_id'])


def test_the_same_price_written_with_decimals_is_accepted(client, order):
    assert_answer(notify(client, delivery(order, payitem='g001*60.0*1')), OK)


@pytest.mark.parametrize('change', [
    {'token': 'NOT-OUR-TOKEN'}, {'appmeta': 'pg-unknown-order*qdqb*qq'}, {'token': ''},
    {'appmeta': None, 'token': 'NOT-OUR-TOKEN'}, {'appmeta': '*wechat*st_dummy', 'token': 'NOT-OUR-TOKEN'},
])
def test_an_unknown_token_or_order_is_ret_3(client, order, change):
    assert_answer(notify(client, delivery(order, **change)), UNKNOWN_TOKEN, 400)
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('appmeta', [None, '*wechat*st_dummy'])
def test_a_callback_without_our_out_trade_no_is_mapped_by_its_token(client, order, appmeta):
    assert_answer(notify(client, delivery(order, appmeta=appmeta)), OK)
    assert table.order(order['order_id'])['status'] == 'PAID'


def test_tencents_worked_example_through_the_route(client, http_mock, midas_env):
    """wiki.open.qq.com 回调发货URL的协议说明_V3: the example query, as Tencent sends it, pays an
    order set up to match it (appkey, appid, path, token, payitem 323003*8*1 = 80 fen)."""
    from tests.conftest import reset_caches
    catalog = [{'id': 'example', 'name': 'example', 'price': 80, 'providers': {'midas': {'item_id': '323003'}}}]
    for name, value in {'PAYGATE_MIDAS_APPID': '33758', 'PAYGATE_MIDAS_APPKEY': '12345f9a47df4d1eaeb3bad9a7e54321',
                        'PAYGATE_MIDAS_CALLBACK_PATH': '/cgi-bin/temp.py',
                        'PAYGATE_CATALOG': json.dumps(catalog)}.items():
        midas_env.setenv(name, value)
    reset_caches()
    token = '53227955F80B805B50FFB511E5AD51E025360'
    expect(http_mock, 'buy_goods_m', {'ret': 0, 'token': token, 'url_params': '/v1/r/33758/x'})
    order = body_json(post_json(client, '/orders', {'provider': 'midas', 'product_id': 'example',
                                                    'payer': {**PAYER, 'openid': 'test001'}}))
    example = ('openid=test001&appid=33758&ts=1328855301&payitem=323003*8*1'
               '&token=53227955F80B805B50FFB511E5AD51E025360&billno=-APPDJT18700-20120210-1428215572'
               '&version=v3&zoneid=1&providetype=0&amt=80&payamt_coins=20&pubacct_payamt_coins=10')
    sig = '&sig=VvKwcaMqUNpKhx0XfCvOqPRiAnU%3D'
    assert_answer(notify(client, query=example.replace('amt=80', 'amt=81') + sig), BAD_SIG, 400)
    assert table.order(order['order_id'])['status'] == 'CREATED'
    assert_answer(notify(client, query=example + sig), OK, 200)
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['provider_trade_no']) == ('PAID', '-APPDJT18700-20120210-1428215572')


def test_a_codepay_order_named_in_appmeta_is_ret_3(client, order, http_mock):
    from tests.codepay_fixtures import expect_create
    expect_create(http_mock)
    other = body_json(post_json(client, '/orders', {'provider': 'codepay', 'product_id': 'gold_60',
                                                    'payer': {'channel': 'alipay'}}))
    fields = delivery(order, appmeta=other['out_trade_no'] + '*qdqb*qq')
    assert_answer(notify(client, fields), UNKNOWN_TOKEN)


def test_signed_without_billno_is_refused(client, order):
    answer = '{"ret":4,"msg":"请求参数错误：（billno）"}'
    assert_answer(notify(client, delivery(order, billno=None)), answer)
    assert_unchanged(order['order_id'])


def test_a_redelivery_with_a_new_ts_and_sig_is_the_same_billno(client, order):
    assert_answer(notify(client, delivery(order)), OK)
    assert_answer(notify(client, delivery(order, ts='1763789999')), OK)
    assert len(items('EVENT#')) == 1


def test_a_second_billno_for_a_paid_order_is_an_order_paid_again_event(client, order):
    assert_answer(notify(client, delivery(order)), OK)
    assert_answer(notify(client, delivery(order, billno='-APPDJSX-second')), OK)
    assert table.order(order['order_id'])['provider_trade_no'] == BILLNO
    assert table.notification('midas', '-APPDJSX-second')['reason'] == 'order.paid_again'
    assert sorted(e['type'] for e in event_bodies()) == ['order.paid', 'order.paid_again']


def test_an_internal_failure_is_ret_1(client, order, monkeypatch):
    from chalicelib import payments

    def broken(*args):
        raise RuntimeError('table unavailable')
    monkeypatch.setattr(payments, 'apply', broken)
    assert_answer(notify(client, delivery(order)), '{"ret":1,"msg":"系统繁忙"}', 500)


def test_the_callback_encoding_for_non_ascii_values_through_the_route(client, order):
    fields = delivery(order, channel_id='渠道 ~-_.%', cftid='')
    assert fields['sig'] == midas_callback_sig('/notify/midas', fields, 'MidasTestAppKey0123456789abcdefX')
    assert_answer(notify(client, fields), OK)
