"""The provider contract, held the same way for every provider (kits: tests/contract_kits.py).

Every provider module lists what it can do and has the functions of what it
lists, and nothing else; every notify route answers a valid notification with
its provider's exact success bytes and pays the order once, in one DynamoDB
request, with the provider's trade number, one order.paid event holding the
order as the API shows it, and the notification stored as received; it
answers a duplicate with the same bytes in one request (many at once:
tests/test_exactly_once.py); and it refuses a tampered one, one signed with
another key, one of another amount, one for another merchant or app, and
malformed ones, with its provider's failure answer (to the byte where the
answer names the reason), changing nothing but the record of the refusal.

What else happens follows what the provider module lists: closing an order
asks the provider once where it closes orders and closes it here in any case;
a refund is answered as the provider's reply means, and refused (422) by a
provider that has none; compensation pays an order the provider says is paid,
once, and leaves one it says is unpaid; the day's bill has the provider's
bill's lines. The Cloud Marketplace's deliveries, at the end, keep the same
promises in their own format.
"""
import inspect
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib import aws, clock, compensation, providers
from chalicelib.providers import contract
from chalicelib.providers.contract import Billable, Closable, Queryable, Refundable, Rejected
from chalicelib.store import dynamo
from tests import table
from tests.bill_fixtures import BILL_DATE
from tests.cloudmarket_fixtures import create_body, deliver, frozen, signed_query  # noqa: F401 (fixture)
from tests.contract_fixtures import client, env, kit, order, send  # noqa: F401 (fixtures)
from tests.conftest import CLOUDMARKET_WEBSITE, PUBLIC_URL
from tests.contract_kits import JSON, KITS, REFUND_NO
from tests.helpers import FORM, PUBLISHABLE, SECRET, body_json, event_bodies, post_json, table_items

# Past every provider's wait before an order may be closed (WeChat Pay: 5 minutes after it was
# made) and past compensation.QUERY_AFTER.
LATER = timedelta(minutes=6)

PROVIDER_FUNCTIONS = ('validate_payer', 'create')
NOTIFIER_NAMES = ('notification_keys', 'parse_notification', 'failure', 'SUCCESS', 'NAME')


@pytest.mark.parametrize('name', sorted(providers.MODULES))
def test_each_provider_has_the_contract_and_exactly_the_capabilities_it_lists(name):
    module = providers.load(name)
    assert module.NAME == name and isinstance(module.OUT_TRADE_NO, contract.TradeNoRule)
    for function in PROVIDER_FUNCTIONS:
        assert callable(getattr(module, function)), function
    for capability, operation in contract.CAPABILITY_NAMES.items():
        has = callable(getattr(module, operation, None))
        assert has == (capability in module.CAPABILITIES), (name, operation)
        if has:
            declared = inspect.signature(getattr(capability, operation))
            assert list(inspect.signature(getattr(module, operation)).parameters) == \
                [p for p in declared.parameters if p != 'self'], (name, operation)


@pytest.mark.parametrize('route', sorted(providers.NOTIFY_ROUTES))
def test_each_notify_route_has_the_notification_half(route):
    notifier = providers.load_notify(route)
    for attribute in NOTIFIER_NAMES:
        assert hasattr(notifier, attribute), (route, attribute)
    assert isinstance(notifier.SUCCESS, contract.Reply)
    assert list(inspect.signature(notifier.parse_notification).parameters) == ['inbound', 'keys', 'now']


def test_every_notify_route_has_a_kit():
    assert sorted(kit.route for kit in KITS) == sorted(providers.NOTIFY_ROUTES)


def capable(kit, capability):
    return providers.capable(kit.name, capability) is not None


def kits_where(condition):
    return [kit for kit in KITS if condition(kit)]


@pytest.mark.parametrize('kit', KITS, ids=str)
def test_each_kit_answers_for_what_its_provider_lists_and_nothing_else(kit):
    """A query and a bill wherever the provider lists them; a close or a refund only where it does
    (the kit leaves them out for orders the provider has nothing to close or refund)."""
    assert (kit.query is not None) == capable(kit, Queryable)
    assert (kit.bill is not None) == capable(kit, Billable)
    assert kit.close is None or capable(kit, Closable)
    assert kit.refund is None or capable(kit, Refundable)


