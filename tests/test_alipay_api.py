"""Alipay through the API: POST /orders, close, refunds, and query() — the gateway mocked at the transport."""
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from chalicelib import clock
from chalicelib.errors import ProviderError
from chalicelib.providers import alipay
from chalicelib.providers.contract import CLOSED, PAID
from tests import alipay_sdk, table
from tests.alipay_fixtures import APP_ID, GATEWAY, ORDER, expect_gateway
from tests.certs import ca_name, issued_certificate
from tests.conftest import reset_caches
from tests.helpers import SECRET, apply_verified, body_json, post_json

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
TRADE_NO = '2026112222001404370512345678'


@pytest.fixture
def order(alipay_env, client, monkeypatch):
    monkeypatch.setattr(clock, 'now', lambda: NOW)
    created = post_json(client, '/orders', {**ORDER, 'quantity': 3})
    assert created.status_code == 201, created.body
    return body_json(created)


def paid(order):
    return table.change(table.order(order['order_id']), {'status': 'PAID', 'provider_trade_no': TRADE_NO})


def test_create_returns_an_order_string_the_app_key_verifies(order, alipay_keys):
    params = alipay_sdk.check_order_string(order['client_params']['order_string'], alipay_keys.app)
    assert (params['app_id'], params['method'], params['charset'], params['sign_type'], params['version']) == (
        APP_ID, 'alipay.trade.app.pay', 'utf-8', 'RSA2', '1.0')
    assert params['timestamp'] == '2026-11-22 16:00:00'
    assert params['notify_url'] == 'https://pay.test/notify/alipay'
    assert params['biz_content'] == json.dumps({
        'out_trade_no': order['out_trade_no'], 'total_amount': '18.00', 'subject': '60 金币 x3',
        'product_code': 'QUICK_MSECURITY_PAY', 'time_expire': '2026-11-22 16:30:00'},
        ensure_ascii=False, separators=(',', ':'))
    assert order['amount'] == 1800 and order['expires_at'] == '2026-11-22T08:30:00Z'


def test_python_alipay_sdk_verifies_the_order_string(order, alipay_keys):
    from alipay import AliPay
    sdk = AliPay(appid=APP_ID, app_private_key_string=alipay_keys.app.private_pem,
                 alipay_public_key_string=alipay_keys.app.public_pem)
    params = alipay_sdk.decode_query(order['client_params']['order_string'])
    sign = params.pop('sign')
    assert sdk._verify('&'.join(f'{k}={v}' for k, v in sorted(params.items())), sign)


def test_certificate_mode_adds_the_certificate_sns(alipay_env, paygate_env, client, alipay_keys):
    from alipay import DCAliPay
    root = (Path(__file__).parent / 'data' / 'alipay_root_cert.crt').read_text()
    app_cert = issued_certificate(alipay_keys.app.public, ca_name('app'), alipay_keys.alipay.private,
                                  ca_name('Ant Financial Certification Authority Class 1 R1'), serial=77)
    alipay_cert = issued_certificate(alipay_keys.alipay.public, ca_name('alipay'), alipay_keys.alipay.private,
                                     ca_name('Ant Financial Certification Authority Class 2 R1'), serial=78)
    paygate_env.delenv('PAYGATE_ALIPAY_PUBLIC_KEY')
    for name, value in {'PAYGATE_ALIPAY_SIGN_MODE': 'cert', 'PAYGATE_ALIPAY_APP_CERT': app_cert,
                        'PAYGATE_ALIPAY_ROOT_CERT': root, 'PAYGATE_ALIPAY_PUBLIC_CERT': alipay_cert}.items():
        paygate_env.setenv(name, value)
    reset_caches()
    created = body_json(post_json(client, '/orders', ORDER))
    params = alipay_sdk.check_order_string(created['client_params']['order_string'], alipay_keys.app)
    assert params['app_cert_sn'] == DCAliPay.get_cert_sn(app_cert)
    assert params['alipay_root_cert_sn'] == '687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6'


def test_close_at_alipay_then_here(order, client, alipay_keys, http_mock):
    calls = []
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.close': {
        'code': '10000', 'msg': 'Success', 'trade_no': TRADE_NO, 'out_trade_no': order['out_trade_no']}}, calls)
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 200 and body_json(response)['status'] == 'CLOSED'
    [call] = calls
    assert (call['method'], call['biz'], call['timestamp']) == (
        'alipay.trade.close', {'out_trade_no': order['out_trade_no']}, '2026-11-22 16:00:00')
    assert 'notify_url' not in call


def test_close_of_a_trade_alipay_never_saw_closes_here(order, client, alipay_keys, http_mock):
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.close': {
        'code': '40004', 'msg': 'Business Failed', 'sub_code': 'ACQ.TRADE_NOT_EXIST', 'sub_msg': '交易不存在'}})
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 200
    assert table.order(order['order_id'])['status'] == 'CLOSED'


