"""Reconciliation end to end: a day's books made through the real payment paths, the providers' bills in
their real formats, POST /reconciliations and the report it leaves in DynamoDB and the API."""
import gzip
import time
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import deadline
from chalicelib.errors import ProviderError

from chalicelib.reconciliation import service
from tests import table
from tests.bill_fixtures import alipay_zip, downloadbill, tradebill, wechat_text
from tests.helpers import PUBLISHABLE, SECRET, body_json, event_bodies, post_json, table_items
from tests.openapi_check import check_response
from tests.reconciliation_fixtures import (DAY, NEXT_MORNING, PAY_1, PAY_2, PAY_3, TRADES, WECHAT_REFUND_IDS, Ledger,
                                           serve_alipay, serve_wechat_bill)
from tests.wechatpay_fixtures import APPID, MCH_ID

OTHER = 'pg20261122200000aaaabbbbcccc'
AFTER_MIDNIGHT = datetime(2026, 11, 22, 16, 0, 5, tzinfo=timezone.utc)      # 00:00:05 China time
EMPTY_BILL = (wechat_text().splitlines()[0] + '\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,'
              '订单总金额,申请退款总金额\n`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00\n')


@pytest.fixture
def ledger(wechat, monkeypatch):
    return Ledger('wechatpay', monkeypatch, {'api_version': 'v3', 'appid': APPID})


def reconcile(client, provider='wechatpay', day=DAY, headers=SECRET):
    response = post_json(client, '/reconciliations', {'provider': provider, 'date': day}, headers)
    check_response('POST', '/reconciliations', response)
    return response


def report(client, provider='wechatpay', day=DAY, query=''):
    response = client.http.get(f'/reconciliations/{provider}/{day}{query}', headers=SECRET)
    check_response('GET', '/reconciliations/{provider}/{date}', response)
    return body_json(response)


def outcomes(lines):
    return {(line['kind'], line['out_trade_no'], line['refund_no']): line['outcome'] for line in lines}


def query_answers(wechat, out_trade_no, state='SUCCESS', total=600):
    wechat.v3('GET', f'/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={MCH_ID}', body={
        'trade_state': state, 'out_trade_no': out_trade_no, 'mchid': MCH_ID, 'appid': APPID,
        'transaction_id': TRADES['wechatpay'][out_trade_no], 'amount': {'total': total, 'payer_total': total,
                                                                       'currency': 'CNY'}})


def test_a_day_whose_books_agree_is_matched_line_by_line_with_its_fees(ledger, wechat, client):
    ledger.as_in_the_wechat_bill(wechat)
    serve_wechat_bill(wechat, wechat_text())
    ledger.at(NEXT_MORNING)
    response = reconcile(client)
    assert response.status_code == 200
    summary = body_json(response)
    assert summary == {
        'provider': 'wechatpay', 'date': DAY, 'status': 'completed', 'reconciled_at': '2026-11-23T02:30:00Z',
        'outcomes': {'matched': {'count': 5, 'amount': 9000}}, 'mismatches': 0,
        'bill': {'lines': 5, 'payments': 5400, 'refunds': 600, 'fee': 11, 'net': 4789, 'agrees': True,
                 'stated': {'count': 5, 'amount': 5400, 'refund_amount': 3600, 'fee': 11}}}
    stored = report(client)
    assert {name: stored[name] for name in summary} == summary
    assert outcomes(stored['lines']['data']) == {
        ('payment', PAY_1, None): 'matched', ('payment', PAY_2, None): 'matched',
        ('payment', PAY_3, None): 'matched', ('refund', PAY_3, 'rf_partial_0001'): 'matched',
        ('refund', PAY_2, 'rf_full_0002'): 'matched'}
    assert len([item for item in table_items('RECON#') if item['sk']['S'].startswith('LINE#')]) == 5
    assert [e['type'] for e in event_bodies() if e['type'].startswith('reconciliation.')] == \
        ['reconciliation.completed']