@pytest.fixture
def store(moto_table):
    return moto_table


@pytest.fixture
def requests_made():
    """The DynamoDB requests made while the test runs (botocore's own events), by operation."""
    made = []
    aws.client('dynamodb').meta.events.register('before-call.dynamodb.*',
                                                lambda model, **kwargs: made.append(model.name))
    return made


def assert_unchanged(order):
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('CREATED', 1)
    assert [item for item in table_items('EVENT#')] == []


def answered(kit, response, expected):
    """The response is the answer `expected` (kit.success, kit.failure), in the provider's content type."""
    content_type = response.headers.get('Content-Type') if response.body else None
    return expected(response) and content_type == (kit.content_type if response.body else None)


def stored_notification():
    """The one notification record in the table."""
    [item] = table_items('NOTIFY#')
    return dynamo.from_item(item)


def assert_stored_as_sent(record, sent):
    """The record holds the request as the provider sent it: method, path, query, body, headers."""
    url = urlsplit(sent.path)
    assert (record['method'], record['path'], record['body']) == (sent.method, url.path, sent.body)
    assert parse_qsl(record['query'], keep_blank_values=True) == parse_qsl(url.query, keep_blank_values=True)
    assert {name.lower(): value for name, value in sent.headers.items()}.items() <= record['headers'].items()


def test_a_valid_notification_pays_the_order_in_one_request(kit, env, client, order, requests_made):
    sent = kit.paid(env, order)
    requests_made.clear()
    response = send(client, sent)
    assert answered(kit, response, kit.success), response.body
    assert requests_made == ['TransactWriteItems']
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version'], stored['paid_amount'], stored['provider_trade_no']) == (
        'PAID', 2, 600, kit.trade_no)
    shown = body_json(client.http.get(f'/orders/{order["order_id"]}', headers=PUBLISHABLE))
    assert (shown['status'], shown['provider_trade_no']) == ('PAID', kit.trade_no) and shown['paid_at']
    [event] = event_bodies()
    assert (event['type'], event['data']['order']) == ('order.paid', shown)
    record = stored_notification()
    assert (record['verdict'], record['out_trade_no']) == ('applied', order['out_trade_no'])
    assert_stored_as_sent(record, sent)


def test_a_duplicate_is_answered_success_in_one_request_and_changes_nothing(kit, env, client, order,
                                                                           requests_made):
    sent = kit.paid(env, order)
    assert kit.success(send(client, sent))
    paid = table.order(order['order_id'])
    requests_made.clear()
    assert answered(kit, send(client, sent), kit.success)
    assert requests_made == ['TransactWriteItems']
    assert table.order(order['order_id']) == paid and len(table_items('EVENT#')) == 1
    assert stored_notification()['verdict'] == 'applied'


# Why each notification that must not pay is refused (contract.Rejected's codes).
REASONS = {'tampered': Rejected.SIGNATURE, 'wrong_key': Rejected.SIGNATURE, 'wrong_amount': Rejected.AMOUNT,
           'wrong_merchant': Rejected.MERCHANT}


@pytest.mark.parametrize('case', list(REASONS))
def test_a_notification_that_must_not_pay_is_refused_in_the_providers_format(kit, env, client, order, case):
    response = send(client, getattr(kit, case)(env, order))
    assert answered(kit, response, kit.failure), (case, response.status_code, response.body)
    assert response.body == kit.refused(REASONS[case]), case
    assert_unchanged(order)
    record = stored_notification()
    assert record['verdict'] == 'rejected' and record['reason'].startswith(f'{REASONS[case]}: '), record['reason']


def test_malformed_notifications_are_refused_in_the_providers_format(kit, env, client, order):
    for sent in kit.malformed:
        response = send(client, sent)
        assert answered(kit, response, kit.failure) and 400 <= response.status_code < 500, (sent, response.body)
    assert_unchanged(order)


