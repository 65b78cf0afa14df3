"""Entry points that drive deliveries: the table's stream, the SQS retry worker, the scheduled
sweep, and the local run's drain."""
import json
import logging
from datetime import timedelta

from chalicelib import clock
from chalicelib.webhooks import delivery, queue

log = logging.getLogger('paygate.webhooks')

# The sweep leaves fresh work to the stream and the queue; what is still due after this was lost.
SWEEP_GRACE = timedelta(minutes=2)
DELIVERY_PREFIX = 'DELIVERY#'


def handle_stream(keys, now=None):
    """New delivery rows from the table's stream (the trigger filters for them): first attempts.

    `keys` are the records' DynamoDB keys ({'pk': {'S': 'EVENT#<event_id>'},
    'sk': {'S': 'DELIVERY#<endpoint_id>'}}); anything else is skipped. A failed
    attempt is retried through the queue.
    """
    now = now or clock.now()
    outcomes = []
    for key in keys:
        pk, sk = (key.get(name, {}).get('S', '') for name in ('pk', 'sk'))
        if pk.startswith('EVENT#') and sk.startswith(DELIVERY_PREFIX):
            outcomes.append(_attempt(pk[len('EVENT#'):], sk[len(DELIVERY_PREFIX):], now))
    return outcomes


def handle_message(body, now=None):
    """One SQS message {event_id, endpoint_id}: attempt it, and re-enqueue what comes next.

    SQS delays are at most 15 minutes, so a longer wait is a chain of messages
    that each find the delivery not yet due and send themselves on.
    """
    message = json.loads(body)
    return _attempt(message['event_id'], message['endpoint_id'], now or clock.now())


def _attempt(event_id, endpoint_id, now):
    outcome = delivery.attempt(event_id, endpoint_id, now)
    if outcome.next_attempt is not None:
        queue.enqueue(event_id, endpoint_id, (outcome.next_attempt - now).total_seconds())
    return outcome


def sweep(now=None):
    """Scheduled: enqueue deliveries that are overdue (their first attempt or message was lost)."""
    now = now or clock.now()
    overdue = delivery.due(now, SWEEP_GRACE)
    for event_id, endpoint_id in overdue:
        queue.enqueue(event_id, endpoint_id)
    return len(overdue)


def drain(now=None):
    """Attempt every due delivery here and now (the local run's worker; no queue involved)."""
    now = now or clock.now()
    return [delivery.attempt(event_id, endpoint_id, now) for event_id, endpoint_id in delivery.due(now)]