@pytest.fixture
def day_with_every_outcome(ledger, wechat):
    """Against the fixture bill: PAY_1 paid at WeChat Pay, its notification lost; PAY_2 sold here for
    24.00 (billed 30.00) and its refund made in the merchant console; PAY_3's partial refund done at
    WeChat Pay, still pending here; OTHER paid here, not in the bill."""
    ledger.order(PAY_1)
    ledger.paid(PAY_2, quantity=4)
    ledger.paid(PAY_3, quantity=3)
    ledger.refund_pending(wechat, PAY_3, 'rf_partial_0001', 600)
    ledger.paid(OTHER, trade_no='4200001234202611220000000999')
    serve_wechat_bill(wechat, wechat_text())
    query_answers(wechat, PAY_1)
    ledger.at(NEXT_MORNING)
    return ledger


def test_every_outcome_is_found_and_a_payment_missing_here_is_paid_once(day_with_every_outcome, wechat, client):
    summary = body_json(reconcile(client))
    lines = report(client)['lines']['data']
    assert outcomes(lines) == {
        ('payment', PAY_1, None): 'missing_here', ('payment', PAY_2, None): 'amount_mismatch',
        ('payment', PAY_3, None): 'matched', ('refund', PAY_3, 'rf_partial_0001'): 'status_mismatch',
        ('refund', PAY_2, 'rf_full_0002'): 'refund_mismatch', ('payment', OTHER, None): 'missing_there'}
    assert summary['mismatches'] == 5
    [missing] = [line for line in lines if line['outcome'] == 'missing_here']
    assert missing['resolution'] == 'paid here now: order.paid sent'
    paid = table.order_by_trade_no(PAY_1)
    assert (paid['status'], paid['provider_trade_no']) == ('PAID', TRADES['wechatpay'][PAY_1])
    assert [e['type'] for e in event_bodies() if e['data'].get('order', {}).get('out_trade_no') == PAY_1] == \
        ['order.paid']
    assert sorted(e['type'] for e in event_bodies() if e['type'].startswith('reconciliation.')) == \
        ['reconciliation.completed', 'reconciliation.mismatch']
    [amount] = [line for line in lines if line['outcome'] == 'amount_mismatch']
    assert (amount['bill_amount'], amount['here_amount']) == (3000, 2400)


def test_a_day_reconciled_twice_gives_the_same_report_and_pays_nothing_twice(day_with_every_outcome, wechat,
                                                                           client):
    first = body_json(reconcile(client))
    first_lines = report(client)['lines']['data']
    second = body_json(reconcile(client))
    assert second == first
    assert report(client)['lines']['data'] == first_lines
    assert len([e for e in event_bodies() if e['type'] == 'order.paid'
                and e['data']['order']['out_trade_no'] == PAY_1]) == 1
    assert len([item for item in table_items('RECON#') if item['sk']['S'].startswith('LINE#')]) == 6
    queries = [r for r in wechat.requests if '/v3/pay/transactions/out-trade-no/' in r.url]
    assert len(queries) == 1


def test_lines_page_with_a_cursor_and_filter_by_outcome(day_with_every_outcome, client):
    reconcile(client)
    first = report(client, query='?limit=4')
    assert len(first['lines']['data']) == 4 and first['lines']['has_more']
    rest = report(client, query=f'?limit=4&cursor={first["lines"]["next_cursor"]}')
    assert len(rest['lines']['data']) == 2 and not rest['lines']['has_more']
    every = outcomes(first['lines']['data'] + rest['lines']['data'])
    assert len(every) == 6
    only = report(client, query='?outcome=missing_there')['lines']['data']
    assert [(line['out_trade_no'], line['here_amount']) for line in only] == [(OTHER, 600)]


def test_a_day_without_a_bill_flags_what_paygate_recorded(ledger, wechat, client):
    ledger.paid(PAY_1)
    tradebill(wechat, {'code': 'NO_STATEMENT_EXIST', 'message': '账单文件不存在'}, status=400)
    ledger.at(NEXT_MORNING)
    summary = body_json(reconcile(client))
    assert (summary['status'], summary['bill']['lines'], summary['outcomes']) == (
        'no_bill', 0, {'missing_there': {'count': 1, 'amount': 600}})


