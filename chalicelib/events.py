"""Events for the merchant's webhooks (API.md "Events and webhooks")."""
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


def new_event(event_type, data):
    """An event item, ready to be written in the same transaction as its cause."""
    event_id = 'evt_' + secrets.token_hex(12)
    created_at = clock.rfc3339(clock.now())
    body = {'id': event_id, 'type': event_type, 'created_at': created_at, 'data': data}
    return {'id': event_id, 'type': event_type, 'created_at': created_at,
            'order_id': data.get('order', {}).get('order_id'),
            'payload': json.dumps(body, ensure_ascii=False, separators=(',', ':'), sort_keys=True),
            'delivery_status': PENDING}
