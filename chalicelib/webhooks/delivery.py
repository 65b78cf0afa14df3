"""Delivering one event to one endpoint, and the retry schedule.

A delivery is a row in DynamoDB (pending / delivered / failed) that sits in
the `work` index while it is due. Whoever attempts it first claims it with a
short lease, POSTs the event, records the attempt, and either marks it
delivered, schedules the next attempt, or, after the last one, marks it
failed (kept, visible in GET /events?delivered=false, resendable).
"""
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import clock, events, outbound
from chalicelib.errors import ProviderError
from chalicelib.store import deliveries as delivery_store
from chalicelib.store import events as event_store
from chalicelib.webhooks import endpoints, signature

log = logging.getLogger('paygate.webhooks')

# Seconds to wait after the 1st, 2nd, ... failed attempt: 9 attempts over ~26.6 h.
SCHEDULE = (60, 300, 1800, 7200, 21600, 21600, 21600, 21600)
JITTER = 0.1
LEASE = timedelta(seconds=60)
TIMEOUT = (3.05, 10)
SNIPPET = 300

PENDING, DELIVERED, FAILED = 'pending', 'delivered', 'failed'


@dataclass(frozen=True)
class Outcome:
    state: str
    next_attempt: datetime = None


def retry_delay(failed_attempts, rng=random.random):
    """Seconds until the next attempt after `failed_attempts` failures; None when it was the last."""
    if failed_attempts > len(SCHEDULE):
        return None
    base = SCHEDULE[failed_attempts - 1]
    return int(base * (1 - JITTER + 2 * JITTER * rng()))


def attempt(event_id, endpoint_id, now=None):
    """Try one delivery if it is due and nobody else is on it. Returns an Outcome whose
    state is delivered, pending (retry at next_attempt), failed, not_due, busy or gone."""
    now = now or clock.now()
    delivery = delivery_store.get(event_id, endpoint_id)
    if delivery is None or delivery['state'] != PENDING:
        return Outcome('gone')
    due = clock.parse_rfc3339(delivery['due_at'])
    if due > now:
        return Outcome('not_due', due)
    if not delivery_store.lease(event_id, endpoint_id, clock.rfc3339(now), clock.rfc3339(now + LEASE)):
        return Outcome('busy')
    endpoint = endpoints.by_id(endpoint_id)
    event = event_store.get(event_id)
    if endpoint is None:
        result = {'status': None, 'latency_ms': 0, 'response': 'endpoint no longer configured'}
        return _finish(delivery, now, result, give_up=True)
    return _finish(delivery, now, _post(endpoint, event, now))


def _post(endpoint, event, now):
    payload = events.payload(event).encode('utf-8')
    headers = {'Content-Type': 'application/json', 'User-Agent': 'Paygate-Webhooks/1',
               'Paygate-Event-Id': event['id'],
               'Paygate-Signature': signature.header(payload, endpoint.secrets, int(now.timestamp()))}
    started = time.monotonic()
    try:
        reply = outbound.request('POST', endpoint.url, data=payload, headers=headers,
                                 timeout=TIMEOUT, allow_redirects=False)
    except ProviderError as exc:
        return {'status': None, 'latency_ms': _ms(started), 'response': exc.code or str(exc)}
    return {'status': reply.status_code, 'latency_ms': _ms(started), 'response': reply.text[:SNIPPET]}


def _ms(started):
    return int((time.monotonic() - started) * 1000)


def _finish(delivery, now, result, give_up=False):
    number = delivery['attempts'] + 1
    succeeded = result['status'] is not None and 200 <= result['status'] < 300
    delay = None if (succeeded or give_up) else retry_delay(number)
    at = clock.rfc3339(now)
    fields = {'attempts': number, 'last_status': result['status'], 'last_attempt_at': at,
              'lease_until': None}
    counters = {}
    if succeeded:
        fields.update(state=DELIVERED, delivered_at=at, work_pk=None, work_at=None)
        counters = {'pending_deliveries': -1}
        outcome = Outcome(DELIVERED)
    elif delay is None:
        fields.update(state=FAILED, work_pk=None, work_at=None)
        counters = {'pending_deliveries': -1, 'failed_deliveries': 1}
        outcome = Outcome(FAILED)
        log.warning('webhook for event %s to %s failed for good after %d attempts', delivery['event_id'],
                    delivery['endpoint_id'], number, extra={'event_id': delivery['event_id'], 'outcome': 'failed'})
    else:
        due = now + timedelta(seconds=delay)
        fields.update(due_at=clock.rfc3339(due), work_at=clock.rfc3339(due))
        outcome = Outcome(PENDING, due)
    delivery_store.finish_attempt(delivery['event_id'], delivery['endpoint_id'], fields,
                         {'number': number, 'at': at, 'endpoint_id': delivery['endpoint_id'], **result},
                         counters)
    return outcome


def due(now, grace=timedelta(0), limit=100):
    """(event_id, endpoint_id) of deliveries due `grace` before `now`."""
    found = delivery_store.due(clock.rfc3339(now - grace), limit)
    return [(item['event_id'], item['endpoint_id']) for item in found]
