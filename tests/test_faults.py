"""DynamoDB failing under a notification: the provider gets its failure answer within the time
budget, nothing is half-written, and the provider's retry then pays the order exactly once."""
import socket
import threading

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib import aws
from tests import reliability, table
from tests.codepay_fixtures import expect_create
from tests.helpers import FORM, assert_text_answer, body_json, codepay_notification, form_body, post_json, table_items

ORDER = {'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'}}


@pytest.fixture
def order(client, http_mock):
    expect_create(http_mock)
    return body_json(post_json(client, '/orders', ORDER))


def notify(client, order, **change):
    return client.http.post('/notify/codepay', headers=FORM,
                            body=form_body(codepay_notification(order['out_trade_no'], **change)))


def throttled(**kwargs):
    return ClientError({'Error': {'Code': 'ThrottlingException', 'Message': 'Rate exceeded'}},
                       'TransactWriteItems')


def server_error(**kwargs):
    return ClientError({'Error': {'Code': 'InternalServerError', 'Message': 'Internal error'}},
                       'TransactWriteItems')


def timed_out(**kwargs):
    return ReadTimeoutError(endpoint_url='https://dynamodb.test')


def survived(fault, outcome='told to retry; nothing half-written; the retry paid once'):
    reliability.add('DynamoDB faults under a notification', fault, outcome)


class Fault:
    """Make one DynamoDB operation fail once, before it reaches the table or after it was written."""

    def __init__(self, operation, when, error):
        self.operation, self.when, self.error, self.fired = operation, when, error, 0
        event = 'before-call' if when == 'before' else 'after-call'
        aws.client('dynamodb').meta.events.register(f'{event}.dynamodb.{operation}', self)

    def __call__(self, **kwargs):
        if not self.fired:
            self.fired += 1
            raise self.error()


@pytest.mark.parametrize('error', [server_error, throttled, timed_out], ids=['error', 'throttled', 'timeout'])
def test_a_write_that_fails_before_the_table_changes_nothing_and_the_retry_pays_once(client, order, error):
    fault = Fault('TransactWriteItems', 'before', error)
    response = notify(client, order)
    assert fault.fired == 1 and response.status_code == 500
    assert_text_answer(response, 'fail')
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('CREATED', 1)
    assert table_items('EVENT#') == [] and table_items('NOTIFY#') == []
    assert_text_answer(notify(client, order), 'success')
    assert_text_answer(notify(client, order), 'success')
    assert table.order(order['order_id'])['version'] == 2 and len(table_items('EVENT#')) == 1
    survived(f'{error.__name__} before the write')


def test_a_write_whose_answer_is_lost_is_paid_once_when_the_provider_retries(client, order):
    """The transaction committed but its answer never came back: the provider is told to retry,
    and the retry is the duplicate the committed record refuses."""
    fault = Fault('TransactWriteItems', 'after', timed_out)
    response = notify(client, order)
    assert fault.fired == 1 and response.status_code == 500
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('PAID', 2) and len(table_items('EVENT#')) == 1
    assert_text_answer(notify(client, order), 'success')
    assert table.order(order['order_id']) == stored and len(table_items('EVENT#')) == 1
    survived('timed_out after the write', 'told to retry; the retry is a duplicate; paid once')


def test_a_refusal_that_cannot_be_recorded_is_still_refused(client, order):
    fault = Fault('UpdateItem', 'before', server_error)
    response = notify(client, order, key='not-the-key')
    assert fault.fired == 1 and response.status_code == 500
    assert_text_answer(response, 'fail')
    assert table.order(order['order_id'])['status'] == 'CREATED'
    survived('server_error recording a refusal', 'still refused; nothing changed')


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
        paygate_env, app_module):
    """Each request gives up after its read timeout, twice at most (docs/reliability.md): the
    answer comes back, the provider's own failure, after exactly that many attempts."""
    from chalice.test import Client
    from tests.conftest import reset_caches
    with FrozenServer() as frozen:
        paygate_env.setenv('PAYGATE_DYNAMODB_ENDPOINT', frozen.url)
        reset_caches()
        with Client(app_module.app, stage_name='test') as client:
            fields = codepay_notification('pg20261202000000abcdef012345')
            response = client.http.post('/notify/codepay', headers=FORM, body=form_body(fields))
        assert response.status_code == 500
        assert_text_answer(response, 'fail')
        assert len(frozen.accepted) == aws.MAX_ATTEMPTS
    survived('DynamoDB frozen', f'told to retry after {aws.MAX_ATTEMPTS} bounded attempts')
