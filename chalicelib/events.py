"""Events for the merchant's webhooks: what each one says, and its deliveries.

An event is written in the same transaction as the change that causes it,
together with one pending delivery per webhook endpoint that wants it, so a
crash can lose neither the event nor the duty to deliver it.

Most events carry their payload from the start. A notification that pays or
closes an order is applied by one conditional write that never reads the
order (payments.py); its event carries the order's key and what the change
set (`snapshot`) instead, and the payload is rendered from the order on its
first read and kept. The fields an order can change after that (status,
refunded_amount) are in the snapshot, the rest never change once set, so
every render gives the same bytes.
"""
import json
import secrets
from datetime import timezone

from chalicelib import clock, ordermodel

ORDER_PAID = 'order.paid'
ORDER_PAID_AGAIN = 'order.paid_again'
ORDER_CLOSED = 'order.closed'
ORDER_REFUNDED = 'order.refunded'
INSTANCE_CREATED = 'instance.created'
INSTANCE_RENEWED = 'instance.renewed'
INSTANCE_MODIFIED = 'instance.modified'
INSTANCE_EXPIRED = 'instance.expired'
INSTANCE_DESTROYED = 'instance.destroyed'

PENDING = 'pending'
# Where an event stands in listings: its time to the microsecond, then its id.
POSITION_TIME = '%Y-%m-%dT%H:%M:%S.%fZ'


def order_subject(out_trade_no):
    """The subject events of an order are listed under (GET /events?order_id=...)."""
    return f'ORDER#{out_trade_no}'


def instance_subject(sign_id):
    return f'INSTANCE#{sign_id}'


def new_event(event_type, data, subject):
    """An event ready to be written with its cause, its payload complete."""
    event = _envelope(event_type, subject)
    event['payload'] = _payload(event, data)
    return event


def deferred_event(event_type, out_trade_no, snapshot):
    """An order's event whose payload is rendered later from the order and `snapshot`."""
    return {**_envelope(event_type, order_subject(out_trade_no)), 'order_key': out_trade_no,
            'snapshot': snapshot}


def _envelope(event_type, subject):
    from chalicelib.webhooks import endpoints
    event_id = 'evt_' + secrets.token_hex(12)
    now = clock.now()
    created_at = clock.rfc3339(now)
    wanted = endpoints.for_event(event_type)
    return {
        'id': event_id, 'type': event_type, 'created_at': created_at, 'subject': subject,
        'position': f'{now.astimezone(timezone.utc).strftime(POSITION_TIME)}#{event_id}',
        'endpoint_count': len(wanted), 'pending_deliveries': len(wanted), 'failed_deliveries': 0,
        'deliveries': [{'event_id': event_id, 'endpoint_id': e.id, 'state': PENDING,
                        'attempts': 0, 'due_at': created_at} for e in wanted],
    }


def _payload(event, data):
    body = {'id': event['id'], 'type': event['type'], 'created_at': event['created_at'], 'data': data}
    return json.dumps(body, ensure_ascii=False, separators=(',', ':'), sort_keys=True)


def payload(event):
    """The event's JSON text as webhooks send it; rendered (and kept) on first use when deferred."""
    if event.get('payload'):
        return event['payload']
    from chalicelib.store import events as event_store
    from chalicelib.store import orders as order_store
    order = order_store.get(event['order_key']) or {}
    text = _payload(event, {'order': ordermodel.view({**order, **event['snapshot']})})
    event_store.save_payload(event['id'], text)
    return text


def delivery_status(event):
    if event.get('failed_deliveries', 0) > 0:
        return 'failed'
    if event.get('pending_deliveries', 0) > 0:
        return PENDING
    return 'delivered' if event.get('endpoint_count', 0) else 'no_endpoints'


def view(event):
    """The event as the API shows it."""
    return {**json.loads(payload(event)), 'delivery_status': delivery_status(event)}
