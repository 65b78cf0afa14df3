"""Webhook deliveries in the table: one row per event and endpoint, its lease, its attempts.

A pending delivery sits in the `work` index (kind WEBHOOK) until it is
delivered or fails for good; whoever attempts it first claims it with a
short lease, so concurrent workers never post it twice at once.
"""
import secrets

from chalicelib.store import dynamo, work
from chalicelib.store.events import WEBHOOK_WORK, event_key

PENDING = 'pending'


def delivery_key(event_id, endpoint_id):
    return dynamo.key(f'EVENT#{event_id}', f'DELIVERY#{endpoint_id}')


def get(event_id, endpoint_id):
    return dynamo.get(delivery_key(event_id, endpoint_id))


def due(until, limit=100):
    """Deliveries due at or before `until` (RFC 3339), oldest first."""
    return work.due(WEBHOOK_WORK, until, limit)


def lease(event_id, endpoint_id, now, until):
    """Claim a pending delivery until `until`, unless someone holds an unexpired claim."""
    expression = dynamo.Expression()
    lease_until = expression.name('lease_until')
    condition = (f'{expression.equals("state", PENDING)} AND (attribute_not_exists({lease_until}) '
                 f'OR {lease_until} < {expression.value(now)})')
    try:
        dynamo.write_update(dynamo.update(delivery_key(event_id, endpoint_id), {'lease_until': until},
                                          condition, expression))
    except dynamo.ConditionFailed:
        return False
    return True


def finish_attempt(event_id, endpoint_id, delivery_fields, attempt, counters):
    """Record an attempt and its outcome: the delivery, the attempt, the event's counters."""
    named = [
        ('delivery', {'Update': dynamo.update(delivery_key(event_id, endpoint_id), delivery_fields)}),
        ('attempt', {'Put': dynamo.put({
            'pk': f'EVENT#{event_id}',
            'sk': f'ATTEMPT#{endpoint_id}#{attempt["at"]}#{attempt["number"]}#{secrets.token_hex(4)}',
            **attempt})}),
    ]
    if counters:
        named.append(('event', {'Update': dynamo.update(event_key(event_id), {}, add=counters)}))
    dynamo.transact(named)


def reset(event_id, deliveries, counters):
    """Write `deliveries` afresh, pending and due (resend), and set the event's counters."""
    named = [(f'delivery:{d["endpoint_id"]}', {'Put': dynamo.put({
        'pk': f'EVENT#{event_id}', 'sk': f'DELIVERY#{d["endpoint_id"]}', **d,
        'work_pk': WEBHOOK_WORK, 'work_at': d['due_at']})}) for d in deliveries]
    named.append(('event', {'Update': dynamo.update(event_key(event_id), counters, 'attribute_exists(pk)')}))
    dynamo.transact(named)
