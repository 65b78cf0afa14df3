"""Orders: creation (idempotent), reading, and the state changes providers cause.

Statuses: CREATED -> PAID -> (partially refunded, still PAID) -> REFUNDED;
CREATED -> CLOSED (and CLOSED -> PAID when money arrives after a close: the
buyer has paid, so the merchant must hear about it).
Every change is a conditional write on the order's version, committed in one
transaction with the event it causes, so it happens exactly once.
"""
import hashlib
import ipaddress
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from chalicelib import catalog, clock, events, providers, settings, store
from chalicelib.errors import ApiError, ProviderError, conflict, invalid, not_found

CREATED, PAID, CLOSED, REFUNDED = 'CREATED', 'PAID', 'CLOSED', 'REFUNDED'

# Every provider's out_trade_no fits this; each provider's own rule is narrower (TradeNoRule).
OUT_TRADE_NO = re.compile(r'\A[0-9A-Za-z_\-|*]{1,100}\Z')
ORDER_ID = re.compile(r'\Aord_[0-9A-Za-z_-]{1,100}\Z')
IDEMPOTENCY_KEY = re.compile(r'\A[\x21-\x7e]{1,255}\Z')
IDEMPOTENCY_TTL = timedelta(hours=24)
IN_PROGRESS_GRACE = timedelta(seconds=30)
MAX_QUANTITY = 999
# While an order is CREATED it sits in the `work` index, where compensation finds it.
OPEN_ORDER_WORK = 'OPEN_ORDER'
LEAVES_OPEN = {'work_pk': None, 'work_at': None}
PUBLIC_FIELDS = ('order_id', 'out_trade_no', 'provider', 'status', 'amount', 'currency',
                 'product_id', 'quantity', 'created_at', 'expires_at', 'client_params',
                 'metadata', 'paid_at', 'paid_amount', 'closed_at', 'provider_trade_no',
                 'refunded_amount')


def view(order):
    """The order as the API shows it: no payer tokens, no internal bookkeeping."""
    shown = {name: order.get(name) for name in PUBLIC_FIELDS}
    shown['client_params'] = shown['client_params'] or {}
    shown['metadata'] = shown['metadata'] or {}
    shown['refunded_amount'] = shown['refunded_amount'] or 0
    return shown


def get(order_id):
    """The stored order; 404 when there is none (an id that cannot be ours is not looked up)."""
    valid = isinstance(order_id, str) and ORDER_ID.match(order_id)
    order = store.get_order(order_id) if valid else None
    if order is None:
        raise not_found(f'no order {order_id}' if valid else 'no such order')
    return order


def find(out_trade_no):
    """The order a provider refers to by our out_trade_no, or None (never looked up if it cannot be ours)."""
    if not isinstance(out_trade_no, str) or not OUT_TRADE_NO.match(out_trade_no):
        return None
    pointer = store.get_reference(out_trade_no)
    return store.get_order(pointer['order_id']) if pointer else None


def create(body, idempotency_key=None, provider_call=None):
    """Create an order from a POST /orders body. Returns (http_status, order view).

    `provider_call` replaces the provider's `create(order, product, payer)` for orders
    a provider makes another way (Midas coin payments are charged after the
    order exists, not at creation).
    """
    request = _parse_request(body)
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise invalid('Idempotency-Key must be 1-255 printable ASCII characters', 'Idempotency-Key')
    product = catalog.get().get(request['product_id'])
    if product is None:
        raise invalid(f'unknown product {request["product_id"]}', 'product_id')
    provider = providers.load(request['provider'])
    _check_trade_no(provider, request['out_trade_no'])
    stored_payer = provider.validate_payer(request['payer'])
    # Login tokens in the payer change between retries; the order is what is stored of the payer.
    request_hash = _hash({**request, 'payer': stored_payer})
    existing = _existing(request, request_hash, idempotency_key)
    if existing:
        return 200, existing
    order = new_order_item(request, product, stored_payer)
    try:
        store.insert_order(order, request_hash, idempotency_key,
                           int((clock.now() + IDEMPOTENCY_TTL).timestamp()))
    except store.AlreadyExists:
        existing = _existing(request, request_hash, idempotency_key)
        if existing:
            return 200, existing
        raise conflict('order_in_progress', 'the same order is being created; retry shortly') from None
    return 201, _reach_provider(provider_call or provider.create, order, product,
                                request['payer'], idempotency_key)


