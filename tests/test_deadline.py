"""Every HTTP request answers before API Gateway and its function give up: waits that could not end
before the request's deadline are not begun, and provider calls are cut to the time left."""
import logging

import pytest

from chalicelib import aws, deadline, outbound
from tests import table
from tests.codepay_fixtures import expect_create
from tests.helpers import FORM, assert_text_answer, body_json, codepay_notification, form_body, post_json, table_items

ORDER = {'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'}}


def with_seconds(monkeypatch, seconds):
    """Requests served from now on have `seconds` before their deadline (API Gateway's limit less the margin)."""
    monkeypatch.setattr(deadline, 'API_GATEWAY_LIMIT', seconds + deadline.MARGIN)


@pytest.fixture
def dynamodb_attempts():
    """The DynamoDB attempts that were sent: seen after the deadline's check, on the same event."""
    sent = []
    aws.client('dynamodb').meta.events.register_last('before-send', lambda request, **_: sent.append(
        request.headers.get('X-Amz-Target', b'').decode().split('.')[-1]))
    return sent


def notify(client, order):
    return client.http.post('/notify/codepay', headers=FORM,
                            body=form_body(codepay_notification(order['out_trade_no'])))


def test_a_provider_call_waits_at_most_until_the_writes_that_follow_it_must_begin(client, http_mock, monkeypatch):
    calls = []
    expect_create(http_mock, calls=calls)
    with_seconds(monkeypatch, 20)
    assert post_json(client, '/orders', ORDER).status_code == 201
    connect, read = http_mock.calls[0].request.req_kwargs['timeout']
    assert connect == outbound.CONNECT_TIMEOUT
    assert 20 - outbound.RESERVE - connect - 0.5 < read <= 20 - outbound.RESERVE - connect


def test_a_provider_call_that_could_not_end_in_time_is_not_made_and_nothing_is_kept(client, http_mock,
                                                                                   monkeypatch):
    with_seconds(monkeypatch, outbound.RESERVE + outbound.CONNECT_TIMEOUT + outbound.MIN_READ - 0.5)
    response = post_json(client, '/orders', ORDER)
    assert response.status_code == 502
    assert body_json(response)['error']['code'] == 'provider_unavailable'
    assert 'left before the answer is due' in body_json(response)['error']['message']
    assert len(http_mock.calls) == 0
    assert table_items('ORDER#') == []


def test_with_the_whole_budget_a_provider_call_keeps_its_usual_timeouts(client, http_mock):
    expect_create(http_mock)
    assert post_json(client, '/orders', ORDER).status_code == 201
    assert http_mock.calls[0].request.req_kwargs['timeout'] == (outbound.CONNECT_TIMEOUT, outbound.READ_TIMEOUT)


def test_an_api_request_without_time_for_a_dynamodb_attempt_is_503_and_changes_nothing(
        client, http_mock, monkeypatch, dynamodb_attempts, caplog):
    expect_create(http_mock)
    order = body_json(post_json(client, '/orders', ORDER))
    sent_before = len(dynamodb_attempts)
    with_seconds(monkeypatch, aws.CONNECT_TIMEOUT + aws.READ_TIMEOUT - 0.5)
    with caplog.at_level(logging.WARNING, logger='paygate'):
        response = client.http.post(f'/orders/{order["order_id"]}/close',
                                    headers={'Authorization': 'Bearer sk_test_unit'})
    assert response.status_code == 503
    assert body_json(response)['error']['code'] == 'timeout'
    assert len(dynamodb_attempts) == sent_before
    assert table.order(order['order_id'])['status'] == 'CREATED'
    assert any(r.levelno == logging.WARNING and 'answered before its deadline' in r.getMessage()
               for r in caplog.records)


def test_a_notification_without_time_for_its_write_gets_the_providers_failure_and_the_retry_pays_once(
        client, http_mock, monkeypatch, dynamodb_attempts, caplog):
    expect_create(http_mock)
    order = body_json(post_json(client, '/orders', ORDER))
    created = table.order(order['order_id'])
    sent_before = len(dynamodb_attempts)
    with_seconds(monkeypatch, aws.CONNECT_TIMEOUT + aws.READ_TIMEOUT - 0.5)
    with caplog.at_level(logging.WARNING, logger='paygate'):
        refused = notify(client, order)
    assert refused.status_code == 500
    assert [r.levelname for r in caplog.records if 'deadline' in r.getMessage()] == ['WARNING']
    assert not any(r.exc_info for r in caplog.records)
    assert_text_answer(refused, 'fail')
    assert len(dynamodb_attempts) == sent_before
    assert table.order(order['order_id']) == created and table_items('EVENT#') == []
    monkeypatch.undo()
    assert_text_answer(notify(client, order), 'success')
    assert_text_answer(notify(client, order), 'success')
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('PAID', created['version'] + 1)
    assert len(table_items('EVENT#')) == 1


def test_the_deadline_is_the_functions_time_left_when_that_comes_first():
    class Context:
        def get_remaining_time_in_millis(self):
            return 15_000
    started = deadline.start(Context())
    try:
        assert 15 - deadline.MARGIN - 1 < deadline.left() <= 15 - deadline.MARGIN
    finally:
        deadline.end(started)
    assert deadline.left() is None
