"""Compensation: do not depend on providers' notifications alone.

Run on a schedule (and locally by the run command's worker): orders still
CREATED a few minutes after creation are queried at their provider and marked
PAID if it says so (through the same checks and exactly-once write as a
notification); orders past their expiry are closed at the provider and here.
"""
import logging
from datetime import timedelta

from chalicelib import clock, notifications, ordermodel, orders, payments, providers, retry, settings
from chalicelib.errors import ApiError, ProviderError
from chalicelib.providers.contract import PAID, Queryable, Refusal
from chalicelib.store import orders as order_store

log = logging.getLogger('paygate.compensation')

# Leave the provider's own notification a few minutes to arrive first.
QUERY_AFTER = timedelta(minutes=5)
BATCH = 200


def run():
    """One pass over open orders. Returns counts of what it did.

    The time is the clock's (chalicelib.clock), which the providers' close rules read too."""
    now = clock.now()
    done = {'checked': 0, 'paid': 0, 'closed': 0, 'errors': 0}
    for order in order_store.open_orders(clock.rfc3339(now - QUERY_AFTER), BATCH):
        done['checked'] += 1
        try:
            result = _compensate(order, now)
        except (ProviderError, ApiError, Refusal, retry.Contention) as exc:
            log.warning('compensation for order %s: %s', order['order_id'], exc,
                        extra={'order_id': order['order_id'], 'provider': order['provider'], 'outcome': 'error'})
            result = 'errors'
        if result:
            done[result] += 1
    return done


def _compensate(order, now):
    if order['provider'] not in settings.get().providers:
        return None
    provider = providers.capable(order['provider'], Queryable)
    if provider is not None:
        note = provider.query(order)
        if note is not None:
            outcome = notifications.apply_query_result(order['provider'], note)
            log.info('order %s: %s says %s (%s)', order['order_id'], order['provider'], note.kind, outcome,
                     extra={'order_id': order['order_id'], 'provider': order['provider'], 'outcome': outcome})
            if outcome == payments.APPLIED and note.kind == PAID:
                return 'paid'
            if order_store.get(order['out_trade_no'])['status'] != ordermodel.CREATED:
                return None
    if clock.parse_rfc3339(order['expires_at']) <= now:
        orders.close(order['order_id'])
        return 'closed'
    return None
