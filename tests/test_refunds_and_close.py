"""POST /orders/{id}/refunds and /close: the generic flows every provider plugs into."""
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import catalog, orders, providers, refunds
from chalicelib.providers.contract import REFUND_FAILED, REFUNDED, Notification
from tests import fakepay, table
from tests.helpers import SECRET, apply_verified, body_json, post_json


@pytest.fixture(autouse=True)
def fake_provider(monkeypatch):
    monkeypatch.setitem(providers.MODULES, 'fakepay', 'tests.fakepay')
    fakepay.calls.clear()
    fakepay.behaviour.update(refund='succeeded', close='ok')


def make_order(status='PAID', amount=1000):
    request = {'provider': 'fakepay', 'scene': 'app', 'out_trade_no': 'fake' + secrets.token_hex(8), 'quantity': 1,
               'client_ip': None, 'metadata': {}}
    order = {**orders.new_order_item(request, catalog.get().get('gold_60'), {}),
             'amount': amount, 'client_params': {'x': '1'}}
    table.insert(order)
    if status != 'CREATED':
        table.change(order, {'status': status})
    return table.order(order['order_id'])


def event_types():
    from chalicelib import aws, settings
    scanned = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return sorted(i['type']['S'] for i in scanned if i['pk']['S'].startswith('EVENT#'))


def test_partial_then_full_refund(client):
    order = make_order()
    first = post_json(client, f'/orders/{order["order_id"]}/refunds',
                      {'amount': 300, 'reason': 'one item', 'refund_no': 'refund-0001'}, SECRET)
    assert first.status_code == 200
    assert body_json(first)['status'] == 'SUCCEEDED'
    assert body_json(first)['provider_refund_id'] == 'FRrefund-0001'
    partial = table.order(order['order_id'])
    assert (partial['status'], partial['refunded_amount'], partial['refund_pending_amount']) == ('PAID', 300, 0)
    rest = post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 700}, SECRET)
    assert rest.status_code == 200
    full = table.order(order['order_id'])
    assert (full['status'], full['refunded_amount']) == ('REFUNDED', 1000)
    assert event_types() == ['order.refunded', 'order.refunded']
    shown = body_json(client.http.get(f'/orders/{order["order_id"]}', headers=SECRET))
    assert shown['refunded_amount'] == 1000 and shown['status'] == 'REFUNDED'


def test_a_retried_refund_never_pays_twice(client):
    order = make_order()
    body = {'amount': 300, 'refund_no': 'refund-0002'}
    first = post_json(client, f'/orders/{order["order_id"]}/refunds', body, SECRET)
    again = post_json(client, f'/orders/{order["order_id"]}/refunds', body, SECRET)
    assert body_json(again) == body_json(first)
    assert [c for c in fakepay.calls if c[0] == 'refund'] == [('refund', order['out_trade_no'], 'refund-0002', 300)]
    assert table.order(order['order_id'])['refunded_amount'] == 300
    other = post_json(client, f'/orders/{order["order_id"]}/refunds', {**body, 'amount': 301}, SECRET)
    assert other.status_code == 409


def test_refunds_cannot_exceed_the_amount(client):
    order = make_order()
    too_much = post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 1001}, SECRET)
    assert too_much.status_code == 422
    assert body_json(too_much)['error']['code'] == 'refund_exceeds_amount'
    assert post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 1000}, SECRET).status_code == 200
    assert post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 1}, SECRET).status_code == 422
    assert fakepay.calls == [('refund', order['out_trade_no'], fakepay.calls[0][2], 1000)]


@pytest.mark.parametrize('body, field', [({'amount': 0}, 'amount'), ({'amount': '5'}, 'amount'),
                                         ({}, 'amount'), ({'amount': 5, 'refund_no': 'a b'}, 'refund_no'),
                                         ({'amount': 5, 'reason': 7}, 'reason')])
def test_bad_refund_requests_are_400(client, body, field):
    order = make_order()
    response = post_json(client, f'/orders/{order["order_id"]}/refunds', body, SECRET)
    assert response.status_code == 400 and body_json(response)['error']['field'] == field
    assert fakepay.calls == []


def test_unpaid_orders_are_not_refunded(client):
    order = make_order('CREATED')
    response = post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 5}, SECRET)
    assert response.status_code == 409
    assert post_json(client, '/orders/ord_missing/refunds', {'amount': 5}, SECRET).status_code == 404


def test_refused_refund_is_failed_and_releases_the_amount(client):
    order = make_order()
    fakepay.behaviour['refund'] = 'refused'
    response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                         {'amount': 1000, 'refund_no': 'refund-0003'}, SECRET)
    assert response.status_code == 502
    assert table.refund(order['order_id'], 'refund-0003')['refund_status'] == 'FAILED'
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored['refund_pending_amount']) == (0, 0)
    fakepay.behaviour['refund'] = 'succeeded'
    assert post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 1000}, SECRET).status_code == 200