@pytest.mark.parametrize('answer', [
    {'code': '40004', 'msg': 'Business Failed', 'sub_code': 'ACQ.TRADE_STATUS_ERROR', 'sub_msg': '交易状态不合法'},
    {'code': '20000', 'msg': 'Service Currently Unavailable', 'sub_code': 'isp.unknow-error'},
    lambda params: '{"alipay_trade_close_response":{"code":"10000","msg":"Success"},"sign":"bm90IGEgc2lnbg=="}',
    lambda params: '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}',
    requests.ConnectTimeout('timed out'),
])
def test_close_refused_or_unverified_is_502_and_nothing_changes(order, client, alipay_keys, http_mock, answer):
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.close': answer})
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 502
    assert table.order(order['order_id'])['status'] == 'CREATED'


def refund_answer(order, fund_change='Y', refund_fee='2.00'):
    return {'code': '10000', 'msg': 'Success', 'trade_no': TRADE_NO, 'out_trade_no': order['out_trade_no'],
            'buyer_logon_id': 'san***@sandbox.com', 'fund_change': fund_change, 'refund_fee': refund_fee,
            'gmt_refund_pay': '2026-11-22 16:10:00'}


def test_refund_is_idempotent_by_refund_no(order, client, alipay_keys, http_mock):
    paid(order)
    calls = []
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.refund': refund_answer(order)}, calls)
    body = {'amount': 200, 'reason': '退一件', 'refund_no': 'refund-0001'}
    first = post_json(client, f'/orders/{order["order_id"]}/refunds', body, SECRET)
    again = post_json(client, f'/orders/{order["order_id"]}/refunds', body, SECRET)
    assert first.status_code == again.status_code == 200
    assert body_json(again) == body_json(first)
    assert body_json(first)['status'] == 'SUCCEEDED' and body_json(first)['provider_refund_id'] == TRADE_NO
    [call] = calls
    assert call['biz'] == {'out_trade_no': order['out_trade_no'], 'refund_amount': '2.00',
                           'out_request_no': 'refund-0001', 'refund_reason': '退一件'}
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored['refund_pending_amount'], stored['status']) == (200, 0, 'PAID')


def test_a_refund_retried_after_a_timeout_reuses_its_out_request_no(order, client, alipay_keys, http_mock):
    """The first call times out (pending); the retry gets fund_change N, the refund query says done."""
    paid(order)
    calls = []
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.refund': requests.ReadTimeout('slow')}, calls)
    body = {'amount': 1800, 'refund_no': 'refund-0002'}
    first = post_json(client, f'/orders/{order["order_id"]}/refunds', body, SECRET)
    assert first.status_code == 202 and body_json(first)['status'] == 'PENDING'
    http_mock.reset()
    expect_gateway(http_mock, alipay_keys, {
        'alipay.trade.refund': refund_answer(order, fund_change='N', refund_fee='18.00'),
        'alipay.trade.fastpay.refund.query': {
            'code': '10000', 'msg': 'Success', 'trade_no': TRADE_NO, 'out_trade_no': order['out_trade_no'],
            'out_request_no': 'refund-0002', 'refund_amount': '18.00', 'total_amount': '18.00',
            'refund_status': 'REFUND_SUCCESS'}}, calls)
    again = post_json(client, f'/orders/{order["order_id"]}/refunds', body, SECRET)
    assert again.status_code == 200 and body_json(again)['status'] == 'SUCCEEDED'
    assert [c['biz'].get('out_request_no') for c in calls] == ['refund-0002'] * 3
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount'], stored['refund_pending_amount']) == ('REFUNDED', 1800, 0)


def test_fund_change_n_without_a_finished_refund_stays_pending(order, client, alipay_keys, http_mock):
    paid(order)
    expect_gateway(http_mock, alipay_keys, {
        'alipay.trade.refund': refund_answer(order, fund_change='N', refund_fee='0.00'),
        'alipay.trade.fastpay.refund.query': {'code': '10000', 'msg': 'Success',
                                              'out_trade_no': order['out_trade_no'],
                                              'out_request_no': 'refund-0003'}})
    response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                         {'amount': 100, 'refund_no': 'refund-0003'}, SECRET)
    assert response.status_code == 202
    assert table.order(order['order_id'])['refund_pending_amount'] == 100


