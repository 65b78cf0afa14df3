"""Midas game coins (游戏币): balance, paying for a catalog product, rollback, presents.

PROVIDERS.md §1.8. Coins are counted in the app's own unit; a product's coin
price is its catalog price at PAYGATE_MIDAS_COINS_PER_YUAN (the ratio set for
the app in the Midas console).

A coin payment is an order like any other: created CREATED (idempotent by
out_trade_no / Idempotency-Key), then pay_m with billno = our order_id, so a
retry never deducts twice, and PAID through the same exactly-once path as a
provider notification (with its order.paid event). When pay_m's outcome is
unknown (timeout, busy) the order stays CREATED and is marked; retrying the
request asks pay_m again with the same billno, and closing it rolls it back
with cancel_pay_m.
"""
import json
import re
import secrets
import time

from chalicelib import notifications, orders, store
from chalicelib.errors import ApiError, ProviderError, conflict, invalid
from chalicelib.providers import PAID, Created, Inbound, Notification
from chalicelib.providers.midas import COINS, NAME, api, config, login

BALANCE_FIELDS = ('balance', 'gen_balance', 'first_save', 'save_amt')
PAYER_HEADER = 'x-midas-'
PAYER_PARAMS = ('openid', 'openkey', 'pf', 'pfkey', 'login_type', 'zoneid', 'roleid')
BILLNO = re.compile(r'\A[0-9A-Za-z_\-]{6,64}\Z')
MAX_PRESENT = 10 ** 7
SETTLE_INTERVAL = 15
SETTLE_LIMIT = 120


def balance(payer_login):
    """get_balance_m: balance (gifted coins included), gen_balance, first_save, save_amt."""
    data = _call('get_balance_m', payer_login)
    return {name: data.get(name) for name in BALANCE_FIELDS}


def balance_for_request(inbound):
    """GET /midas/balance: payer fields as X-Midas-<Field> headers (preferred) or query params.

    With `save_amt` (the value seen before a recharge) the answer says whether
    the recharge has arrived (`settled`); the app asks again every 15 s for up
    to 2 minutes, as Midas documents.
    """
    query = dict(inbound.query)
    payer = {name: inbound.header(PAYER_HEADER + name.replace('_', '-')) or query.get(name, '')
             for name in PAYER_PARAMS}
    shown = balance(login({k: v for k, v in payer.items() if v}))
    if 'save_amt' in query:
        shown['settled'] = str(shown['save_amt']) != query['save_amt']
    return shown


def wait_for_recharge(payer_login, save_amt_before, sleep=time.sleep, monotonic=time.monotonic,
                      interval=SETTLE_INTERVAL, limit=SETTLE_LIMIT):
    """Poll get_balance_m every `interval` s for up to `limit` s until save_amt moves.

    For a worker (the `midas_settle` Lambda function), never for an API
    request. Returns the last balance with `settled` True once save_amt
    differs from `save_amt_before`, False when the time is up.
    """
    deadline = monotonic() + limit
    while True:
        shown = balance(payer_login)
        if shown['save_amt'] != save_amt_before:
            return {**shown, 'settled': True}
        if monotonic() + interval > deadline:
            return {**shown, 'settled': False}
        sleep(interval)


def settle_event(event):
    """The midas_settle Lambda function: {"payer": {...login...}, "save_amt": <before>}."""
    if not isinstance(event, dict) or isinstance(event.get('save_amt'), bool) \
            or not isinstance(event.get('save_amt'), int):
        raise invalid('the event needs payer and an integer save_amt', 'save_amt')
    return wait_for_recharge(login(event.get('payer')), event['save_amt'])


def coins_for(fen):
    """The coin price of `fen` at the configured ratio; refused when it is not a whole coin."""
    rate = config().coins_per_yuan
    if fen * rate % 100:
        raise ApiError(422, 'price_not_whole_coins',
                       f'{fen} fen is not a whole number of coins at {rate} coins per yuan', 'product_id')
    return fen * rate // 100


def _new_order(order, product, payer):
    """The provider half of creating a coin order: nothing is asked of Midas yet."""
    coins = coins_for(order['amount'])
    return Created(client_params={'billno': order['order_id'], 'coins': coins},
                   provider_data={'mode': COINS, 'coins': coins})


