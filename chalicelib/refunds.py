"""Refunds: requested through the API or reported by a provider's notification.

The order keeps `refunded_amount` (settled) and `refund_pending_amount`
(asked for, not yet confirmed); a new refund is accepted only while
refunded + pending + new <= amount, checked in the same conditional write
that reserves it, so concurrent refund requests can never refund too much.
A refund_no names a refund for good: asking again with the same refund_no
(the provider's out_request_no / out_refund_no) never pays twice.
"""
import re
import secrets
from dataclasses import replace

from chalicelib import clock, events, orders, providers, store
from chalicelib.errors import ApiError, ProviderError, conflict, invalid

PENDING, SUCCEEDED, FAILED = 'PENDING', 'SUCCEEDED', 'FAILED'
REFUND_NO = re.compile(r'\A[0-9A-Za-z_\-|*]{6,64}\Z')
PUBLIC_FIELDS = ('refund_no', 'order_id', 'amount', 'reason', 'refund_status',
                 'created_at', 'succeeded_at', 'provider_refund_id')


def view(refund):
    shown = {name: refund.get(name) for name in PUBLIC_FIELDS}
    shown['status'] = shown.pop('refund_status')
    return shown


def create(order_id, body):
    """POST /orders/{id}/refunds. Returns (http_status, refund view)."""
    amount, reason, refund_no = _parse(body)
    payer = orders.payer_of(body)
    order = orders.get(order_id)
    provider = providers.load(order['provider'])
    if not hasattr(provider, 'refund'):
        raise ApiError(422, 'not_supported', f'{order["provider"]} has no refund API')
    if hasattr(provider, 'check_refund'):
        provider.check_refund(orders.with_payer(order, payer), amount)
    existing = store.get_refund(order_id, refund_no)
    if existing is None:
        existing = _reserve(order, amount, reason, refund_no)
    elif existing['amount'] != amount:
        raise conflict('idempotency_conflict', f'refund {refund_no} exists with a different amount')
    if existing['refund_status'] != PENDING:
        return 200, view(existing)
    return _ask_provider(provider, order_id, existing, payer)


def _parse(body):
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object')
    amount = body.get('amount')
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise invalid('amount must be a positive integer (fen)', 'amount')
    reason = body.get('reason', '')
    if not isinstance(reason, str) or len(reason) > 256:
        raise invalid('reason must be a string of at most 256 characters', 'reason')
    refund_no = body.get('refund_no') or 'rf' + secrets.token_hex(12)
    if not isinstance(refund_no, str) or not REFUND_NO.match(refund_no):
        raise invalid('refund_no must be 6-64 characters of 0-9 A-Z a-z _ - | *', 'refund_no')
    return amount, reason, refund_no


def _reserve(order, amount, reason, refund_no):
    """Record the refund as PENDING and reserve its amount on the order."""
    refund = {'refund_no': refund_no, 'order_id': order['order_id'], 'amount': amount,
              'reason': reason, 'refund_status': PENDING,
              'created_at': clock.rfc3339(clock.now())}
    for _ in range(20):
        if order['status'] not in (orders.PAID, orders.REFUNDED):
            raise conflict('order_not_paid', f'order is {order["status"]}; only paid orders are refunded')
        pending = order.get('refund_pending_amount', 0)
        if order.get('refunded_amount', 0) + pending + amount > order['amount']:
            raise ApiError(422, 'refund_exceeds_amount',
                           'refunds would exceed the order amount', 'amount')
        try:
            outcome = store.commit_change(order['order_id'], order['version'],
                                          {'refund_pending_amount': pending + amount},
                                          extra_items=[store.new_refund_item(refund)])
        except store.Cancelled:
            return store.get_refund(order['order_id'], refund_no)
        if outcome == store.APPLIED:
            return refund
        order = orders.get(order['order_id'])
    raise RuntimeError(f'order {order["order_id"]} kept changing while reserving a refund')


def _ask_provider(provider, order_id, refund, payer):
    order = orders.get(order_id)
    try:
        result = provider.refund(orders.with_payer(order, payer), refund)
    except ProviderError as exc:
        if exc.retryable:
            return 202, view(refund)
        _fail(order, refund['refund_no'])
        raise ApiError(502, 'provider_error', f'{order["provider"]} refused the refund: {exc}') from None
    if not result.succeeded:
        return 202, view(refund)
    settled = settle(order_id, refund['refund_no'], result.provider_refund_id)
    return 200, view(settled)


