"""DynamoDB failing under a notification, on every notify route: the provider gets its failure
answer, nothing is half-written, and the provider's retry then succeeds exactly once.

Each write a notification makes fails once, before it reaches the table (an error, throttling, a
timeout) or after it was written (a timeout: the write committed, its answer was lost): the
transaction that pays the order, the one that records a second, different payment of a paid order
(order.paid_again), and the update that records a refused notification. A fault here stands for
what reaches Paygate once the DynamoDB client's own retries have given up. The kits
(tests/contract_kits.py) make each provider's notifications and know its answers.
"""
import socket
import threading

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib import aws
from tests import reliability, table
from tests.contract_fixtures import client, env, kit, order, send  # noqa: F401 (fixtures)
from tests.contract_kits import CODEPAY
from tests.helpers import table_items

SECTION = 'DynamoDB faults under a notification (notify routes)'


@pytest.fixture
def store(moto_table):
    return moto_table


def server_error(operation):
    return ClientError({'Error': {'Code': 'InternalServerError', 'Message': 'Internal error'}}, operation)


def throttled(operation):
    return ClientError({'Error': {'Code': 'ThrottlingException', 'Message': 'Rate exceeded'}}, operation)


def timed_out(operation):
    return ReadTimeoutError(endpoint_url='https://dynamodb.test')


BEFORE_THE_WRITE = pytest.mark.parametrize('error', [server_error, throttled, timed_out],
                                           ids=['error', 'throttled', 'timeout'])
REFUSALS = pytest.mark.parametrize('refusal', ['wrong_key', 'wrong_amount'])


class Fault:
    """Make the `call`-th request of one DynamoDB operation fail, once: before it reaches the table,
    or after it was written."""

    def __init__(self, operation, when, error, call=1):
        self.operation, self.error, self.call = operation, error, call
        self.calls = self.fired = 0
        event = 'before-call' if when == 'before' else 'after-call'
        aws.client('dynamodb').meta.events.register(f'{event}.dynamodb.{operation}', self)

    def __call__(self, **kwargs):
        self.calls += 1
        if self.calls == self.call:
            self.fired += 1
            raise self.error(self.operation)


def everything():
    """Every item in the table, in key order."""
    return sorted(table_items(''), key=lambda item: (item['pk']['S'], item['sk']['S']))


def event_types():
    return sorted(item['type']['S'] for item in table_items('EVENT#'))


def verdicts():
    return sorted((item['verdict']['S'], int(item['seen_count']['N'])) for item in table_items('NOTIFY#'))


def survived(fault, outcome):
    reliability.count(SECTION, fault, outcome)


def assert_paid_once(order):
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version'], stored['paid_amount']) == ('PAID', 2, 600)
    assert event_types() == ['order.paid'] and verdicts() == [('applied', 1)]


def assert_told_to_retry(client, kit, fault, sent):
    """`sent` meets the fault once and gets the provider's answer to a failure, so the provider retries."""
    response = send(client, sent)
    assert fault.fired == 1 and kit.fault_answer()(response), response.body

@BEFORE_THE_WRITE
def test_a_payment_whose_write_fails_changes_nothing_and_its_retry_pays_once(kit, env, client, order, error):
    before, sent = everything(), kit.paid(env, order)
    fault = Fault('TransactWriteItems', 'before', error)
    assert_told_to_retry(client, kit, fault, sent)
    assert everything() == before
    assert kit.success(send(client, sent))
    assert_paid_once(order)
    survived(f'paying: {error.__name__} before', 'failure; nothing written; retry paid once')


def test_a_payment_whose_answer_is_lost_is_paid_once_when_retried(kit, env, client, order):
    """The transaction committed but its answer never came back: the provider is told to retry,
    and the retry is the duplicate the committed record refuses."""
    sent = kit.paid(env, order)
    fault = Fault('TransactWriteItems', 'after', timed_out)
    assert_told_to_retry(client, kit, fault, sent)
    assert_paid_once(order)
    paid = everything()
    assert kit.success(send(client, sent))
    assert everything() == paid
    survived('paying: timed_out after', 'failure; retry a duplicate; paid once')


