"""The provider contract, held the same way for every provider (kits: tests/contract_kits.py).

Every provider module lists what it can do and has the functions of what it
lists, and nothing else; every notify route answers a valid notification with
its provider's exact success bytes and pays the order once, in one DynamoDB
request, and answers a duplicate with the same bytes in one request (many at
once: tests/test_exactly_once.py); and it
refuses a tampered one, one signed with another key, one of another amount,
one for another merchant or app, and malformed ones, with its provider's
failure answer, changing nothing.
"""
import inspect

import pytest

from chalicelib import aws, providers
from chalicelib.providers import contract
from tests import table
from tests.contract_fixtures import client, env, kit, order  # noqa: F401 (fixtures)
from tests.contract_kits import KITS
from tests.helpers import table_items

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


def send(client, sent):
    return client.http.request(sent.method, sent.path, headers=sent.headers, body=sent.body)


def assert_unchanged(order):
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('CREATED', 1)
    assert [item for item in table_items('EVENT#')] == []


def test_a_valid_notification_pays_the_order_in_one_request(kit, env, client, order, requests_made):
    requests_made.clear()
    response = send(client, kit.paid(env, order))
    assert kit.success(response), response.body
    assert requests_made == ['TransactWriteItems']
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version'], stored['paid_amount']) == ('PAID', 2, 600)
    [event] = table_items('EVENT#')
    assert event['type']['S'] == 'order.paid'


def test_a_duplicate_is_answered_success_in_one_request_and_changes_nothing(kit, env, client, order,
                                                                           requests_made):
    sent = kit.paid(env, order)
    assert kit.success(send(client, sent))
    paid = table.order(order['order_id'])
    requests_made.clear()
    assert kit.success(send(client, sent))
    assert requests_made == ['TransactWriteItems']
    assert table.order(order['order_id']) == paid and len(table_items('EVENT#')) == 1


@pytest.mark.parametrize('case', ['tampered', 'wrong_key', 'wrong_amount', 'wrong_merchant'])
def test_a_notification_that_must_not_pay_is_refused_in_the_providers_format(kit, env, client, order, case):
    response = send(client, getattr(kit, case)(env, order))
    assert kit.failure(response), (case, response.status_code, response.body)
    assert_unchanged(order)
    [record] = table_items('NOTIFY#')
    assert record['verdict']['S'] == 'rejected'


def test_malformed_notifications_are_refused_in_the_providers_format(kit, env, client, order):
    for sent in kit.malformed:
        response = send(client, sent)
        assert kit.failure(response) and 400 <= response.status_code < 500, (sent, response.body)
    assert_unchanged(order)


def test_a_disabled_provider_answers_in_its_own_format(kit, env, client, order, every_provider_env):
    every_provider_env.setenv('PAYGATE_PROVIDERS', 'codepay' if kit.name != 'codepay' else 'alipay')
    from tests.conftest import reset_caches
    reset_caches()
    response = send(client, kit.paid(env, order))
    assert kit.failure(response), response.body
