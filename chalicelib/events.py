"""Events for the merchant's webhooks (API.md "Events and webhooks").

An event is written in the same transaction as the change that causes it,
together with one pending delivery per webhook endpoint that wants it, so a
crash can lose neither the event nor the duty to deliver it.
"""
import json
import secrets

from chalicelib import clock

ORDER_PAID = 'order.paid'
ORDER_CLOSED = 'order.closed'
ORDER_REFUNDED = 'order.refunded'
INSTANCE_CREATED = 'instance.created'
INSTANCE_RENEWED = 'instance.renewed'
INSTANCE_MODIFIED = 'instance.modified'
INSTANCE_EXPIRED = 'instance.expired'
INSTANCE_DESTROYED = 'instance.destroyed'

PENDING = 'pending'


def new_event(event_type, data, subject=None):
    """An event ready to be written with its cause; `subject` defaults to the order id."""
    from chalicelib.webhooks import endpoints
    event_id = 'evt_' + secrets.token_hex(12)
    created_at = clock.rfc3339(clock.now())
    body = {'id': event_id, 'type': event_type, 'created_at': created_at, 'data': data}
    wanted = endpoints.for_event(event_type)
    return {
        'id': event_id, 'type': event_type, 'created_at': created_at,
        'subject': subject or data.get('order', {}).get('order_id', ''),
        'payload': json.dumps(body, ensure_ascii=False, separators=(',', ':'), sort_keys=True),
        'endpoint_count': len(wanted), 'pending_deliveries': len(wanted), 'failed_deliveries': 0,
        'deliveries': [{'event_id': event_id, 'endpoint_id': e.id, 'state': PENDING,
                        'attempts': 0, 'due_at': created_at} for e in wanted],
    }


def announce(event):
    """After commit: hand the event's deliveries to the webhook queue (when there is one)."""
    if event.get('deliveries'):
        from chalicelib.webhooks import queue
        queue.announce(event)


def delivery_status(event):
    if event.get('failed_deliveries', 0) > 0:
        return 'failed'
    if event.get('pending_deliveries', 0) > 0:
        return PENDING
    return 'delivered' if event.get('endpoint_count', 0) else 'no_endpoints'


def view(event):
    """The event as the API shows it."""
    body = json.loads(event['payload'])
    return {**body, 'delivery_status': delivery_status(event)}
