"""Webhook delivery: success, failures, the retry schedule, dead letters, resend, lost enqueues."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from chalicelib import aws, clock, events, events_api
from chalicelib.webhooks import delivery, worker
from localdev.ports import free_port
from tests import table
from tests.codepay_fixtures import expect_create
from tests.helpers import FORM, SECRET, body_json, codepay_notification, form_body, post_json
from tests.test_webhook_signature import independent

HOOK = 'https://merchant.test/paygate'
T0 = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)


def configure(env, url=HOOK, secrets=('whsec_one',), events_wanted=('*',)):
    env.setenv('PAYGATE_WEBHOOKS', json.dumps([{'id': 'main', 'url': url, 'secrets': list(secrets),
                                                 'events': list(events_wanted)}]))
    from chalicelib import settings
    settings.reset()


@pytest.fixture
def hooks(paygate_env, moto_table, monkeypatch):
    configure(paygate_env)
    monkeypatch.setattr(clock, 'now', lambda: T0)


def new_paid_event(order_id='ord_1'):
    event = events.new_event(events.ORDER_PAID, {'order': {'order_id': order_id, 'status': 'PAID'}},
                             events.order_subject('trade1'))
    table.put_event(event)
    return event


def check_signed(request, payload, now=T0, secret='whsec_one'):
    header = request.headers['Paygate-Signature']
    timestamp = int(now.timestamp())
    assert header == f't={timestamp},v1={independent(secret, timestamp, payload)}'


def test_a_paid_notification_becomes_a_signed_delivery(paygate_env, moto_table, monkeypatch, app_module):
    configure(paygate_env)
    import responses as responses_lib
    from chalice.test import Client
    with responses_lib.RequestsMock() as http:
        expect_create(http)
        with Client(app_module.app, stage_name='test') as client:
            order = body_json(post_json(client, '/orders', {'provider': 'codepay', 'product_id': 'gold_60',
                                                            'payer': {'channel': 'alipay'}}))
            client.http.post('/notify/codepay', headers=FORM,
                             body=form_body(codepay_notification(order['out_trade_no'])))
        http.add('POST', HOOK, body='ok')
        [outcome] = worker.drain()
        assert outcome.state == 'delivered'
        sent = http.calls[-1].request
    payload = json.loads(sent.body)
    assert payload['type'] == 'order.paid' and payload['data']['order']['order_id'] == order['order_id']
    stored = table.event(payload['id'])
    assert sent.body == stored['payload'].encode('utf-8')
    assert sent.headers['Paygate-Event-Id'] == payload['id']
    assert sent.headers['Content-Type'] == 'application/json'
    now = datetime.now(timezone.utc)
    ts = int(sent.headers['Paygate-Signature'].split(',')[0][2:])
    assert abs(ts - now.timestamp()) < 60
    assert sent.headers['Paygate-Signature'].endswith(independent('whsec_one', ts, sent.body))
    assert events.delivery_status(table.event(payload['id'])) == 'delivered'


def test_success_is_recorded_with_the_attempt(hooks, http_mock):
    event = new_paid_event()
    http_mock.add('POST', HOOK, body='thanks', status=202)
    assert delivery.attempt(event['id'], 'main').state == 'delivered'
    check_signed(http_mock.calls[0].request, event['payload'].encode())
    detail = events_api.get_event(event['id'])
    assert detail['delivery_status'] == 'delivered'
    assert detail['deliveries'][0]['state'] == 'delivered' and detail['deliveries'][0]['attempts'] == 1
    [attempt] = detail['attempts']
    assert (attempt['status'], attempt['number'], attempt['at']) == (202, 1, '2026-11-22T08:00:00Z')
    assert attempt['response'] == 'thanks'
    assert attempt['latency_ms'] >= 0
    assert delivery.attempt(event['id'], 'main').state == 'gone'
    assert len(http_mock.calls) == 1


@pytest.mark.parametrize('failure, recorded', [
    ({'status': 500, 'body': 'boom'}, (500, 'boom')),
    ({'status': 302, 'headers': {'Location': 'https://elsewhere.test'}}, (302, '')),
    ({'body': requests.Timeout('slow')}, (None, 'timeout')),
    ({'body': requests.ConnectionError('refused')}, (None, 'unreachable')),
])
def test_failures_are_retried_a_minute_later(hooks, http_mock, failure, recorded):
    event = new_paid_event()
    http_mock.add('POST', HOOK, **failure)
    outcome = delivery.attempt(event['id'], 'main')
    assert outcome.state == 'pending'
    assert timedelta(seconds=54) <= outcome.next_attempt - T0 <= timedelta(seconds=66)
    row = table.delivery(event['id'], 'main')
    assert (row.get('last_status'), row['attempts']) == (recorded[0], 1)
    attempt = events_api.get_event(event['id'])['attempts'][0]
    assert (attempt['status'], attempt['response']) == recorded
    assert delivery.attempt(event['id'], 'main', T0 + timedelta(seconds=30)).state == 'not_due'
    assert len(http_mock.calls) == 1


def test_retry_schedule_spans_a_day_then_the_delivery_is_dead_lettered(hooks, http_mock):
    event = new_paid_event()
    http_mock.add('POST', HOOK, status=503)
    now, delays = T0, []
    while True:
        outcome = delivery.attempt(event['id'], 'main', now)
        if outcome.state != 'pending':
            break
        delays.append((outcome.next_attempt - now).total_seconds())
        now = outcome.next_attempt
    assert outcome.state == 'failed'
    assert len(http_mock.calls) == 9
    for delay, base in zip(delays, delivery.SCHEDULE):
        assert base * 0.9 <= delay <= base * 1.1
    assert now - T0 >= timedelta(hours=24)
    stored = table.event(event['id'])
    assert events.delivery_status(stored) == 'failed'
    assert table.due_deliveries('9999') == []
    assert delivery.attempt(event['id'], 'main', now + timedelta(days=1)).state == 'gone'


def test_resend_after_dead_letter_delivers_again(hooks, http_mock, client):
    event = new_paid_event()
    http_mock.add('POST', HOOK, status=500)
    now = T0
    while (outcome := delivery.attempt(event['id'], 'main', now)).state == 'pending':
        now = outcome.next_attempt
    http_mock.replace('POST', HOOK, status=200)
    response = client.http.post(f'/events/{event["id"]}/resend', headers=SECRET, body=b'')
    assert response.status_code == 202
    assert body_json(response)['delivery_status'] == 'pending'
    assert delivery.attempt(event['id'], 'main').state == 'delivered'
    assert events.delivery_status(table.event(event['id'])) == 'delivered'
    assert len(body_json(client.http.get(f'/events/{event["id"]}', headers=SECRET))['attempts']) == 10


def test_only_endpoints_that_want_the_type_get_it(paygate_env, moto_table, http_mock):
    configure(paygate_env, events_wanted=('instance.*',))
    event = new_paid_event()
    assert event['deliveries'] == [] and worker.drain() == []
    assert events.delivery_status(table.event(event['id'])) == 'no_endpoints'


@pytest.fixture
def sqs_queue(paygate_env, moto_table):
    url = aws.client('sqs').create_queue(QueueName='paygate-webhooks')['QueueUrl']
    paygate_env.setenv('PAYGATE_WEBHOOK_QUEUE_URL', url)
    configure(paygate_env)
    return url


def received(url):
    reply = aws.client('sqs').receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m['Body']) for m in reply.get('Messages', [])]


def sent_delays(monkeypatch):
    """Record the DelaySeconds of every message sent to SQS (the calls still go to moto)."""
    delays = []
    sqs = aws.client('sqs')
    original = sqs.send_message

    def send_message(**kwargs):
        delays.append(kwargs['DelaySeconds'])
        return original(**kwargs)

    monkeypatch.setattr(sqs, 'send_message', send_message)
    return delays


def stream_event(event_id, endpoint_id='main', sk=None):
    """What the table's stream hands the trigger for a new row (KEYS_ONLY)."""
    return {'Records': [{
        'eventID': '1', 'eventName': 'INSERT', 'eventVersion': '1.1', 'eventSource': 'aws:dynamodb',
        'awsRegion': 'us-east-1', 'eventSourceARN': 'arn:aws:dynamodb:us-east-1:1:table/t/stream/x',
        'dynamodb': {'Keys': {'pk': {'S': f'EVENT#{event_id}'}, 'sk': {'S': sk or f'DELIVERY#{endpoint_id}'}},
                     'ApproximateCreationDateTime': 1763798400, 'SequenceNumber': '1', 'SizeBytes': 60,
                     'StreamViewType': 'KEYS_ONLY'}}]}