def test_a_bill_not_yet_published_is_409_and_keeps_nothing(ledger, wechat, client):
    ledger.paid(PAY_1)
    tradebill(wechat, {'code': 'STATEMENT_CREATING', 'message': '账单生成中'}, status=400)
    ledger.at(NEXT_MORNING)
    response = reconcile(client)
    assert response.status_code == 409 and body_json(response)['error']['code'] == 'bill_not_ready'
    assert table_items('RECON#') == []


class SlowClock:
    """A clock for the deadline on which each look at the time costs two seconds: a slow day."""

    def __init__(self):
        self.now = 0

    def monotonic(self):
        self.now += 2
        return self.now


def test_a_run_out_of_time_frees_its_day_for_the_next_try(ledger, wechat, client, monkeypatch):
    """The run's own calls stop one DynamoDB request's worth before the deadline, so the day's
    lease is released in time and a retry is not told reconciliation_running."""
    ledger.as_in_the_wechat_bill(wechat)
    serve_wechat_bill(wechat, wechat_text())
    ledger.at(NEXT_MORNING)
    monkeypatch.setattr(deadline, 'time', SlowClock())
    response = reconcile(client)
    assert response.status_code in (502, 503) and body_json(response)['error']['code'] in (
        'provider_unavailable', 'timeout')
    assert table_items('RECON#') == []
    monkeypatch.setattr(deadline, 'time', time)
    assert body_json(reconcile(client))['outcomes'] == {'matched': {'count': 5, 'amount': 9000}}


def test_api_v2_bills_reconcile_the_same(ledger, wechat, wechatpay_env, client):
    ledger.as_in_the_wechat_bill(wechat)
    wechatpay_env(version='v2')
    downloadbill(wechat, gzip.compress(wechat_text().encode('utf-8')))
    ledger.at(NEXT_MORNING)
    response = reconcile(client)
    assert response.status_code == 200, response.body
    assert body_json(response)['outcomes'] == {'matched': {'count': 5, 'amount': 9000}}


def test_a_payment_notified_just_after_midnight_is_not_missing_from_the_next_days_bill(ledger, wechat, client):
    ledger.paid(PAY_2, 'vip_month')
    ledger.paid(PAY_3, quantity=3)
    ledger.refunded(PAY_3, 'rf_partial_0001', 600, WECHAT_REFUND_IDS['rf_partial_0001'])
    ledger.refund_pending(wechat, PAY_2, 'rf_full_0002', 3000)
    ledger.at(AFTER_MIDNIGHT)
    ledger.paid(PAY_1)                   # paid at 09:15 by the bill, notified here after midnight
    serve_wechat_bill(wechat, wechat_text())
    ledger.at(NEXT_MORNING)
    assert body_json(reconcile(client))['outcomes'] == {'matched': {'count': 5, 'amount': 9000}}
    serve_wechat_bill(wechat, EMPTY_BILL)
    ledger.at(NEXT_MORNING + timedelta(days=1))
    assert body_json(reconcile(client, day='2026-11-23'))['outcomes'] == {}


# ---- Alipay ---------------------------------------------------------------------------------

@pytest.fixture
def alipay_ledger(alipay_env, moto_table, monkeypatch):
    return Ledger('alipay', monkeypatch)


def test_an_alipay_day_is_reconciled_from_its_gbk_zip_and_a_lost_payment_is_paid(alipay_ledger, alipay_keys,
                                                                                http_mock, client):
    alipay_ledger.order(PAY_1)
    alipay_ledger.paid(PAY_2, 'vip_month')
    alipay_ledger.paid(PAY_3, quantity=3)
    alipay_ledger.refunded(PAY_3, 'rf_partial_0001', 600)
    alipay_ledger.refunded(PAY_2, 'rf_full_0002', 3000)
    serve_alipay(http_mock, alipay_keys, {'alipay.trade.query': {
        'code': '10000', 'msg': 'Success', 'out_trade_no': PAY_1, 'trade_no': TRADES['alipay'][PAY_1],
        'trade_status': 'TRADE_SUCCESS', 'total_amount': '6.00'}}, alipay_zip())
    alipay_ledger.at(NEXT_MORNING)
    summary = body_json(reconcile(client, 'alipay'))
    assert summary['outcomes'] == {'matched': {'count': 4, 'amount': 8400}, 'missing_here': {'count': 1, 'amount': 600}}
    assert summary['bill'] == {'lines': 5, 'payments': 5400, 'refunds': 3600, 'fee': 11, 'net': 1789,
                               'agrees': True, 'stated': {'count': 5, 'net_amount': 1800, 'fee': 11}}
    assert table.order_by_trade_no(PAY_1)['status'] == 'PAID'


