"""Orders through the API: creation (idempotent), reading, and closing.

Statuses (ordermodel.py): CREATED -> PAID -> (partially refunded, still PAID)
-> REFUNDED; CREATED -> CLOSED (and CLOSED -> PAID when money arrives after a
close: the buyer has paid, so the merchant must hear about it). Providers'
notifications change orders through payments.py and refunds.py.

Creating an order costs at most two DynamoDB requests: one conditional write
stores it (its out_trade_no, and its Idempotency-Key, made unique by their
keys; a replay is that write refused, and the refusal returns what is
stored), and one adds what the provider answered.
"""
import hashlib
import ipaddress
import json
import re
import secrets
from datetime import timedelta

from chalicelib import catalog, clock, events, ordermodel, providers, retry, settings
from chalicelib.errors import ApiError, ProviderError, conflict, invalid, not_found
from chalicelib.providers.contract import Closable
from chalicelib.store import orders as order_store
from chalicelib.store import events as event_store

IDEMPOTENCY_KEY = re.compile(r'\A[\x21-\x7e]{1,255}\Z')
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_QUANTITY = 999
# Where a browser scene sends the buyer back (after paying; when leaving the provider's page).
BROWSER_URLS = ('return_url', 'quit_url')
BROWSER_URL = re.compile(r'\Ahttps?://[\x21-\x7e]{1,392}\Z')
# Top-level fields a client might send to set the price; the catalog alone sets it.
CLIENT_PRICES = ('amount', 'price')
MAX_LISTED = 20


def get(order_id):
    """The stored order; 404 when there is none (an id that cannot be ours is not looked up)."""
    out_trade_no = ordermodel.trade_no_of(order_id)
    order = order_store.get(out_trade_no) if out_trade_no else None
    if not ordermodel.is_named(order, order_id or ''):
        raise not_found(f'no order {str(order_id)[:80]}')
    return order


def create(body, idempotency_key=None, provider_call=None):
    """Create an order from a POST /orders body. Returns (http_status, order view).

    `provider_call` replaces the provider's `create(order, product, payer)` for orders
    a provider makes another way (Midas coin payments are charged after the
    order exists, not at creation).
    """
    request = _parse_request(body)
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise invalid('Idempotency-Key must be 1-255 printable ASCII characters', 'Idempotency-Key')
    product = _product(request['product_id'])
    provider = providers.load(request['provider'])
    _check_trade_no(provider, request['out_trade_no'])
    request['scene'] = _check_scene(provider, request).name
    stored_payer = provider.validate_payer(request['payer'], request['scene'])
    # Login tokens in the payer change between retries; the order is what is stored of the payer.
    request_hash = _hash({**request, 'payer': stored_payer})
    order = new_order_item(request, product, stored_payer)
    try:
        order_store.insert(order, request_hash, idempotency_key,
                           int((clock.now() + IDEMPOTENCY_TTL).timestamp()))
    except order_store.Exists as existing:
        return 200, _replay(existing, request_hash)
    return 201, _reach_provider(provider_call or provider.create, order, product,
                                request['payer'], idempotency_key)


