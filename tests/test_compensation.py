"""Compensation: query open orders, pay what the provider says is paid, close what expired."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock, compensation, notifications, providers, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import Inbound, Notification
from tests import fakepay, table

T0 = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fake_provider(monkeypatch):
    monkeypatch.setitem(providers.MODULES, 'fakepay', 'tests.fakepay')
    monkeypatch.setitem(providers.NOTIFY_ROUTES, 'fakepay', 'tests.fakepay')
    fakepay.calls.clear()
    fakepay.query_answer.clear()
    fakepay.behaviour.update(refund='succeeded', close='ok')


@pytest.fixture
def at(monkeypatch):
    """Move the clock: at(minutes) sets now to T0 + minutes."""
    def move(minutes):
        monkeypatch.setattr(clock, 'now', lambda: T0 + timedelta(minutes=minutes))
    move(0)
    return move


def open_order(number):
    from chalicelib import catalog, orders
    settings.get().providers.setdefault('fakepay', None)
    request = {'provider': 'fakepay', 'scene': 'app', 'out_trade_no': f'comp-{number:04d}', 'quantity': 1,
               'client_ip': None, 'metadata': {}}
    order = {**orders.new_order_item(request, catalog.get().get('gold_60'), {}), 'client_params': {'x': '1'}}
    table.insert(order)
    return order


def event_types():
    from chalicelib import aws
    items = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return [i['type']['S'] for i in items if i['pk']['S'].startswith('EVENT#')]


def test_a_paid_but_unnotified_order_is_paid_from_the_query(moto_table, at):
    order = open_order(1)
    fakepay.query_answer[order['out_trade_no']] = 'T-1'
    at(4)
    assert compensation.run()['checked'] == 0
    at(6)
    assert compensation.run() == {'checked': 1, 'paid': 1, 'closed': 0, 'errors': 0}
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['provider_trade_no']) == ('PAID', 'T-1')
    assert table.notification('fakepay', 'query:T-1')['verdict'] == 'applied'
    assert compensation.run()['checked'] == 0
    assert event_types() == ['order.paid']


def test_unpaid_orders_are_left_until_they_expire_then_closed(moto_table, at):
    order = open_order(2)
    at(10)
    assert compensation.run() == {'checked': 1, 'paid': 0, 'closed': 0, 'errors': 0}
    at(31)
    assert compensation.run()['closed'] == 1
    assert table.order(order['order_id'])['status'] == 'CLOSED'
    assert ('close', order['out_trade_no']) in fakepay.calls
    assert event_types() == ['order.closed']


def test_provider_errors_leave_the_order_as_it_was(moto_table, at):
    order = open_order(3)
    fakepay.query_answer[order['out_trade_no']] = ProviderError('busy', retryable=True)
    at(40)
    assert compensation.run()['errors'] == 1
    assert table.order(order['order_id'])['status'] == 'CREATED'
    fakepay.query_answer.clear()
    fakepay.behaviour['close'] = 'SYSTEMERROR'
    assert compensation.run()['errors'] == 1
    assert table.order(order['order_id'])['status'] == 'CREATED' and event_types() == []


def test_a_query_for_the_wrong_amount_is_refused(moto_table, at, monkeypatch):
    order = open_order(4)
    fakepay.query_answer[order['out_trade_no']] = 'T-4'
    monkeypatch.setattr(fakepay, "query", lambda o: Notification(
        event_id='query:T-4', kind='paid', out_trade_no=o['out_trade_no'], amount=1, provider_trade_no='T-4'))
    at(6)
    compensation.run()
    assert table.order(order['order_id'])['status'] == 'CREATED'
    assert table.notification('fakepay', 'query:T-4')['verdict'] == 'rejected'


def test_compensation_racing_the_late_notification_pays_once(any_table, at):
    """The query and the provider's own late notification land together: one PAID, one event."""
    orders_made = [open_order(10 + n) for n in range(5)]
    for order in orders_made:
        fakepay.query_answer[order['out_trade_no']] = f'T-{order["out_trade_no"]}'
    at(6)

    def late_notification(order):
        body = json.dumps({'id': f'n-{order["out_trade_no"]}', 'out_trade_no': order['out_trade_no'],
                           'amount': 600, 'trade_no': f'T-{order["out_trade_no"]}'}).encode()
        return notifications.handle('fakepay', Inbound('POST', '/notify/fakepay', {}, (), body)).body

    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = [pool.submit(compensation.run) for _ in range(3)]
        answers = list(pool.map(late_notification, orders_made))
        [run.result() for run in runs]
    assert answers == ['OK'] * 5
    for order in orders_made:
        stored = table.order(order['order_id'])
        assert (stored['status'], stored['version']) == ('PAID', 2)
    assert event_types() == ['order.paid'] * 5
