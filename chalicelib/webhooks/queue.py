"""The SQS queue that carries delayed webhook retries (and resends) to the worker when deployed.

A delivery's first attempt comes from the table's stream (worker.handle_stream);
only what must wait is sent here. Locally (and wherever
PAYGATE_WEBHOOK_QUEUE_URL is unset) nothing is sent: the delivery rows in
DynamoDB are the source of truth, and a sweep picks up what is due.
"""
import json

from chalicelib import aws, settings

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

