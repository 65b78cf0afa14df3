"""The path every provider notification takes, whatever the provider.

1. verify the raw request (the provider module's parse_notification);
2. business checks against our order (exists, same provider, same amount);
3. apply the change exactly once (orders.apply_notification);
4. answer with the provider's own success or failure bytes.
Every notification is stored, raw and with its verdict, before the answer
goes out; unverified ones are keyed by a hash of their body, verified ones by
the provider's own id, so repeats are counted, not stored again.
"""
import hashlib
import logging
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib import clock, orders, providers, store
from chalicelib.providers import Inbound, Rejected

log = logging.getLogger('paygate.notify')

BODY_LIMIT = 64 * 1024
UNVERIFIED_TTL = timedelta(days=30)
PRIVATE_HEADERS = frozenset({'authorization', 'cookie', 'x-api-key'})


def handle(route, inbound):
    """Process one notification on /notify/<route>; return the providers.Reply to send."""
    provider = providers.load_notify(route)
    provider_name = provider.NAME
    if len(inbound.body) > BODY_LIMIT:
        rejected = Rejected('too_large', f'body of {len(inbound.body)} bytes')
        _store_unverified(provider_name, inbound, rejected, keep_body=False)
        return replace(provider.failure(rejected), status=413)
    try:
        note = provider.parse_notification(inbound)
    except Rejected as rejected:
        _store_unverified(provider_name, inbound, rejected)
        return provider.failure(rejected)
    try:
        _apply_verified(provider_name, note, inbound)
    except Rejected as rejected:
        return provider.failure(rejected)
    return provider.SUCCESS


def apply_query_result(provider_name, note):
    """A provider's answer to our query, applied like a verified notification.
    Returns the outcome, or 'rejected' when the business checks refuse it."""
    try:
        return _apply_verified(provider_name, note, Inbound('QUERY', f'query/{provider_name}', {}, (), b''))
    except Rejected:
        return 'rejected'


def _apply_verified(provider_name, note, inbound):
    """Business checks, then the exactly-once change; the record is stored either way.
    Raises Rejected (after storing the record) when the checks refuse the notification."""
    order = orders.find(note.out_trade_no)
    record = record_of(provider_name, note.event_id, inbound, order)
    try:
        _check(provider_name, note, order)
    except Rejected as rejected:
        log.warning('%s notification %s for %s rejected: %s', provider_name, note.event_id,
                    note.out_trade_no, rejected.message)
        store.record_notification({**record, 'verdict': 'rejected',
                                   'reason': f'{rejected.code}: {rejected.message}'})
        raise
    outcome = orders.apply_notification(order, note, record)
    log.info('%s notification %s (%s) for order %s: %s', provider_name, note.event_id,
             note.kind, order['order_id'], outcome)
    return outcome


def _check(provider_name, note, order):
    if order is None:
        raise Rejected(Rejected.UNKNOWN_ORDER, f'no order with out_trade_no {note.out_trade_no}')
    if order['provider'] != provider_name:
        raise Rejected(Rejected.UNKNOWN_ORDER, f'order {order["order_id"]} is a {order["provider"]} order')
    if note.amount is not None and note.amount != order['amount']:
        raise Rejected(Rejected.AMOUNT, f'amount {note.amount} fen, order {order["order_id"]} '
                                        f'is {order["amount"]} fen')
    held = order.get('provider_data') or {}
    for fact in note.expected:
        if held.get(fact.field) != fact.value:
            raise Rejected(fact.code, f'{fact.field} {fact.value!r}, order {order["order_id"]} has '
                                      f'{held.get(fact.field)!r}')
    if note.kind in (providers.REFUNDED, providers.REFUND_FAILED):
        amount = note.refund_amount if note.refunded_total is None else note.refunded_total
        if not note.refund_no or not amount or amount < 1:
            raise Rejected(Rejected.MALFORMED, 'refund notification without refund number or amount')


def _store_unverified(provider_name, inbound, rejected, keep_body=True):
    # Probes (deliberately bad signatures a provider sends to test us) are expected traffic, not alarms.
    level = logging.INFO if rejected.code == Rejected.PROBE else logging.WARNING
    log.log(level, '%s notification refused (%s): %s', provider_name, rejected.code, rejected.message)
    digest = hashlib.sha256(inbound.body + repr(inbound.query).encode('utf-8')).hexdigest()
    record = record_of(provider_name, 'unverified#' + digest, inbound, None, keep_body)
    record['ttl'] = int((clock.now() + UNVERIFIED_TTL).timestamp())
    store.record_notification({**record, 'verdict': 'rejected',
                               'reason': f'{rejected.code}: {rejected.message}'})


def record_of(provider_name, key, inbound, order, keep_body=True):
    """The stored form of a notification: everything needed to replay or audit it."""
    return {
        'provider': provider_name,
        'key': key,
        'method': inbound.method,
        'path': inbound.path,
        'query': urlencode(inbound.query),
        'headers': {k: v for k, v in inbound.headers.items() if k not in PRIVATE_HEADERS},
        'body': inbound.body if keep_body else None,
        'body_size': len(inbound.body),
        'order_id': order['order_id'] if order else None,
        'last_seen': clock.rfc3339(clock.now()),
    }