def test_a_disabled_provider_answers_in_its_own_format(kit, env, client, order, every_provider_env):
    every_provider_env.setenv('PAYGATE_PROVIDERS', 'codepay' if kit.name != 'codepay' else 'alipay')
    from tests.conftest import reset_caches
    reset_caches()
    response = send(client, kit.paid(env, order))
    assert answered(kit, response, kit.failure), response.body


def event_types():
    return sorted(item['type']['S'] for item in table_items('EVENT#'))


def calls_made(env):
    return len(env.http_mock.calls)


@pytest.fixture
def later(monkeypatch):
    """Move Paygate's clock on by LATER, or to a given moment."""
    def move(moment=None):
        moment = moment or clock.now() + LATER
        monkeypatch.setattr(clock, 'now', lambda: moment)
    return move


def test_close_asks_the_provider_once_where_it_closes_orders_and_closes_here(kit, env, client, order, later):
    """A provider that is not Closable (or has nothing to close for the kit's order) is asked nothing:
    the order closes here alone (orders.close)."""
    if kit.close:
        kit.close(env, order)
    later()
    before = calls_made(env)
    response = post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET)
    assert response.status_code == 200 and body_json(response)['status'] == 'CLOSED', response.body
    assert calls_made(env) - before == (1 if kit.close else 0)
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('CLOSED', 2)
    assert event_types() == ['order.closed']


# What a refund of the whole order leaves: answer, the order's status, refunded and pending amounts, events.
REFUNDED = {'SUCCEEDED': (200, 'REFUNDED', 600, 0, ['order.paid', 'order.refunded']),
            'PENDING': (202, 'PAID', 0, 600, ['order.paid'])}


def refund_whole(client, order):
    return post_json(client, f'/orders/{order["order_id"]}/refunds', {'amount': 600, 'refund_no': REFUND_NO},
                     SECRET)


@pytest.mark.parametrize('kit', kits_where(lambda kit: kit.refund), ids=str)
def test_a_refund_is_answered_as_the_providers_reply_means(kit, env, client, order):
    assert kit.success(send(client, kit.paid(env, order)))
    status = kit.refund(env, order)
    before = calls_made(env)
    response = refund_whole(client, order)
    answer, order_status, refunded, pending, events = REFUNDED[status]
    assert response.status_code == answer and body_json(response)['status'] == status, response.body
    assert calls_made(env) - before == 1
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount'], stored['refund_pending_amount']) == (
        order_status, refunded, pending)
    assert table.refund(order['order_id'], REFUND_NO)['refund_status'] == status
    assert event_types() == events


@pytest.mark.parametrize('kit', kits_where(lambda kit: not kit.refund), ids=str)
def test_a_refund_the_provider_cannot_make_is_422_and_changes_nothing(kit, env, client, order):
    assert kit.success(send(client, kit.paid(env, order)))
    paid, before = table.order(order['order_id']), calls_made(env)
    response = refund_whole(client, order)
    assert response.status_code == 422 and body_json(response)['error']['code'] == 'not_supported'
    assert calls_made(env) == before
    assert table.order(order['order_id']) == paid and table.refund(order['order_id'], REFUND_NO) is None
    assert event_types() == ['order.paid']


QUERYABLE = kits_where(lambda kit: capable(kit, Queryable))


@pytest.mark.parametrize('kit', QUERYABLE, ids=str)
def test_compensation_pays_once_an_order_the_provider_reports_paid(kit, env, client, order, later):
    kit.query(env, order, True)
    later()
    before = calls_made(env)
    assert compensation.run() == {'checked': 1, 'paid': 1, 'closed': 0, 'errors': 0}
    assert compensation.run()['checked'] == 0
    assert calls_made(env) - before == 1
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version'], stored['paid_amount']) == ('PAID', 2, 600)
    assert event_types() == ['order.paid']


@pytest.mark.parametrize('kit', QUERYABLE, ids=str)
def test_compensation_leaves_open_an_order_the_provider_reports_unpaid(kit, env, client, order, later):
    kit.query(env, order, False)
    later()
    assert compensation.run() == {'checked': 1, 'paid': 0, 'closed': 0, 'errors': 0}
    assert_unchanged(order)


