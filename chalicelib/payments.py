"""What a provider's verified word does to an order: paid, closed, refunded, exactly once.

Paid and closed are applied by one conditional write and no read
(store.orders.transition): the order, reached by the out_trade_no the
notification carries, must exist, be this provider's, hold the facts the
notification expects, have the amount it reports and be in a state the change
may leave; in the same transaction the notification is recorded as applied and
the event and its deliveries are written. A verified duplicate is that same
write refused by the notification record. Only a refusal is explained, from
the order as it stood, which DynamoDB returns with the refusal.

A second, different payment of a paid order is no duplicate: it is recorded
with an `order.paid_again` event, so the merchant can refund it. Refunds need
the order's running totals, so refunds.py reads before it writes.
"""
import logging

from chalicelib import checks, clock, events, ordermodel, refunds
from chalicelib.checks import IGNORED, Requirement
from chalicelib.providers.contract import CLOSED, PAID, REFUND_FAILED, REFUNDED
from chalicelib.store import dynamo, notifications
from chalicelib.store import events as event_store
from chalicelib.store import orders as order_store

log = logging.getLogger('paygate.notify')

APPLIED = order_store.APPLIED
DUPLICATE = order_store.DUPLICATE


def apply(provider_name, note, record):
    """Apply a verified Notification. Returns APPLIED, DUPLICATE or IGNORED; raises Rejected
    (after recording why) when the order refuses it."""
    if note.kind in (PAID, CLOSED):
        return _transition(provider_name, note, record)
    if note.kind in (REFUNDED, REFUND_FAILED):
        return refunds.apply_notification(provider_name, note, record)
    notifications.record({**record, 'verdict': IGNORED, 'reason': note.detail or 'nothing to do'})
    return IGNORED


def _transition(provider_name, note, record):
    now = clock.rfc3339(clock.now())
    if note.kind == PAID:
        allowed = ordermodel.PAYABLE
        snapshot = {'status': ordermodel.PAID, 'paid_at': now, 'paid_amount': note.amount,
                    'provider_trade_no': note.provider_trade_no or None, 'refunded_amount': 0,
                    **note.recorded}
        event_type = events.ORDER_PAID
    else:
        allowed = (ordermodel.CREATED,)
        snapshot = {'status': ordermodel.CLOSED, 'closed_at': now}
        event_type = events.ORDER_CLOSED
    required = checks.requirements(provider_name, note)
    status = Requirement('status', allowed, None)
    event = events.deferred_event(event_type, note.out_trade_no, snapshot)
    try:
        order_store.transition(note.out_trade_no, [(r.field, r.allowed) for r in [*required, status]],
                               {**snapshot, **ordermodel.LEAVES_OPEN},
                               [notifications.applied({**record, 'reason': event_type}),
                                *event_store.items(event)])
    except dynamo.Cancelled as cancelled:
        if cancelled.failed('notification') and notifications.was_applied(cancelled.old('notification')):
            return DUPLICATE
        if not cancelled.failed('order'):
            raise
        return _refused(note, record, cancelled.old('order'), required)
    return APPLIED


def _refused(note, record, order, required):
    """Why the order refused the change, from the order as it stood; recorded either way."""
    checks.explain(record, note, order, required)
    if note.kind == PAID and order['status'] in (ordermodel.PAID, ordermodel.REFUNDED) \
            and note.provider_trade_no and note.provider_trade_no != order.get('provider_trade_no'):
        return _paid_again(note, record, order)
    reason = f'order already {order["status"]}'
    notifications.record({**record, 'verdict': IGNORED, 'reason': reason})
    return IGNORED


def _paid_again(note, record, order):
    """A second payment of a paid order, by another trade: recorded with its event, exactly once."""
    log.warning('order %s paid again: trade %s after %s', order['order_id'], note.provider_trade_no,
                order.get('provider_trade_no'), extra={'provider': order['provider'], 'order_id': order['order_id'],
                                                       'event_id': note.event_id, 'outcome': 'paid_again'})
    event = events.new_event(events.ORDER_PAID_AGAIN, {
        'order': ordermodel.view(order),
        'paid_again': {'provider_trade_no': note.provider_trade_no,
                       'first_provider_trade_no': order.get('provider_trade_no'),
                       'amount': note.amount, 'paid_amount': note.recorded.get('paid_amount', note.amount)},
    }, events.order_subject(order['out_trade_no']))
    try:
        dynamo.transact([notifications.applied({**record, 'reason': events.ORDER_PAID_AGAIN}),
                         *event_store.items(event)])
    except dynamo.Cancelled as cancelled:
        if cancelled.failed('notification'):
            return DUPLICATE
        raise
    return APPLIED
