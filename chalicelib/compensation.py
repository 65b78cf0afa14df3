"""Compensation: do not depend on providers' notifications alone.

Run on a schedule (and locally by `make compensate`): orders still CREATED a
few minutes after creation are queried at their provider and marked PAID
if it says so (through the same checks and exactly-once path as a
notification); orders past their expiry are closed at the provider and here.
"""
import logging
from datetime import timedelta

from chalicelib import clock, notifications, orders, providers, settings, store
from chalicelib.errors import ApiError, ProviderError

log = logging.getLogger('paygate.compensation')

# Leave the provider's own notification a few minutes to arrive first.
QUERY_AFTER = timedelta(minutes=5)
BATCH = 200


def run():
    """One pass over open orders. Returns counts of what it did.

    The time is the clock's (chalicelib.clock), which the providers' close rules read too."""
    now = clock.now()
    done = {'checked': 0, 'paid': 0, 'closed': 0, 'errors': 0}
    for order in store.due_work(orders.OPEN_ORDER_WORK, clock.rfc3339(now - QUERY_AFTER), BATCH):
        done['checked'] += 1
        try:
            result = _compensate(order, now)
        except (ProviderError, ApiError) as exc:
            log.warning('compensation for order %s: %s', order['order_id'], exc)
            result = 'errors'
        if result:
            done[result] += 1
    return done


def _compensate(order, now):
    if order['provider'] not in settings.get().providers:
        return None
    provider = providers.load(order['provider'])
    if hasattr(provider, 'query'):
        note = provider.query(order)
        if note is not None:
            outcome = notifications.apply_query_result(order['provider'], note)
            log.info('order %s: %s says %s (%s)', order['order_id'], order['provider'], note.kind, outcome)
            if outcome == store.APPLIED and note.kind == providers.PAID:
                return 'paid'
            if orders.get(order['order_id'])['status'] != orders.CREATED:
                return None
    if clock.parse_rfc3339(order['expires_at']) <= now:
        orders.close(order['order_id'])
        return 'closed'
    return None