def _parse_request(body):
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object')
    provider = body.get('provider')
    if not isinstance(provider, str) or provider not in settings.get().providers:
        raise invalid(f'unknown provider {provider!r}', 'provider')
    product_id = body.get('product_id')
    if not isinstance(product_id, str) or not product_id:
        raise invalid('product_id is required', 'product_id')
    quantity = body.get('quantity', 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise invalid('quantity must be an integer >= 1', 'quantity')
    if quantity > MAX_QUANTITY:
        raise invalid(f'quantity must be <= {MAX_QUANTITY}', 'quantity')
    out_trade_no = body.get('out_trade_no')
    if out_trade_no is not None and not (isinstance(out_trade_no, str) and OUT_TRADE_NO.match(out_trade_no)):
        raise invalid('out_trade_no must be 1-100 characters of 0-9 A-Z a-z _ - | *', 'out_trade_no')
    payer = body.get('payer', {})
    if not isinstance(payer, dict) or not all(isinstance(v, str) for v in payer.values()):
        raise invalid('payer must be an object of strings', 'payer')
    return {'provider': provider, 'product_id': product_id, 'quantity': quantity,
            'out_trade_no': out_trade_no, 'payer': payer,
            'client_ip': _client_ip(body.get('client_ip')),
            'metadata': _metadata(body.get('metadata', {}))}


def _check_trade_no(provider, out_trade_no):
    """A merchant's own out_trade_no must be one the provider accepts, checked before it is called."""
    rule = provider.OUT_TRADE_NO
    if out_trade_no is not None and not rule.allows(out_trade_no):
        raise invalid(f'out_trade_no must be {rule.description} for {provider.NAME}', 'out_trade_no')


def _client_ip(value):
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except (ValueError, TypeError):
        raise invalid('client_ip must be an IPv4 or IPv6 address', 'client_ip') from None


def _metadata(value):
    if not isinstance(value, dict) or len(value) > 20:
        raise invalid('metadata must be an object of at most 20 entries', 'metadata')
    for key, item in value.items():
        if not 1 <= len(key) <= 40 or not isinstance(item, str) or len(item) > 500:
            raise invalid('metadata keys are 1-40 characters, values strings <= 500', 'metadata')
    return value


def _hash(request):
    canonical = json.dumps(request, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()


def _existing(request, request_hash, idempotency_key):
    """The view of an earlier identical request's order, or None; 409 if it differs."""
    pointer = store.get_idempotency(idempotency_key) if idempotency_key else None
    if pointer is None and request['out_trade_no']:
        pointer = store.get_reference(request['out_trade_no'])
    if pointer is None:
        return None
    if pointer['request_hash'] != request_hash:
        raise conflict('idempotency_conflict',
                       'an order with this out_trade_no / Idempotency-Key exists with a different body')
    order = store.get_order(pointer['order_id'])
    if order is None:
        return None
    if not order.get('client_params'):
        raise conflict('order_in_progress', 'the same order is being created; retry shortly')
    return view(order)


def new_order_item(request, product, stored_payer):
    """A new CREATED order (not yet stored) for a parsed request; its amount comes from the catalog."""
    now = clock.now()
    order_id = 'ord_' + secrets.token_hex(12)
    return {
        'order_id': order_id,
        'out_trade_no': request['out_trade_no'] or _generated_trade_no(now),
        'provider': request['provider'],
        'product_id': product.id,
        'quantity': request['quantity'],
        'amount': product.price * request['quantity'],
        'currency': 'CNY',
        'status': CREATED,
        'created_at': clock.rfc3339(now),
        'expires_at': clock.rfc3339(now + timedelta(seconds=settings.get().order_ttl_seconds)),
        'payer': stored_payer,
        'client_ip': request['client_ip'],
        'metadata': request['metadata'],
        'refunded_amount': 0,
        'refund_pending_amount': 0,
        'version': 1,
        'work_pk': OPEN_ORDER_WORK,
        'work_at': clock.rfc3339(now),
    }


def _generated_trade_no(now):
    """pg + UTC time + 12 hex digits: 28 characters, valid for every provider."""
    return 'pg' + now.strftime('%Y%m%d%H%M%S') + secrets.token_hex(6)


def _reach_provider(create, order, product, payer, idempotency_key):
    """Ask the provider for the client's parameters; undo the order if it refuses."""
    try:
        created = create(order, product, payer)
    except ProviderError as exc:
        store.delete_order(order, idempotency_key)
        raise ApiError(502, 'provider_error', f'{order["provider"]} refused the order: {exc}') from None
    except Exception:
        store.delete_order(order, idempotency_key)
        raise
    fields = {'client_params': created.client_params, 'provider_data': created.provider_data}
    if created.expires_at:
        fields['expires_at'] = created.expires_at
    store.update_order_fields(order['order_id'], fields)
    return view({**order, **fields})


def apply_notification(order, note, record):
    """Apply a verified notification to its order, exactly once.

    `record` is the raw notification; it is stored with the change it causes,
    or with the reason it caused none. Returns store.APPLIED, store.DUPLICATE
    or IGNORED.
    """
    for _ in range(20):
        change = _change_for(order, note)
        if isinstance(change, str):
            return _no_change(record, change)
        event = None
        if change.event_type:
            event = events.new_event(change.event_type,
                                     {'order': view({**order, **change.fields}), **change.data})
        outcome = store.commit_change(order['order_id'], order['version'], change.fields, event,
                                      {**record, 'verdict': store.APPLIED,
                                       'reason': change.event_type or note.kind},
                                      change.extra_items)
        if outcome == store.DUPLICATE:
            store.count_repeat(record['provider'], record['key'], record['last_seen'])
            return outcome
        if outcome == store.APPLIED:
            return outcome
        order = store.get_order(order['order_id'])
    raise RuntimeError(f'order {order["order_id"]} kept changing; gave up applying {note.event_id}')


IGNORED = 'ignored'


@dataclass(frozen=True)
class Change:
    """What a notification does to an order: fields to set, the event, other items to write."""
    fields: dict
    event_type: str = None
    extra_items: tuple = ()
    data: dict = field(default_factory=dict)


def _no_change(record, reason):
    stored = store.get_notification(record['provider'], record['key'])
    if stored and stored.get('verdict') == store.APPLIED:
        store.count_repeat(record['provider'], record['key'], record['last_seen'])
        return store.DUPLICATE
    store.record_notification({**record, 'verdict': IGNORED, 'reason': reason})
    return IGNORED


def _change_for(order, note):
    """The Change `note` causes to `order`, or the reason it causes none."""
    now = clock.rfc3339(clock.now())
    status = order['status']
    if note.kind == providers.PAID:
        if status in (CREATED, CLOSED):
            fields = {'status': PAID, 'paid_at': now, 'paid_amount': note.amount, **LEAVES_OPEN,
                      **note.recorded}
            if note.provider_trade_no:
                fields['provider_trade_no'] = note.provider_trade_no
            return Change(fields, events.ORDER_PAID)
        if note.provider_trade_no and note.provider_trade_no != order.get('provider_trade_no'):
            return f'order already {status} by trade {order.get("provider_trade_no")}: paid twice?'
        return f'order already {status}'
    if note.kind == providers.CLOSED:
        if status == CREATED:
            return Change({'status': CLOSED, 'closed_at': now, **LEAVES_OPEN}, events.ORDER_CLOSED)
        return f'order already {status}'
    if note.kind in (providers.REFUNDED, providers.REFUND_FAILED):
        from chalicelib import refunds
        return refunds.change_for_notification(order, note, now)
    return note.detail or 'nothing to do'


def with_payer(order, payer):
    """The order with the caller's payer fields (e.g. a login token) added for one provider call.

    What is stored of the payer wins; the result is never written back, so
    tokens stay out of the table.
    """
    return {**order, 'payer': {**(payer or {}), **(order.get('payer') or {})}}


def payer_of(body):
    """The optional `payer` object of a close or refund request: a login the provider may need."""
    payer = body.get('payer', {}) if isinstance(body, dict) else {}
    if not isinstance(payer, dict) or not all(isinstance(v, str) for v in payer.values()):
        raise invalid('payer must be an object of strings', 'payer')
    return payer


def close(order_id, payer=None):
    """POST /orders/{id}/close: close at the provider (where it can), then here.

    `payer` is added to the order for the provider's call only (Midas needs
    the payer's login to roll back a coin payment).
    """
    order = get(order_id)
    if order['status'] == CLOSED:
        return view(order)
    if order['status'] != CREATED:
        raise conflict('order_not_open', f'order is {order["status"]}; only CREATED orders close')
    provider = providers.load(order['provider'])
    if hasattr(provider, 'close'):
        try:
            provider.close(with_payer(order, payer))
        except ProviderError as exc:
            raise ApiError(502, 'provider_error', f'{order["provider"]} could not close: {exc}') from None
    for _ in range(20):
        fields = {'status': CLOSED, 'closed_at': clock.rfc3339(clock.now()), **LEAVES_OPEN}
        event = events.new_event(events.ORDER_CLOSED, {'order': view({**order, **fields})})
        if store.commit_change(order_id, order['version'], fields, event) == store.APPLIED:
            return view({**order, **fields})
        order = get(order_id)
        if order['status'] == CLOSED:
            return view(order)
        if order['status'] != CREATED:
            raise conflict('order_not_open', f'order became {order["status"]} while closing')
    raise RuntimeError(f'order {order_id} kept changing while closing')
