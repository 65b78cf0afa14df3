"""The path every provider notification takes, whatever the provider.

1. the provider's keys are looked up (its Notifier's notification_keys);
2. the raw request is verified, purely (parse_notification: request, keys, now);
3. the change it reports is applied exactly once (payments.py), or refused;
4. the answer is the provider's own success or failure bytes.
Every notification is stored, raw and with its verdict, before the answer
goes out: a verified one under the provider's own id, in the same write as
the change it causes; an unverified one under a hash of its body, its
repeats counted. A paying notification costs one DynamoDB request.
"""
import hashlib
import logging
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib import checks, clock, ordermodel, payments, providers, settings
from chalicelib.providers.contract import Inbound, Rejected
from chalicelib.store import notifications as notification_store
from chalicelib.store import orders as order_store

log = logging.getLogger('paygate.notify')

BODY_LIMIT = 64 * 1024
UNVERIFIED_TTL = timedelta(days=30)
PRIVATE_HEADERS = frozenset({'authorization', 'cookie', 'x-api-key'})
_EVENT_ID_LIMIT = 128


def handle(route, inbound):
    """Process one notification on /notify/<route>; return the contract.Reply to send."""
    notifier = providers.load_notify(route)
    try:
        note = _verified(notifier, inbound)
    except Rejected as rejected:
        _store_unverified(notifier.NAME, inbound, rejected)
        reply = notifier.failure(rejected)
        return replace(reply, status=413) if rejected.code == Rejected.TOO_LARGE else reply
    try:
        apply_verified(notifier.NAME, note, inbound)
    except Rejected as rejected:
        return notifier.failure(rejected)
    return notifier.SUCCESS


def _verified(notifier, inbound):
    if notifier.NAME not in settings.get().providers:
        raise Rejected(Rejected.NOT_ENABLED, f'{notifier.NAME} is not enabled')
    if len(inbound.body) > BODY_LIMIT:
        raise Rejected(Rejected.TOO_LARGE, f'body of {len(inbound.body)} bytes')
    note = notifier.parse_notification(inbound, notifier.notification_keys(inbound), clock.now())
    if not note.event_id or len(note.event_id) > _EVENT_ID_LIMIT or len(note.provider_trade_no) > _EVENT_ID_LIMIT:
        raise Rejected(Rejected.MALFORMED, 'the provider\'s ids are missing or over '
                                           f'{_EVENT_ID_LIMIT} characters')
    return note


def apply_verified(provider_name, note, inbound):
    """The change a verified notification reports, exactly once; its record stored either way.
    Returns payments' outcome; raises Rejected (after storing the record) when refused."""
    if not note.out_trade_no and note.lookup:
        note = replace(note, out_trade_no=order_store.get_lookup(note.lookup) or '')
    record = record_of(provider_name, note.event_id, inbound, note.out_trade_no)
    if not ordermodel.OUT_TRADE_NO.match(note.out_trade_no):
        checks.reject(record, Rejected(Rejected.UNKNOWN_ORDER, f'{note.out_trade_no[:64]!r} is not one of '
                                                               'our out_trade_no'))
    outcome = payments.apply(provider_name, note, record)
    log.info('%s notification %s (%s) for out_trade_no %s: %s', provider_name, note.event_id, note.kind,
             note.out_trade_no, outcome, extra={'provider': provider_name, 'event_id': note.event_id,
                                                'out_trade_no': note.out_trade_no, 'outcome': outcome})
    return outcome


def apply_query_result(provider_name, note):
    """A provider's answer to our query, applied like a verified notification.
    Returns payments' outcome, or checks.IGNORED when the order refuses it."""
    try:
        return apply_verified(provider_name, note, Inbound('QUERY', f'query/{provider_name}', {}, (), b''))
    except Rejected:
        return checks.IGNORED


def _store_unverified(provider_name, inbound, rejected):
    # Probes (deliberately bad signatures a provider sends to test us) are expected traffic, not alarms.
    level = logging.INFO if rejected.code == Rejected.PROBE else logging.WARNING
    log.log(level, '%s notification refused (%s): %s', provider_name, rejected.code, rejected.message,
            extra={'provider': provider_name, 'outcome': f'refused: {rejected.code}'})
    digest = hashlib.sha256(inbound.body + repr(inbound.query).encode('utf-8')).hexdigest()
    record = record_of(provider_name, 'unverified#' + digest, inbound, None,
                       keep_body=rejected.code != Rejected.TOO_LARGE)
    record['ttl'] = int((clock.now() + UNVERIFIED_TTL).timestamp())
    notification_store.record({**record, 'verdict': 'rejected', 'reason': f'{rejected.code}: {rejected.message}'})


def record_of(provider_name, key, inbound, out_trade_no, keep_body=True):
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
        'out_trade_no': out_trade_no or None,
        'last_seen': clock.rfc3339(clock.now()),
    }