def test_a_refused_refund_that_cannot_be_marked_failed_is_told_and_logged_and_the_retry_releases_it(
        client, caplog):
    """Another writer keeps changing the order: marking the refund FAILED gives up. The caller gets
    503 busy, the give-up is logged, and the same refund_no retried releases the amount."""
    from chalicelib.store import orders as order_store
    order = make_order()
    fakepay.behaviour['refund'] = 'refused'
    as_read_before = table.order(order['order_id'])
    with pytest.MonkeyPatch.context() as stale, caplog.at_level('WARNING', logger='paygate'):
        stale.setattr(order_store, 'get', lambda out_trade_no: as_read_before)
        response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                             {'amount': 400, 'refund_no': 'refund-busy'}, SECRET)
    assert response.status_code == 503 and body_json(response)['error']['code'] == 'busy'
    assert table.refund(order['order_id'], 'refund-busy')['refund_status'] == 'PENDING'
    assert table.order(order['order_id'])['refund_pending_amount'] == 400
    assert [r.levelname for r in caplog.records if 'refund-busy' in r.getMessage()] == ['WARNING']
    retried = post_json(client, f'/orders/{order["order_id"]}/refunds',
                        {'amount': 400, 'refund_no': 'refund-busy'}, SECRET)
    assert retried.status_code == 502
    assert table.refund(order['order_id'], 'refund-busy')['refund_status'] == 'FAILED'
    assert table.order(order['order_id'])['refund_pending_amount'] == 0


def test_refund_in_progress_is_202_then_settled_by_the_providers_notification(client):
    order = make_order()
    fakepay.behaviour['refund'] = 'timeout'
    response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                         {'amount': 400, 'refund_no': 'refund-0004'}, SECRET)
    assert response.status_code == 202 and body_json(response)['status'] == 'PENDING'
    assert table.order(order['order_id'])['refund_pending_amount'] == 400
    note = Notification(event_id='rn-1', kind=REFUNDED, out_trade_no=order['out_trade_no'],
                        provider_trade_no='FR-4', refund_no='refund-0004', refund_amount=400)
    assert apply_verified('fakepay', note) == 'applied'
    assert apply_verified('fakepay', note) == 'duplicate'
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored['refund_pending_amount']) == (400, 0)
    assert table.refund(order['order_id'], 'refund-0004')['refund_status'] == 'SUCCEEDED'
    assert event_types() == ['order.refunded']


def test_refund_made_at_the_provider_is_recorded_from_its_notification(moto_table):
    order = make_order()
    note = Notification(event_id='rn-2', kind=REFUNDED, out_trade_no=order['out_trade_no'],
                        refund_no='console-1', refund_amount=1000)
    assert apply_verified('fakepay', note) == 'applied'
    assert table.order(order['order_id'])['status'] == 'REFUNDED'
    over = Notification(event_id='rn-3', kind=REFUNDED, out_trade_no=order['out_trade_no'],
                        refund_no='console-2', refund_amount=1)
    assert apply_verified('fakepay', over) == 'ignored'
    assert table.order(order['order_id'])['refunded_amount'] == 1000


def test_refund_failure_notification_releases_the_pending_amount(client):
    order = make_order()
    fakepay.behaviour['refund'] = 'processing'
    post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 250, 'refund_no': 'refund-0005'}, SECRET)
    note = Notification(event_id='rn-4', kind=REFUND_FAILED, out_trade_no=order['out_trade_no'],
                        refund_no='refund-0005', refund_amount=250)
    assert apply_verified('fakepay', note) == 'applied'
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored['refund_pending_amount']) == (0, 0)
    assert table.refund(order['order_id'], 'refund-0005')['refund_status'] == 'FAILED'


def test_concurrent_refunds_never_exceed_the_amount(any_table):
    """20 different refunds of 100 fen race for a 1000 fen order: exactly 10 go through."""
    order = make_order()

    def ask(number):
        try:
            return refunds.create(order['order_id'], {'amount': 100, 'refund_no': f'race-{number:04d}'})[0]
        except Exception as exc:
            return getattr(exc, 'status', repr(exc))

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(ask, range(20)))
    assert sorted(outcomes, key=str) == [200] * 10 + [422] * 10, outcomes
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount'], stored['refund_pending_amount']) == ('REFUNDED', 1000, 0)
    assert len([c for c in fakepay.calls if c[0] == 'refund']) == 10


def test_close_an_open_order(client):
    order = make_order('CREATED')
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 200 and body_json(response)['status'] == 'CLOSED'
    assert fakepay.calls == [('close', order['out_trade_no'])]
    again = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert again.status_code == 200
    assert event_types() == ['order.closed']


def test_close_refuses_paid_orders_and_reports_provider_failure(client):
    paid = make_order('PAID')
    assert post_json(client, f'/orders/{paid["order_id"]}/close', {}, SECRET).status_code == 409
    fakepay.behaviour['close'] = 'SYSTEMERROR'
    open_order = make_order('CREATED')
    response = post_json(client, f'/orders/{open_order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 502
    assert table.order(open_order['order_id'])['status'] == 'CREATED'
    assert event_types() == []