@BEFORE_THE_WRITE
def test_a_second_payment_whose_write_fails_records_nothing_and_its_retry_records_it_once(
        kit, env, client, order, error):
    """The second transaction of the request fails: the first, paying the order, is refused
    because the order is paid already."""
    assert kit.success(send(client, kit.paid(env, order)))
    before, again = everything(), kit.paid(env, order, **kit.another_payment)
    fault = Fault('TransactWriteItems', 'before', error, call=2)
    assert_told_to_retry(client, kit, fault, again)
    assert everything() == before
    assert kit.success(send(client, again))
    assert_paid_again_once(order)
    survived(f'paid again: {error.__name__} before', 'failure; nothing written; retry one order.paid_again')


def test_a_second_payment_whose_answer_is_lost_is_recorded_once_when_retried(kit, env, client, order):
    assert kit.success(send(client, kit.paid(env, order)))
    again = kit.paid(env, order, **kit.another_payment)
    fault = Fault('TransactWriteItems', 'after', timed_out, call=2)
    assert_told_to_retry(client, kit, fault, again)
    assert_paid_again_once(order)
    recorded = everything()
    assert kit.success(send(client, again))
    assert everything() == recorded
    survived('paid again: timed_out after', 'failure; retry a duplicate; one order.paid_again')


def assert_paid_again_once(order):
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('PAID', 2)
    assert event_types() == ['order.paid', 'order.paid_again']
    assert verdicts() == [('applied', 1), ('applied', 1)]


@REFUSALS
@BEFORE_THE_WRITE
def test_a_refusal_that_cannot_be_recorded_is_still_refused_and_its_retry_recorded_once(
        kit, env, client, order, refusal, error):
    before, sent = everything(), getattr(kit, refusal)(env, order)
    fault = Fault('UpdateItem', 'before', error)
    assert_told_to_retry(client, kit, fault, sent)
    assert everything() == before
    assert kit.failure(send(client, sent))
    assert_refused(order, seen=1)
    survived(f'recording a refusal: {error.__name__} before', 'failure; nothing written; retry refused once')


@REFUSALS
def test_a_refusal_whose_answer_is_lost_is_refused_again_and_counted(kit, env, client, order, refusal):
    sent = getattr(kit, refusal)(env, order)
    fault = Fault('UpdateItem', 'after', timed_out)
    assert_told_to_retry(client, kit, fault, sent)
    assert_refused(order, seen=1)
    assert kit.failure(send(client, sent))
    assert_refused(order, seen=2)
    survived('recording a refusal: timed_out after', 'failure; retry refused; one record')


def assert_refused(order, seen):
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('CREATED', 1)
    assert event_types() == [] and verdicts() == [('rejected', seen)]


class FrozenServer:
    """A server on 127.0.0.1 that accepts connections and never answers (a DynamoDB that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self):
        return f'http://127.0.0.1:{self.sock.getsockname()[1]}'

    def _accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()
        for connection in self.accepted:
            connection.close()


def test_a_dynamodb_that_never_answers_gets_the_provider_its_failure_within_the_budget(
        kit, env, client, order, monkeypatch):
    """Each request gives up after its read timeout, twice at most (docs/reliability.md): the
    answer comes back, the provider's own failure, after exactly that many attempts.

    Codepay's route waits the production read timeout; the others a quarter of it, which keeps
    the suite quick: what differs by route is the answer, not the wait."""
    if kit is not CODEPAY:
        monkeypatch.setattr(aws, 'READ_TIMEOUT', aws.READ_TIMEOUT / 4)
    sent = kit.paid(env, order)
    with FrozenServer() as frozen:
        env.configure(PAYGATE_DYNAMODB_ENDPOINT=frozen.url)
        response = send(client, sent)
        assert kit.fault_answer()(response), response.body
        assert len(frozen.accepted) == aws.MAX_ATTEMPTS
    survived('DynamoDB frozen', f'failure after {aws.MAX_ATTEMPTS} bounded attempts')