def settle(order_id, refund_no, provider_refund_id=''):
    """Mark a PENDING refund SUCCEEDED and move its amount from pending to refunded."""
    for _ in range(20):
        order = orders.get(order_id)
        refund = store.get_refund(order_id, refund_no)
        if refund['refund_status'] != PENDING:
            return refund
        now = clock.rfc3339(clock.now())
        done = {'refund_status': SUCCEEDED, 'succeeded_at': now,
                'provider_refund_id': provider_refund_id or None}
        fields = _order_fields(order, refund['amount'], -refund['amount'])
        event = _event(order, fields, {**refund, **done})
        outcome = store.commit_change(order_id, order['version'], fields, event,
                                      extra_items=[store.pending_refund_update(order_id, refund_no, done)])
        if outcome == store.APPLIED:
            return {**refund, **done}
    raise RuntimeError(f'order {order_id} kept changing while settling refund {refund_no}')


def _fail(order, refund_no):
    """Mark a refund the provider refused FAILED and release its amount; a concurrent retry
    of the same refund_no may have done it already."""
    for _ in range(20):
        refund = store.get_refund(order['order_id'], refund_no)
        if refund['refund_status'] != PENDING:
            return
        fields = {'refund_pending_amount': order.get('refund_pending_amount', 0) - refund['amount']}
        update = store.pending_refund_update(order['order_id'], refund_no, {'refund_status': FAILED})
        try:
            if store.commit_change(order['order_id'], order['version'], fields,
                                   extra_items=[update]) == store.APPLIED:
                return
        except store.Cancelled:
            pass
        order = orders.get(order['order_id'])
    raise RuntimeError(f'order {order["order_id"]} kept changing while failing refund {refund_no}')


def change_for_notification(order, note, now):
    """The orders.Change a provider's refund notification causes, or the reason it causes none."""
    if order['status'] not in (orders.PAID, orders.REFUNDED):
        return f'refund reported for an order that is {order["status"]}'
    refund = store.get_refund(order['order_id'], note.refund_no)
    if refund and refund['refund_status'] != PENDING:
        return f'refund {note.refund_no} already {refund["refund_status"]}'
    if note.refund_amount is None:
        note = _with_amount_from_total(order, refund, note)
        if isinstance(note, str):
            return note
    if refund and refund['amount'] != note.refund_amount:
        return f'refund {note.refund_no} is {refund["amount"]} fen, notification says {note.refund_amount}'
    if note.kind == providers.REFUND_FAILED:
        return _failure_change(order, refund, note)
    done = {'refund_status': SUCCEEDED, 'succeeded_at': now,
            'provider_refund_id': note.provider_trade_no or None}
    if refund:
        fields = _order_fields(order, note.refund_amount, -note.refund_amount)
        extra = store.pending_refund_update(order['order_id'], note.refund_no, done)
    else:
        fields = _order_fields(order, note.refund_amount, 0)
        refund = {'refund_no': note.refund_no, 'order_id': order['order_id'],
                  'amount': note.refund_amount, 'reason': 'reported by the provider',
                  'created_at': now}
        extra = store.new_refund_item({**refund, **done})
    if fields['refunded_amount'] + fields['refund_pending_amount'] > order['amount']:
        return f'refund {note.refund_no} would exceed the order amount'
    return orders.Change(fields, events.ORDER_REFUNDED, (extra,), {'refund': view({**refund, **done})})


def _with_amount_from_total(order, refund, note):
    """The note with this refund's amount, when the provider reported only its cumulative total.

    A refund asked for here keeps its own amount. Otherwise the refund is what
    the total adds to what the order already has refunded or reserved, so the
    order never records more than the provider says was refunded. Derived from
    the order as read for this attempt: a concurrent change makes the write
    stale and the derivation is made again.
    """
    if refund:
        return replace(note, refund_amount=refund['amount'])
    known = order.get('refunded_amount', 0) + order.get('refund_pending_amount', 0)
    if note.refunded_total <= known:
        return f'refunds of {note.refunded_total} fen in total are already recorded'
    return replace(note, refund_amount=note.refunded_total - known)


def _failure_change(order, refund, note):
    if refund is None:
        return f'refund {note.refund_no} failed at the provider; it was not asked for here'
    fields = {'refund_pending_amount': order.get('refund_pending_amount', 0) - refund['amount']}
    extra = store.pending_refund_update(order['order_id'], note.refund_no, {'refund_status': FAILED})
    return orders.Change(fields, extra_items=(extra,))


def _order_fields(order, refunded, pending_change):
    refunded_amount = order.get('refunded_amount', 0) + refunded
    status = orders.REFUNDED if refunded_amount >= order['amount'] else order['status']
    return {'refunded_amount': refunded_amount, 'status': status,
            'refund_pending_amount': order.get('refund_pending_amount', 0) + pending_change}


def _event(order, fields, refund):
    return events.new_event(events.ORDER_REFUNDED,
                            {'order': orders.view({**order, **fields}), 'refund': view(refund)})