def test_an_alipay_day_finds_every_outcome_in_its_bill(alipay_ledger, alipay_keys, http_mock, client):
    """Against the fixture zip: PAY_1 paid at Alipay, its notification lost; PAY_2 sold here for 24.00
    (billed 30.00) and refunded in the merchant console; PAY_3's partial refund asked for here and not
    finished when Alipay was asked; OTHER paid here, not in the bill."""
    alipay_ledger.order(PAY_1)
    alipay_ledger.paid(PAY_2, quantity=4)
    alipay_ledger.paid(PAY_3, quantity=3)
    alipay_ledger.paid(OTHER, trade_no='2026112222001404370500000999')
    serve_alipay(http_mock, alipay_keys, {
        'alipay.trade.refund': {'code': '10000', 'msg': 'Success', 'out_trade_no': PAY_3,
                                'trade_no': TRADES['alipay'][PAY_3], 'fund_change': 'N', 'refund_fee': '0.00'},
        'alipay.trade.fastpay.refund.query': {'code': '10000', 'msg': 'Success', 'out_trade_no': PAY_3,
                                              'out_request_no': 'rf_partial_0001'},
        'alipay.trade.query': {'code': '10000', 'msg': 'Success', 'out_trade_no': PAY_1,
                               'trade_no': TRADES['alipay'][PAY_1], 'trade_status': 'TRADE_SUCCESS',
                               'total_amount': '6.00'}}, alipay_zip())
    alipay_ledger.refund_left_pending(PAY_3, 'rf_partial_0001', 600)
    alipay_ledger.at(NEXT_MORNING)
    summary = body_json(reconcile(client, 'alipay'))
    lines = report(client, 'alipay')['lines']['data']
    assert outcomes(lines) == {
        ('payment', PAY_1, None): 'missing_here', ('payment', PAY_2, None): 'amount_mismatch',
        ('payment', PAY_3, None): 'matched', ('refund', PAY_3, 'rf_partial_0001'): 'status_mismatch',
        ('refund', PAY_2, 'rf_full_0002'): 'refund_mismatch', ('payment', OTHER, None): 'missing_there'}
    assert summary['mismatches'] == 5
    [amount] = [line for line in lines if line['outcome'] == 'amount_mismatch']
    assert (amount['bill_amount'], amount['here_amount']) == (3000, 2400)
    [status] = [line for line in lines if line['outcome'] == 'status_mismatch']
    assert (status['bill_status'], status['here_status']) == ('退款', 'PENDING')
    paid = table.order_by_trade_no(PAY_1)
    assert (paid['status'], paid['provider_trade_no']) == ('PAID', TRADES['alipay'][PAY_1])
    assert [e['type'] for e in event_bodies() if e['data'].get('order', {}).get('out_trade_no') == PAY_1] == \
        ['order.paid']


# ---- providers without a bill, and the API's refusals ---------------------------------------------

def test_a_provider_without_a_bill_api_gets_its_books_listed_alone(moto_table, client, monkeypatch):
    ledger = Ledger('codepay', monkeypatch)
    ledger.paid(PAY_1, trade_no='CP20261122000001')
    ledger.at(NEXT_MORNING)
    summary = body_json(reconcile(client, 'codepay'))
    assert (summary['status'], summary['bill'], summary['outcomes'], summary['mismatches']) == (
        'no_bill_api', None, {'here_only': {'count': 1, 'amount': 600}}, 0)
    assert [e['type'] for e in event_bodies() if e['type'].startswith('reconciliation.')] == \
        ['reconciliation.completed']