@pytest.mark.parametrize('kit', kits_where(lambda kit: not capable(kit, Queryable)), ids=str)
def test_without_a_query_compensation_closes_the_order_once_it_expires(kit, env, client, order, later):
    if kit.close:
        kit.close(env, order)
    later(clock.parse_rfc3339(order['expires_at']) + timedelta(seconds=1))
    before = calls_made(env)
    assert compensation.run() == {'checked': 1, 'paid': 0, 'closed': 1, 'errors': 0}
    assert calls_made(env) - before == (1 if kit.close else 0)
    assert table.order(order['order_id'])['status'] == 'CLOSED' and event_types() == ['order.closed']


# The fixture bills (tests/data/bills) hold the same day for every provider.
PAY_1, PAY_2, PAY_3 = ('pg20261122091520a1b2c3d4e5f6', 'pg20261122123955b7c8d9e0f1a2',
                       'pg20261122180340c3d4e5f6a7b8')
BILL_LINES = [('payment', PAY_1, 600), ('payment', PAY_2, 3000), ('payment', PAY_3, 1800),
              ('refund', PAY_3, 600), ('refund', PAY_2, 3000)]


@pytest.mark.parametrize('kit', kits_where(lambda kit: capable(kit, Billable)), ids=str)
def test_the_bill_of_a_day_has_the_lines_of_the_providers_bill(kit, env):
    kit.bill(env)
    bill = providers.capable(kit.name, Billable).download_bill(BILL_DATE)
    assert (bill.provider, bill.date, [(line.kind, line.out_trade_no, line.amount) for line in bill.lines]) == (
        kit.name, BILL_DATE, BILL_LINES)


# ---- The Cloud Marketplace's deliveries ---------------------------------------------------------

@pytest.fixture
def marketplace(moto_table, app_module, frozen):
    """A client of Paygate, its clock stopped where the marketplace signs (tests/cloudmarket_fixtures.py)."""
    from chalice.test import Client
    with Client(app_module.app, stage_name='test') as test_client:
        yield test_client


def test_a_marketplace_delivery_is_answered_and_its_duplicate_the_same_bytes(marketplace):
    query = signed_query()
    first = deliver(marketplace, create_body(), query)
    assert first.status_code == 200, first.body
    answer = body_json(first)
    assert answer == {'signId': answer['signId'], 'appInfo': {'website': CLOUDMARKET_WEBSITE,
                                                              'authUrl': answer['appInfo']['authUrl']}}
    assert answer['appInfo']['authUrl'].startswith(f'{PUBLIC_URL}/cloudmarket/login/')
    again = deliver(marketplace, create_body(), query)
    assert (again.status_code, again.body) == (200, first.body)
    assert table.instance(answer['signId'])['status'] == 'ACTIVE'
    assert len(table_items('INSTANCE#')) == 1 and event_types() == ['instance.created']


@pytest.mark.parametrize('query', [lambda: {**signed_query(), 'eventId': '1447900002'},
                                   lambda: signed_query(token='not-our-token')],
                         ids=['tampered', 'wrong_token'])
def test_a_marketplace_delivery_not_signed_with_our_token_is_refused(marketplace, query):
    response = deliver(marketplace, create_body(), query())
    assert response.status_code == 401 and body_json(response)['error']['code'] == 'invalid_signature'
    assert table_items('INSTANCE#') == [] and event_types() == []
    [record] = table_items('CMEVENT#')
    assert record['verdict']['S'].startswith('invalid_signature')


def test_malformed_marketplace_deliveries_are_refused(marketplace):
    for raw, headers, code in ((b'', {}, 'invalid_json'), (b'not json', JSON, 'invalid_json'),
                               (b'[1, 2]', JSON, 'invalid_request'), (b'action=a&action=b', FORM, 'invalid_request')):
        response = deliver(marketplace, None, raw=raw, headers=headers)
        assert response.status_code == 400 and body_json(response)['error']['code'] == code, raw
    assert table_items('INSTANCE#') == [] and event_types() == []
