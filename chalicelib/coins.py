"""The Midas game-coin routes: the payer's balance (and the settle poll), paying for a catalog
product with coins, and presents.

A coin payment is an order like any other: created CREATED (idempotent by
out_trade_no / Idempotency-Key), then pay_m with billno = its out_trade_no,
so a retry never deducts twice, and PAID through the same exactly-once write
as a provider notification (with its order.paid event). When pay_m's outcome
is unknown (timeout, busy) the order stays CREATED and is marked; retrying
the request asks pay_m again with the same billno, and closing it rolls it
back with cancel_pay_m.
"""
import json
import re
import secrets
import time

from chalicelib import notifications, ordermodel, orders
from chalicelib.errors import ApiError, ProviderError, conflict, invalid
from chalicelib.providers.contract import PAID, Created, Inbound, Notification
from chalicelib.providers.midas.common import COINS, NAME, login
from chalicelib.providers.midas import coins as midas_coins
from chalicelib.store import orders as order_store

PAYER_HEADER = 'x-midas-'
PAYER_PARAMS = ('openid', 'openkey', 'pf', 'pfkey', 'login_type', 'zoneid', 'roleid')
SECRET_PARAMS = ('openkey', 'pfkey')
BILLNO = re.compile(r'\A[0-9A-Za-z_\-]{6,64}\Z')
MAX_PRESENT = 10 ** 7
SETTLE_INTERVAL = 15
SETTLE_LIMIT = 120


def balance_for_request(inbound):
    """GET /midas/balance: (the balance, whether the login came in the query string).

    The payer's login comes as X-Midas-<Field> headers; the query string still
    works but is deprecated, since URLs end up in access logs. With `save_amt`
    (the value seen before a recharge) the answer says whether the recharge
    has arrived (`settled`); the app asks again every 15 s for up to 2
    minutes, as Midas documents.
    """
    query = dict(inbound.query)
    payer = {name: inbound.header(PAYER_HEADER + name.replace('_', '-')) or query.get(name, '')
             for name in PAYER_PARAMS}
    shown = midas_coins.balance(login({k: v for k, v in payer.items() if v}))
    if 'save_amt' in query:
        shown['settled'] = str(shown['save_amt']) != query['save_amt']
    return shown, any(query.get(name) for name in SECRET_PARAMS)


def wait_for_recharge(payer_login, save_amt_before, sleep=time.sleep, monotonic=time.monotonic,
                      interval=SETTLE_INTERVAL, limit=SETTLE_LIMIT):
    """Poll get_balance_m every `interval` s for up to `limit` s until save_amt moves.

    For a worker (the `midas_settle` Lambda function), never for an API
    request. Returns the last balance with `settled` True once save_amt
    differs from `save_amt_before`, False when the time is up.
    """
    deadline = monotonic() + limit
    while True:
        shown = midas_coins.balance(payer_login)
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


def _new_order(order, product, payer):
    """The provider half of creating a coin order: nothing is asked of Midas yet."""
    coins = midas_coins.coins_for(order['amount'])
    return Created(client_params={'billno': order['out_trade_no'], 'coins': coins},
                   provider_data={'mode': COINS, 'coins': coins})


def pay(body, idempotency_key=None):
    """POST /midas/payments: an order for a catalog product, paid with pay_m. Returns (status, view)."""
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object')
    payer_login = login(body.get('payer'))
    status, shown = orders.create({**body, 'provider': NAME}, idempotency_key, provider_call=_new_order)
    order = orders.get(shown['order_id'])
    if (order.get('provider_data') or {}).get('mode') != COINS:
        raise conflict('idempotency_conflict', 'this out_trade_no names an item order, not a coin payment')
    if order['status'] == ordermodel.PAID:
        return 200, ordermodel.view(order)
    if order['status'] != ordermodel.CREATED:
        raise conflict('order_not_open', f'order is {order["status"]}')
    reply = _pay_m(order, payer_login)
    note = Notification(event_id=f'pay_m:{order["out_trade_no"]}', kind=PAID,
                        out_trade_no=order['out_trade_no'], amount=order['amount'],
                        provider_trade_no=order['out_trade_no'])
    notifications.apply_verified(NAME, note, _as_inbound(reply))
    shown = ordermodel.view(order_store.get(order['out_trade_no']))
    return status, {**shown, 'midas': {name: reply.get(name) for name in
                                       ('balance', 'gen_balance', 'used_gen_amt')}}


def _pay_m(order, payer_login):
    try:
        return midas_coins.deduct(payer_login, order['out_trade_no'], order['provider_data']['coins'])
    except ProviderError as exc:
        if not exc.retryable:
            raise ApiError(502, 'provider_error', f'Midas refused: {exc}') from None
        order_store.update_fields(order['out_trade_no'],
                                  {'provider_data': {**order['provider_data'], 'pay_m_unknown': True}},
                                  required_status=ordermodel.CREATED)
        raise ApiError(502, 'provider_unavailable',
                       f'Midas did not confirm pay_m ({exc}); retry with out_trade_no '
                       f'{order["out_trade_no"]}: the same billno never deducts twice') from None


def _as_inbound(reply):
    """pay_m's answer, stored as the record of the payment (the request, with the openkey, never is)."""
    body = json.dumps(reply, ensure_ascii=False, sort_keys=True).encode('utf-8')
    return Inbound(method='POST', path='/mpay/pay_m', headers={}, query=(), body=body)


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
    extra = {}
    for name in ('discountid', 'giftid'):
        if body.get(name) is not None:
            if not isinstance(body[name], str) or not body[name]:
                raise invalid(f'{name} must be a non-empty string', name)
            extra[name] = body[name]
    try:
        reply = midas_coins.present(payer_login, billno, coins, extra)
    except ProviderError as exc:
        raise _provider_failure(exc) from None
    return {'billno': billno, 'coins': coins, 'balance': reply.get('balance'),
            'gen_balance': reply.get('gen_balance')}


def _provider_failure(exc):
    if exc.retryable:
        return ApiError(502, 'provider_unavailable', f'Midas could not be reached: {exc}')
    return ApiError(502, 'provider_error', f'Midas refused: {exc}')
