"""Refunds: requested through the API or reported by a provider's notification.

The order keeps `refunded_amount` (settled) and `refund_pending_amount`
(asked for, not yet confirmed); a new refund is accepted only while
refunded + pending + new <= amount, checked in the same conditional write
that reserves it, so concurrent refund requests can never refund too much.
A refund_no names a refund for good: asking again with the same refund_no
(the provider's out_request_no / out_refund_no) never pays twice.

A refund the provider refused is marked FAILED and its amount released; if
that cannot be written (the order kept changing), the give-up is logged, the
request is answered 503 busy and the refund stays PENDING, reserved, until
the caller retries the same refund_no, which asks the provider (the same
refund number never refunds twice) and tries again. The same holds for a
refund the provider made that cannot be recorded as SUCCEEDED.
"""
import re
import secrets
from dataclasses import dataclass, replace

from chalicelib import checks, clock, events, ordermodel, orders, providers, retry
from chalicelib.errors import ApiError, ProviderError, conflict, invalid
from chalicelib.providers.contract import REFUND_FAILED, Refundable, Refusal, Rejected
from chalicelib.store import dynamo, notifications
from chalicelib.store import events as event_store
from chalicelib.store import orders as order_store

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
    provider = providers.capable(order['provider'], Refundable)
    if provider is None:
        raise ApiError(422, 'not_supported', f'{order["provider"]} has no refund API')
    provider.check_refund(orders.with_payer(order, payer), amount)
    existing = order_store.get_refund(order['out_trade_no'], refund_no)
    if existing is None:
        existing = _reserve(order, amount, reason, refund_no)
    elif existing['amount'] != amount:
        raise conflict('idempotency_conflict', f'refund {refund_no} exists with a different amount')
    if existing['refund_status'] != PENDING:
        return 200, view(existing)
    return _ask_provider(provider, order['out_trade_no'], existing, payer)


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
    out_trade_no = order['out_trade_no']
    refund = {'refund_no': refund_no, 'order_id': order['order_id'], 'out_trade_no': out_trade_no,
              'amount': amount, 'reason': reason, 'refund_status': PENDING,
              'created_at': clock.rfc3339(clock.now())}
    current = [order]

    def attempt():
        order = current[0]
        if order['status'] not in (ordermodel.PAID, ordermodel.REFUNDED):
            raise conflict('order_not_paid', f'order is {order["status"]}; only paid orders are refunded')
        pending = order.get('refund_pending_amount', 0)
        if order.get('refunded_amount', 0) + pending + amount > order['amount']:
            raise ApiError(422, 'refund_exceeds_amount', 'refunds would exceed the order amount', 'amount')
        try:
            outcome = order_store.commit(out_trade_no, order['version'],
                                         {'refund_pending_amount': pending + amount},
                                         [order_store.new_refund(refund)])
        except dynamo.Cancelled:
            return order_store.get_refund(out_trade_no, refund_no)
        if outcome == order_store.APPLIED:
            return refund
        current[0] = order_store.get(out_trade_no)
        return retry.AGAIN

    return retry.optimistic(attempt, f'order {order["order_id"]} (reserving refund {refund_no})')


def _ask_provider(provider, out_trade_no, refund, payer):
    order = order_store.get(out_trade_no)
    try:
        result = provider.refund(orders.with_payer(order, payer), refund)
    except ProviderError as exc:
        if exc.retryable:
            return 202, view(refund)
        _fail(out_trade_no, refund['refund_no'])
        raise ApiError(502, 'provider_error', f'{order["provider"]} refused the refund: {exc}') from None
    except Refusal:
        _fail(out_trade_no, refund['refund_no'])
        raise
    if not result.succeeded:
        return 202, view(refund)
    return 200, view(settle(out_trade_no, refund['refund_no'], result.provider_refund_id))


def settle(out_trade_no, refund_no, provider_refund_id=''):
    """Mark a PENDING refund SUCCEEDED and move its amount from pending to refunded."""
    def attempt():
        order = order_store.get(out_trade_no)
        refund = order_store.get_refund(out_trade_no, refund_no)
        if refund['refund_status'] != PENDING:
            return refund
        done = {'refund_status': SUCCEEDED, 'succeeded_at': clock.rfc3339(clock.now()),
                'provider_refund_id': provider_refund_id or None}
        fields = _order_fields(order, refund['amount'], -refund['amount'])
        event = _event(order, fields, {**refund, **done})
        outcome = _commit_refund(order, fields, done, refund_no, event)
        return {**refund, **done} if outcome == order_store.APPLIED else retry.AGAIN

    return retry.optimistic(attempt, f'order {out_trade_no} (settling refund {refund_no})')


def _fail(out_trade_no, refund_no):
    """Mark a refund the provider refused FAILED and release its amount; a concurrent retry
    of the same refund_no may have done it already."""
    def attempt():
        order = order_store.get(out_trade_no)
        refund = order_store.get_refund(out_trade_no, refund_no)
        if refund['refund_status'] != PENDING:
            return refund
        fields = {'refund_pending_amount': order.get('refund_pending_amount', 0) - refund['amount']}
        outcome = _commit_refund(order, fields, {'refund_status': FAILED}, refund_no)
        return refund if outcome == order_store.APPLIED else retry.AGAIN

    retry.optimistic(attempt, f'order {out_trade_no} (failing refund {refund_no})')