def _parse_request(body):
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object')
    for name in CLIENT_PRICES:
        if name in body:
            raise ApiError(400, 'amount_not_allowed', f'{name} is not taken; prices come from the catalog '
                           '(send product_id and quantity)', name)
    provider = _provider(body.get('provider'))
    product_id = body.get('product_id')
    if not isinstance(product_id, str) or not product_id:
        raise invalid('product_id is required', 'product_id')
    quantity = body.get('quantity', 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise invalid('quantity must be an integer >= 1', 'quantity')
    if quantity > MAX_QUANTITY:
        raise invalid(f'quantity must be <= {MAX_QUANTITY}', 'quantity')
    out_trade_no = body.get('out_trade_no')
    if out_trade_no is not None and not (isinstance(out_trade_no, str)
                                         and ordermodel.OUT_TRADE_NO.match(out_trade_no)):
        raise invalid('out_trade_no must be 1-100 characters of 0-9 A-Z a-z _ - | *', 'out_trade_no')
    payer = _payer(body.get('payer', {}))
    scene = body.get('scene')
    if scene is not None and not isinstance(scene, str):
        raise invalid('scene must be a string', 'scene')
    return {'provider': provider, 'product_id': product_id, 'quantity': quantity,
            'out_trade_no': out_trade_no, 'payer': payer, 'scene': scene,
            'client_ip': _client_ip(body.get('client_ip')),
            **{name: _browser_url(body.get(name), name) for name in BROWSER_URLS},
            'metadata': _metadata(body.get('metadata', {}))}


def _provider(name):
    """An enabled provider's name; 400 listing the enabled ones for any other."""
    enabled = list(settings.get().providers)
    if isinstance(name, str) and name in enabled:
        return name
    if not isinstance(name, str) or not name:
        raise invalid(f'provider is required: one of {", ".join(enabled)}', 'provider', enabled)
    raise ApiError(400, 'provider_not_enabled', f'provider {name[:40]!r} is not enabled here; '
                   f'enabled: {", ".join(enabled)}', 'provider', enabled)


def _product(product_id):
    """The catalog's product; 400 listing (up to MAX_LISTED of) the catalog's ids for an unknown id."""
    products = catalog.get()
    product = products.get(product_id)
    if product is None:
        ids = [known.id for known in products]
        more = f' and {len(ids) - MAX_LISTED} more' if len(ids) > MAX_LISTED else ''
        raise ApiError(400, 'unknown_product', f'unknown product {product_id[:80]!r}; the catalog has '
                       f'{", ".join(ids[:MAX_LISTED])}{more}', 'product_id', ids[:MAX_LISTED])
    return product


def _payer(payer):
    """The request's `payer`: an object of strings; the field at fault is named (payer.<name>)."""
    if not isinstance(payer, dict):
        raise invalid('payer must be an object of strings', 'payer')
    for name, value in payer.items():
        if not isinstance(value, str):
            raise invalid(f'payer.{name[:40]} must be a string', f'payer.{name[:40]}')
    return payer


def _check_trade_no(provider, out_trade_no):
    """A merchant's own out_trade_no must be one the provider accepts, checked before it is called."""
    rule = provider.OUT_TRADE_NO
    if out_trade_no is not None and not rule.allows(out_trade_no):
        raise invalid(f'out_trade_no must be {rule.description} for {provider.NAME}', 'out_trade_no')


def _check_scene(provider, request):
    """The provider's Scene the request names (its first when none), with what that scene needs."""
    scenes = {scene.name: scene for scene in provider.SCENES}
    name = request['scene'] or provider.SCENES[0].name
    if name not in scenes:
        raise invalid(f'scene must be one of {", ".join(scenes)} for {provider.NAME}', 'scene', list(scenes))
    scene = scenes[name]
    if scene.client_ip and not request['client_ip']:
        raise invalid(f'client_ip (the buyer\'s IP address) is required for {provider.NAME} {name}',
                      'client_ip')
    for url in BROWSER_URLS:
        if request[url] and url not in scene.urls:
            raise invalid(f'{url} is not taken by {provider.NAME} {name}', url)
    return scene


def _browser_url(value, name):
    if value is None:
        return None
    if not (isinstance(value, str) and BROWSER_URL.match(value)):
        raise invalid(f'{name} must be an http(s) URL of at most 400 printable ASCII characters', name)
    return value


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


def _replay(existing, request_hash):
    """The view of an earlier identical request's order; 409 when it differs or is still being made."""
    order, stored_hash = existing.order, (existing.order or {}).get('request_hash')
    if existing.pointer is not None:
        stored_hash = existing.pointer['request_hash']
        order = order if order and order['out_trade_no'] == existing.pointer['out_trade_no'] \
            else order_store.get(existing.pointer['out_trade_no'])
    if stored_hash != request_hash:
        raise conflict('idempotency_conflict',
                       'an order with this out_trade_no / Idempotency-Key exists with a different body')
    if order is None or not order.get('client_params'):
        raise conflict('order_in_progress', 'the same order is being created; retry shortly')
    return ordermodel.view(order)


def new_order_item(request, product, stored_payer):
    """A new CREATED order (not yet stored) for a parsed request; its amount comes from the catalog."""
    now = clock.now()
    out_trade_no = request['out_trade_no'] or _generated_trade_no(now)
    return {
        'order_id': ordermodel.new_order_id(out_trade_no),
        'out_trade_no': out_trade_no,
        'provider': request['provider'],
        'scene': request['scene'],
        'product_id': product.id,
        'quantity': request['quantity'],
        'amount': product.price * request['quantity'],
        'currency': 'CNY',
        'status': ordermodel.CREATED,
        'created_at': clock.rfc3339(now),
        'expires_at': clock.rfc3339(now + timedelta(seconds=settings.get().order_ttl_seconds)),
        'payer': stored_payer,
        'client_ip': request['client_ip'],
        **{name: request[name] for name in BROWSER_URLS if request.get(name)},
        'metadata': request['metadata'],
        'refunded_amount': 0,
        'refund_pending_amount': 0,
        'version': 1,
        'work_pk': ordermodel.OPEN_ORDER_WORK,
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
        order_store.delete(order, idempotency_key)
        raise _provider_failed(exc, f'{order["provider"]} refused the order: {exc}') from None
    except BaseException:
        order_store.delete(order, idempotency_key)
        raise
    fields = {'client_params': created.client_params, 'provider_data': created.provider_data}
    if created.expires_at:
        fields['expires_at'] = created.expires_at
    order_store.complete(order['out_trade_no'], fields, created.lookups)
    return ordermodel.view({**order, **fields})


def _provider_failed(exc, message):
    """502: provider_unavailable when the provider could not be reached in time (safe to retry),
    provider_error when it answered no."""
    return ApiError(502, 'provider_unavailable' if exc.retryable else 'provider_error', message)


def with_payer(order, payer):
    """The order with the caller's payer fields (e.g. a login token) added for one provider call.

    What is stored of the payer wins; the result is never written back, so
    tokens stay out of the table.
    """
    return {**order, 'payer': {**(payer or {}), **(order.get('payer') or {})}}


def payer_of(body):
    """The optional `payer` object of a close or refund request: a login the provider may need."""
    return _payer(body.get('payer', {}) if isinstance(body, dict) else {})


def close(order_id, payer=None):
    """POST /orders/{id}/close: close at the provider (where it can), then here.

    `payer` is added to the order for the provider's call only (Midas needs
    the payer's login to roll back a coin payment).
    """
    order = get(order_id)
    if order['status'] == ordermodel.CLOSED:
        return ordermodel.view(order)
    if order['status'] != ordermodel.CREATED:
        raise conflict('order_not_open', f'order is {order["status"]}; only CREATED orders close')
    provider = providers.capable(order['provider'], Closable)
    if provider is not None:
        try:
            provider.close(with_payer(order, payer), clock.now())
        except ProviderError as exc:
            raise _provider_failed(exc, f'{order["provider"]} could not close: {exc}') from None
    return close_here(order)


def close_here(order):
    """Mark an open order CLOSED with its event (the provider has closed it or has nothing to close)."""
    current = [order]

    def attempt():
        order = current[0]
        if order['status'] == ordermodel.CLOSED:
            return ordermodel.view(order)
        if order['status'] != ordermodel.CREATED:
            raise conflict('order_not_open', f'order became {order["status"]} while closing')
        fields = {'status': ordermodel.CLOSED, 'closed_at': clock.rfc3339(clock.now()),
                  **ordermodel.LEAVES_OPEN}
        event = events.new_event(events.ORDER_CLOSED, {'order': ordermodel.view({**order, **fields})},
                                 events.order_subject(order['out_trade_no']))
        if order_store.commit(order['out_trade_no'], order['version'], fields,
                              event_store.items(event)) == order_store.APPLIED:
            return ordermodel.view({**order, **fields})
        current[0] = order_store.get(order['out_trade_no'])
        return retry.AGAIN

    return retry.optimistic(attempt, f'order {order["order_id"]} (closing)')