def test_the_stream_makes_first_attempts_and_the_queue_carries_retries(sqs_queue, http_mock, monkeypatch,
                                                                          app_module):
    """Nothing is sent to SQS when the event is committed: the new delivery row in the table's
    stream triggers the first attempt; only a retry waits in the queue."""
    from chalice.test import Client
    monkeypatch.setattr(clock, 'now', lambda: T0)
    event = new_paid_event()
    assert received(sqs_queue) == []
    delays = sent_delays(monkeypatch)
    http_mock.add('POST', HOOK, status=500)
    with Client(app_module.app, stage_name='test') as client:
        client.lambda_.invoke('deliver_new_events', stream_event(event['id']))
        client.lambda_.invoke('deliver_new_events', stream_event(event['id'], sk='EVENT'))
    assert len(http_mock.calls) == 1 and len(delays) == 1 and 54 <= delays[0] <= 66
    message = {'event_id': event['id'], 'endpoint_id': 'main'}   # visible in the queue after its delay
    http_mock.replace('POST', HOOK, status=200)
    assert worker.handle_message(json.dumps(message), T0 + timedelta(seconds=delays[0])).state == 'delivered'
    assert len(delays) == 1


def test_a_lost_first_attempt_is_swept(sqs_queue, http_mock, monkeypatch):
    """The stream's trigger never ran (or failed for good): the sweep finds the delivery."""
    monkeypatch.setattr(clock, 'now', lambda: T0)
    new_paid_event()
    monkeypatch.undo()
    assert received(sqs_queue) == []
    assert worker.sweep(T0 + timedelta(minutes=1)) == 0
    assert worker.sweep(T0 + timedelta(minutes=3)) == 1
    [message] = received(sqs_queue)
    http_mock.add('POST', HOOK, body='ok')
    assert worker.handle_message(json.dumps(message), T0 + timedelta(minutes=3)).state == 'delivered'