def _commit_refund(order, fields, refund_fields, refund_no, event=None):
    """The order's and the PENDING refund's change in one write; STALE when either moved."""
    extra = [order_store.pending_refund_update(order['out_trade_no'], refund_no, refund_fields)]
    if event:
        extra.extend(event_store.items(event))
    try:
        return order_store.commit(order['out_trade_no'], order['version'], fields, extra)
    except dynamo.Cancelled:
        return order_store.STALE


@dataclass(frozen=True)
class Change:
    """What a refund notification does: the order's fields, the refund item, the event."""
    fields: dict
    refund_item: tuple
    event: dict = None


@dataclass(frozen=True)
class NoChange:
    """A refund notification that changes nothing, and why."""
    reason: str


def apply_notification(provider_name, note, record):
    """A provider's refund notification applied exactly once (read, then a versioned write).
    Returns APPLIED, DUPLICATE or IGNORED; Rejected when it does not fit the order."""
    amount = note.refund_amount if note.refunded_total is None else note.refunded_total
    if not note.refund_no or not amount or amount < 1:
        checks.reject(record, Rejected(Rejected.MALFORMED, 'refund notification without refund number or amount'))

    def attempt():
        order = order_store.get(note.out_trade_no)
        checks.explain(record, note, order, checks.requirements(provider_name, note))
        change = _change_for_notification(order, note, clock.rfc3339(clock.now()))
        if isinstance(change, NoChange):
            return _nothing_to_do(record, change.reason)
        extra = [notifications.applied({**record, 'reason': events.ORDER_REFUNDED if change.event
                                        else note.kind}), change.refund_item]
        if change.event:
            extra.extend(event_store.items(change.event))
        outcome = order_store.commit(order['out_trade_no'], order['version'], change.fields, extra)
        return retry.AGAIN if outcome == order_store.STALE else outcome

    return retry.optimistic(attempt, f'order {note.out_trade_no} (refund {note.refund_no})')


def _nothing_to_do(record, reason):
    stored = notifications.get(record['provider'], record['key'])
    if notifications.was_applied(stored):
        notifications.count_repeat(record['provider'], record['key'], record['last_seen'])
        return order_store.DUPLICATE
    notifications.record({**record, 'verdict': checks.IGNORED, 'reason': reason})
    return checks.IGNORED


def _change_for_notification(order, note, now):
    """The Change a provider's refund notification causes to `order`, or NoChange."""
    if order['status'] not in (ordermodel.PAID, ordermodel.REFUNDED):
        return NoChange(f'refund reported for an order that is {order["status"]}')
    refund = order_store.get_refund(order['out_trade_no'], note.refund_no)
    if refund and refund['refund_status'] != PENDING:
        return NoChange(f'refund {note.refund_no} already {refund["refund_status"]}')
    if note.refund_amount is None:
        derived = _with_amount_from_total(order, refund, note)
        if isinstance(derived, NoChange):
            return derived
        note = derived
    if refund and refund['amount'] != note.refund_amount:
        return NoChange(f'refund {note.refund_no} is {refund["amount"]} fen, notification says '
                        f'{note.refund_amount}')
    if note.kind == REFUND_FAILED:
        return _failure_change(order, refund, note)
    done = {'refund_status': SUCCEEDED, 'succeeded_at': now,
            'provider_refund_id': note.provider_trade_no or None}
    if refund:
        fields = _order_fields(order, note.refund_amount, -note.refund_amount)
        item = order_store.pending_refund_update(order['out_trade_no'], note.refund_no, done)
    else:
        fields = _order_fields(order, note.refund_amount, 0)
        refund = {'refund_no': note.refund_no, 'order_id': order['order_id'],
                  'out_trade_no': order['out_trade_no'], 'amount': note.refund_amount,
                  'reason': 'reported by the provider', 'created_at': now}
        item = order_store.new_refund({**refund, **done})
    if fields['refunded_amount'] + fields['refund_pending_amount'] > order['amount']:
        return NoChange(f'refund {note.refund_no} would exceed the order amount')
    return Change(fields, item, _event(order, fields, {**refund, **done}))


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
        return NoChange(f'refunds of {note.refunded_total} fen in total are already recorded')
    return replace(note, refund_amount=note.refunded_total - known)


def _failure_change(order, refund, note):
    if refund is None:
        return NoChange(f'refund {note.refund_no} failed at the provider; it was not asked for here')
    fields = {'refund_pending_amount': order.get('refund_pending_amount', 0) - refund['amount']}
    return Change(fields, order_store.pending_refund_update(order['out_trade_no'], note.refund_no,
                                                            {'refund_status': FAILED}))


def _order_fields(order, refunded, pending_change):
    refunded_amount = order.get('refunded_amount', 0) + refunded
    status = ordermodel.REFUNDED if refunded_amount >= order['amount'] else order['status']
    return {'refunded_amount': refunded_amount, 'status': status,
            'refund_pending_amount': order.get('refund_pending_amount', 0) + pending_change}


def _event(order, fields, refund):
    return events.new_event(events.ORDER_REFUNDED,
                            {'order': ordermodel.view({**order, **fields}), 'refund': view(refund)},
                            events.order_subject(order['out_trade_no']))