def pay(body, idempotency_key=None):
    """POST /midas/payments: an order for a catalog product, paid with pay_m. Returns (status, view)."""
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object')
    payer_login = login(body.get('payer'))
    status, shown = orders.create({**body, 'provider': NAME}, idempotency_key,
                                  provider_call=_new_order)
    order = orders.get(shown['order_id'])
    if (order.get('provider_data') or {}).get('mode') != COINS:
        raise conflict('idempotency_conflict', 'this out_trade_no names an item order, not a coin payment')
    if order['status'] == orders.PAID:
        return 200, orders.view(order)
    if order['status'] != orders.CREATED:
        raise conflict('order_not_open', f'order is {order["status"]}')
    reply = _pay_m(order, payer_login)
    note = Notification(event_id=f'pay_m:{order["order_id"]}', kind=PAID,
                        out_trade_no=order['out_trade_no'], amount=order['amount'],
                        provider_trade_no=order['order_id'])
    orders.apply_notification(order, note, _record(note, reply, order))
    shown = orders.view(orders.get(order['order_id']))
    return status, {**shown, 'midas': {name: reply.get(name) for name in
                                       ('balance', 'gen_balance', 'used_gen_amt')}}


def _pay_m(order, payer_login):
    extra = {'amt': str(order['provider_data']['coins']), 'billno': order['order_id']}
    try:
        reply = api.call('pay_m', payer_login, extra)
    except ProviderError as exc:
        if not exc.retryable:
            raise _api_error(exc) from None
        store.update_order_fields(order['order_id'],
                                  {'provider_data': {**order['provider_data'], 'pay_m_unknown': True}},
                                  required_status=orders.CREATED)
        raise ApiError(502, 'provider_unavailable',
                       f'Midas did not confirm pay_m ({exc}); retry with out_trade_no '
                       f'{order["out_trade_no"]}: the same billno never deducts twice') from None
    if str(reply.get('billno', order['order_id'])) != order['order_id']:
        raise ApiError(502, 'provider_error', f'pay_m answered for another billno {reply.get("billno")!r}')
    return reply


def _record(note, reply, order):
    """The stored form of pay_m's answer (the request, with the openkey, is never stored)."""
    body = json.dumps(reply, ensure_ascii=False, sort_keys=True).encode('utf-8')
    inbound = Inbound(method='POST', path='/mpay/pay_m', headers={}, query=(), body=body)
    return notifications.record_of(NAME, note.event_id, inbound, order)


def cancel(order):
    """cancel_pay_m for a coin order; `order['payer']` must carry the payer's full login."""
    extra = {'amt': str(order['provider_data']['coins']), 'billno': order['order_id']}
    api.call('cancel_pay_m', login(order['payer']), extra)


def present(body):
    """POST /midas/presents: give the payer `coins` with present_m; `billno` makes a retry safe."""
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object')
    payer_login = login(body.get('payer'))
    coins = body.get('coins')
    if isinstance(coins, bool) or not isinstance(coins, int) or not 0 < coins <= MAX_PRESENT:
        raise invalid(f'coins must be an integer from 1 to {MAX_PRESENT}', 'coins')
    billno = body.get('billno') or 'pr' + secrets.token_hex(12)
    if not isinstance(billno, str) or not BILLNO.match(billno):
        raise invalid('billno must be 6-64 characters of 0-9 A-Z a-z _ -', 'billno')
    extra = {'presenttimes': str(coins), 'billno': billno}
    for name in ('discountid', 'giftid'):
        if body.get(name) is not None:
            if not isinstance(body[name], str) or not body[name]:
                raise invalid(f'{name} must be a non-empty string', name)
            extra[name] = body[name]
    reply = _call('present_m', payer_login, extra)
    return {'billno': billno, 'coins': coins, 'balance': reply.get('balance'),
            'gen_balance': reply.get('gen_balance')}


def _call(name, payer_login, extra=None):
    """api.call with every failure turned into the HTTP answer for the caller."""
    try:
        return api.call(name, payer_login, extra)
    except ProviderError as exc:
        raise _api_error(exc) from None


def _api_error(exc):
    if isinstance(exc, api.MidasError):
        return api.as_api_error(exc)
    return ApiError(502, 'provider_unavailable', f'Midas could not be reached: {exc}')