@pytest.mark.parametrize('body, status, code, field', [
    ({'provider': 'alipay', 'date': DAY}, 400, 'provider_not_enabled', 'provider'),
    ({'provider': 'codepay', 'date': '2026-11-31'}, 400, 'invalid_request', 'date'),
    ({'provider': 'codepay', 'date': '2026-11-24'}, 400, 'invalid_request', 'date'),
    ({'provider': 'codepay'}, 400, 'invalid_request', 'date'),
    (['codepay'], 400, 'invalid_request', None),
])
def test_a_request_that_cannot_be_run_is_a_clear_400_and_keeps_nothing(moto_table, client, monkeypatch, body,
                                                                       status, code, field):
    Ledger('codepay', monkeypatch).at(NEXT_MORNING)
    response = post_json(client, '/reconciliations', body, SECRET)
    check_response('POST', '/reconciliations', response)
    error = body_json(response)['error']
    assert (response.status_code, error['code'], error.get('field')) == (status, code, field)
    assert table_items('RECON#') == []


def test_reconciliations_need_the_secret_key_and_an_unknown_report_is_404(moto_table, client, monkeypatch):
    Ledger('codepay', monkeypatch).at(NEXT_MORNING)
    assert reconcile(client, 'codepay', headers=PUBLISHABLE).status_code == 403
    assert post_json(client, '/reconciliations', {}, {'Content-Type': 'application/json'}).status_code == 401
    unknown = client.http.get(f'/reconciliations/codepay/{DAY}', headers=SECRET)
    assert unknown.status_code == 404 and body_json(unknown)['error']['code'] == 'not_found'
    assert client.http.get('/reconciliations/codepay/yesterday', headers=SECRET).status_code == 404
    assert reconcile(client, 'codepay').status_code == 200
    bad = client.http.get(f'/reconciliations/codepay/{DAY}?cursor=bm9wZQ', headers=SECRET)
    assert bad.status_code == 400 and body_json(bad)['error']['field'] == 'cursor'
    assert client.http.get(f'/reconciliations/codepay/{DAY}?outcome=odd', headers=SECRET).status_code == 400


# ---- the daily run ----------------------------------------------------------------------------

def test_the_morning_run_reconciles_yesterday_for_every_provider_and_fails_for_an_unpublished_bill(
        ledger, wechat):
    """The failed invocation is retried by Lambda (then kept in its failure queue): see deploy/functions.py."""
    ledger.as_in_the_wechat_bill(wechat)
    tradebill(wechat, {'code': 'STATEMENT_CREATING', 'message': '账单生成中'}, status=400)
    ledger.at(NEXT_MORNING)
    with pytest.raises(ProviderError, match='bills of 2026-11-22 not published yet: wechatpay'):
        service.run_yesterday()
    assert [item['sk']['S'] for item in table_items(f'RECON#codepay#{DAY}')] == ['REPORT']
    assert table_items(f'RECON#wechatpay#{DAY}') == []


def test_one_run_of_a_day_at_a_time_and_a_dead_runs_lease_lapses(moto_table, client, monkeypatch):
    ledger = Ledger('codepay', monkeypatch)
    ledger.at(NEXT_MORNING)
    from chalicelib.store import reconciliations
    assert reconciliations.claim('codepay', DAY, 'other-run', int(NEXT_MORNING.timestamp()), service.LEASE_SECONDS)
    response = reconcile(client, 'codepay')
    assert response.status_code == 409 and body_json(response)['error']['code'] == 'reconciliation_running'
    assert service.run_yesterday()['codepay'] == 'running elsewhere'
    assert [item['sk']['S'] for item in table_items(f'RECON#codepay#{DAY}')] == ['RUN']
    ledger.at(NEXT_MORNING + timedelta(seconds=service.LEASE_SECONDS + 1))
    assert reconcile(client, 'codepay').status_code == 200
    assert [item['sk']['S'] for item in table_items(f'RECON#codepay#{DAY}')] == ['REPORT']
