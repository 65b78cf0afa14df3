"""The SQS queue that carries deliveries to the webhook worker when deployed.

Locally (and wherever PAYGATE_WEBHOOK_QUEUE_URL is unset) nothing is sent: the
delivery rows in DynamoDB are the source of truth and a sweep picks them up.
"""
import json
import logging

from chalicelib import aws, settings

log = logging.getLogger('paygate.webhooks')
MAX_DELAY = 900


def enqueue(event_id, endpoint_id, delay_seconds=0):
    """Ask the worker to attempt a delivery after `delay_seconds` (SQS allows 15 min at most)."""
    url = settings.get().webhook_queue_url
    if not url:
        return False
    aws.client('sqs').send_message(
        QueueUrl=url, DelaySeconds=max(0, min(MAX_DELAY, int(delay_seconds))),
        MessageBody=json.dumps({'event_id': event_id, 'endpoint_id': endpoint_id}))
    return True


def announce(event):
    """Enqueue a just-committed event's deliveries. A failure here loses nothing: the
    delivery rows are already stored and the scheduled sweep enqueues what is due."""
    for delivery in event.get('deliveries', ()):
        try:
            enqueue(event['id'], delivery['endpoint_id'])
        except Exception:
            log.warning('could not enqueue event %s for %s; the sweep will', event['id'],
                        delivery['endpoint_id'], exc_info=True)
