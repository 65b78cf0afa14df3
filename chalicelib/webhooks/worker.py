"""Entry points that drive deliveries: the SQS worker, the scheduled sweep, the local drain."""
import json
import logging
from datetime import timedelta

from chalicelib import clock
from chalicelib.webhooks import delivery, queue

log = logging.getLogger('paygate.webhooks')

# The sweep leaves fresh work to the queue; what is still due after this was lost on the way.
SWEEP_GRACE = timedelta(minutes=2)


def handle_message(body, now=None):
    """One SQS message {event_id, endpoint_id}: attempt it, and re-enqueue what comes next.

    SQS delays are at most 15 minutes, so a longer wait is a chain of messages
    that each find the delivery not yet due and send themselves on.
    """
    now = now or clock.now()
    message = json.loads(body)
    outcome = delivery.attempt(message['event_id'], message['endpoint_id'], now)
    if outcome.next_attempt is not None:
        wait = (outcome.next_attempt - now).total_seconds()
        queue.enqueue(message['event_id'], message['endpoint_id'], wait)
    return outcome


def sweep(now=None):
    """Scheduled: enqueue deliveries that are overdue (their message was lost or never sent)."""
    now = now or clock.now()
    overdue = delivery.due(now, SWEEP_GRACE)
    for event_id, endpoint_id in overdue:
        queue.enqueue(event_id, endpoint_id)
    return len(overdue)


def drain(now=None):
    """Attempt every due delivery here and now (the local run's worker; no queue involved)."""
    now = now or clock.now()
    return [delivery.attempt(event_id, endpoint_id, now) for event_id, endpoint_id in delivery.due(now)]