@pytest.mark.parametrize('answer', [
    {'code': '20000', 'msg': 'Service Currently Unavailable', 'sub_code': 'isp.unknow-error'},
    {'code': '40004', 'msg': 'Business Failed', 'sub_code': 'ACQ.SYSTEM_ERROR'},
    lambda params: alipay_sdk.answer_json('alipay.trade.refund', {'code': '10000', 'fund_change': 'Y'},
                                          alipay_sdk.KeyPair()),
])
def test_unknown_outcomes_leave_the_refund_pending(order, client, alipay_keys, http_mock, answer):
    paid(order)
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.refund': answer})
    response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                         {'amount': 100, 'refund_no': 'refund-0004'}, SECRET)
    assert response.status_code == 202
    assert table.refund(order['order_id'], 'refund-0004')['refund_status'] == 'PENDING'


def test_refused_refund_fails_and_releases_the_amount(order, client, alipay_keys, http_mock):
    paid(order)
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.refund': {
        'code': '40004', 'msg': 'Business Failed', 'sub_code': 'ACQ.SELLER_BALANCE_NOT_ENOUGH',
        'sub_msg': '卖家余额不足'}})
    response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                         {'amount': 100, 'refund_no': 'refund-0005'}, SECRET)
    assert response.status_code == 502
    assert 'SELLER_BALANCE_NOT_ENOUGH' in body_json(response)['error']['message']
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored['refund_pending_amount']) == (0, 0)


def test_an_answer_about_another_trade_is_not_believed(order, client, alipay_keys, http_mock):
    paid(order)
    other = {**refund_answer(order), 'out_trade_no': 'someone-else'}
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.refund': other})
    response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                         {'amount': 100, 'refund_no': 'refund-0006'}, SECRET)
    assert response.status_code == 502
    assert table.order(order['order_id'])['refunded_amount'] == 0


def query_answer(order, status, amount='18.00'):
    return {'code': '10000', 'msg': 'Success', 'trade_no': TRADE_NO, 'out_trade_no': order['out_trade_no'],
            'trade_status': status, 'total_amount': amount, 'buyer_logon_id': 'san***@sandbox.com'}


@pytest.mark.parametrize('status, kind', [('TRADE_SUCCESS', PAID), ('TRADE_FINISHED', PAID),
                                          ('TRADE_CLOSED', CLOSED), ('WAIT_BUYER_PAY', None)])
def test_query_reports_the_trade(order, alipay_keys, http_mock, status, kind):
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.query': query_answer(order, status)})
    note = alipay.query(table.order(order['order_id']))
    assert (note and note.kind) == kind
    if kind == PAID:
        assert (note.event_id, note.amount, note.provider_trade_no) == (f'query:{TRADE_NO}', 1800, TRADE_NO)


def test_query_of_a_trade_alipay_never_saw_is_unpaid_and_paid_one_applies_once(order, alipay_keys, http_mock):
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.query': {
        'code': '40004', 'msg': 'Business Failed', 'sub_code': 'ACQ.TRADE_NOT_EXIST'}})
    assert alipay.query(table.order(order['order_id'])) is None
    http_mock.reset()
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.query': query_answer(order, 'TRADE_SUCCESS')})
    note = alipay.query(table.order(order['order_id']))
    assert apply_verified('alipay', note) == 'applied'
    assert apply_verified('alipay', note) == 'duplicate'
    assert table.order(order['order_id'])['status'] == 'PAID'


@pytest.mark.parametrize('answer', [
    {'code': '20000', 'msg': 'Service Currently Unavailable', 'sub_code': 'isp.unknow-error'},
    requests.ConnectionError('refused'),
])
def test_query_failures_are_retryable(order, alipay_keys, http_mock, answer):
    expect_gateway(http_mock, alipay_keys, {'alipay.trade.query': answer})
    with pytest.raises(ProviderError) as failed:
        alipay.query(table.order(order['order_id']))
    assert failed.value.retryable


def test_gateway_http_errors_are_retryable(order, alipay_keys, http_mock):
    http_mock.add('POST', GATEWAY, status=502, body='<html>Bad Gateway</html>')
    with pytest.raises(ProviderError) as failed:
        alipay.query(table.order(order['order_id']))
    assert failed.value.retryable and failed.value.code == 'http_502'


def test_keys_pasted_as_bare_base64_work(alipay_env, paygate_env, client, alipay_keys):
    """The Alipay console hands out keys as one base64 line, without PEM armour."""
    def bare(pem):
        return ''.join(line for line in pem.splitlines() if not line.startswith('-----'))
    paygate_env.setenv('PAYGATE_ALIPAY_APP_PRIVATE_KEY', bare(alipay_keys.app.private_pem))
    paygate_env.setenv('PAYGATE_ALIPAY_PUBLIC_KEY', bare(alipay_keys.alipay.public_pem))
    reset_caches()
    created = body_json(post_json(client, '/orders', ORDER))
    alipay_sdk.check_order_string(created['client_params']['order_string'], alipay_keys.app)