def test_long_waits_are_chained_in_fifteen_minute_messages(sqs_queue, http_mock, monkeypatch):
    monkeypatch.setattr(clock, 'now', lambda: T0)
    event = new_paid_event()
    message = json.dumps({'event_id': event['id'], 'endpoint_id': 'main'})
    http_mock.add('POST', HOOK, status=500)
    delays = sent_delays(monkeypatch)
    now = clock.now()
    for _ in range(4):
        now = worker.handle_message(message, now).next_attempt
    assert delays[:3] == sorted(delays[:3]) and delays[3] == 900
    due = table.delivery(event['id'], 'main')['due_at']
    early = worker.handle_message(message, now - timedelta(hours=1))
    assert early.state == 'not_due' and delays[-1] == 900
    late_chain = worker.handle_message(message, now - timedelta(minutes=5))
    assert late_chain.state == 'not_due' and delays[-1] == 300
    assert table.delivery(event['id'], 'main')['due_at'] == due
    assert len(http_mock.calls) == 4


class Receiver:
    """A merchant's webhook endpoint on 127.0.0.1 that can be down for a while."""

    def __init__(self):
        self.up = False
        self.seen = []
        self.now = None  # the simulated time, for the signature's 5-minute window
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                header = self.headers['Paygate-Signature']
                from chalicelib.webhooks.signature import verify
                ok = receiver.up and verify(body, header, 'whsec_one', now=receiver.now.timestamp())
                if ok:
                    receiver.seen.append(json.loads(body)['id'])
                self.send_response(200 if ok else 503)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', free_port()), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_port}/hooks'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_receiver_down_for_hours_gets_every_event_once_when_back(paygate_env, any_table):
    with Receiver() as receiver:
        configure(paygate_env, url=receiver.url)
        made = [new_paid_event(f'ord_{n}')['id'] for n in range(5)]
        now = clock.now()
        for _ in range(5):
            receiver.now = now
            with ThreadPoolExecutor(max_workers=3) as pool:
                list(pool.map(lambda _: worker.drain(now), range(3)))
            now += timedelta(hours=2, minutes=30)
        assert receiver.seen == []
        receiver.up = True
        for _ in range(3):
            now += timedelta(hours=6, minutes=40)
            receiver.now = now
            with ThreadPoolExecutor(max_workers=3) as pool:
                list(pool.map(lambda _: worker.drain(now), range(3)))
        assert sorted(receiver.seen) == sorted(made)
        assert worker.drain(now + timedelta(days=2)) == []
        assert sorted(receiver.seen) == sorted(made)
