"""Tencent Midas / YSDK item direct purchase (道具直购). PROVIDERS.md §1.

Create: buy_goods_m with payitem `itemid*price_in_Q点*num` and goodsmeta from
the catalog, app_metadata = our out_trade_no; the client gets `token` and
`url_params` for the YSDK buyGoods call.
Delivery callback: GET on the 发货 URL configured in the Midas console, signed
over every received parameter (sig excepted) with the callback's extra value
encoding and the configured path; mapped to our order by the appmeta prefix
(before the first `*`; a callback without appmeta by the token alone) and the
token; deduped by billno. A buyer may pay with Q点/Q币/财付通 (`amt`, in 0.1
Q点 = fen), game coins (`payamt_coins`, Q点) and vouchers
(`pubacct_payamt_coins`, Q点), mixed, each possibly empty: the callback is
accepted when `amt` alone is the price of its payitem (Tencent's worked
example), or when the three parts add up to it; the split is kept on the order.
Answers are JSON: {"ret":0,"msg":"OK"} or a documented error code.

Game coins (get_balance_m, pay_m, cancel_pay_m, present_m) are in coins.py;
a coin order is rolled back with cancel_pay_m when it is refunded, or closed
after a pay_m whose outcome is unknown.
"""
import json
import re
from dataclasses import dataclass
from decimal import Decimal

from chalicelib import money, settings, signing, store
from chalicelib.errors import ApiError, ProviderError, invalid
from chalicelib.providers import PAID, Created, Notification, Rejected, Reply, TradeNoRule
from chalicelib.providers.midas import api, sign

NAME = 'midas'
# Sent as app_metadata and echoed at the head of appmeta, whose fields Tencent separates with '*'.
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_-]{1,64}', '1-64 letters, digits, _ or -')
LOGIN_TYPES = ('qq', 'wx', 'guest')
LOGIN_FIELDS = ('openid', 'openkey', 'pf', 'pfkey')
STORED_FIELDS = ('openid', 'zoneid', 'pf', 'login_type')
ITEM, COINS = 'item', 'coins'
MAX_FIELD = 512
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
_PAYITEM = re.compile(r'\A([^*;]+)\*([0-9]+(?:\.[0-9]+)?)\*([1-9][0-9]*)\Z')


def _reply(status, ret, msg):
    """Compact UTF-8 JSON, separators (',', ':'), no ASCII escaping: {"ret":0,"msg":"OK"} exactly."""
    body = json.dumps({'ret': ret, 'msg': msg}, ensure_ascii=False, separators=(',', ':'))
    return Reply(status, body, 'application/json; charset=utf-8')


SUCCESS = _reply(200, 0, 'OK')
BUSY = _reply(500, 1, '系统繁忙')
UNKNOWN_TOKEN = _reply(400, 3, 'token不存在')
DEFAULT_PARAMS = {Rejected.SIGNATURE: 'sig', Rejected.AMOUNT: 'amt', Rejected.MERCHANT: 'appid'}


def config():
    """The MidasSettings of this stage."""
    return settings.get().provider(NAME)


def login(payer):
    """The payer's full YSDK login from a request, checked; it is used for one call, never stored.

    `zoneid` defaults to 1; `roleid`, when given, is URL-encoded and appended as
    zoneid_roleid (查询余额接口: 角色需要进行urlencode).
    """
    if not isinstance(payer, dict):
        raise invalid('payer must be an object with the YSDK login', 'payer')
    found = {}
    for name in LOGIN_FIELDS:
        found[name] = _field(payer, name)
    if payer.get('login_type') not in LOGIN_TYPES:
        raise invalid('payer.login_type must be one of qq, wx, guest', 'payer.login_type')
    found['login_type'] = payer['login_type']
    zoneid = _field(payer, 'zoneid', '1')
    roleid = _field(payer, 'roleid', '')
    found['zoneid'] = f'{zoneid}_{sign.encode(roleid)}' if roleid else zoneid
    return found


def _field(payer, name, default=None):
    value = payer.get(name) or default
    if value is None:
        raise invalid(f'payer.{name} is required', f'payer.{name}')
    if not isinstance(value, str) or len(value) > MAX_FIELD or _CONTROL.search(value):
        raise invalid(f'payer.{name} must be a string of at most {MAX_FIELD} printable characters',
                      f'payer.{name}')
    return value


def validate_payer(payer):
    """Keep only openid, zoneid, pf and login_type: never the openkey or pfkey."""
    full = login(payer)
    return {name: full[name] for name in STORED_FIELDS}


def create(order, product, payer):
    """buy_goods_m for the order; the client gets token + url_params."""
    payitem = payitem_for(product, order['quantity'])
    params = {'payitem': payitem, 'goodsmeta': _goodsmeta(product), 'goodsurl': '',
              'appmode': '1', 'app_metadata': order['out_trade_no']}
    if order.get('client_ip'):
        params['userip'] = order['client_ip']
    try:
        data = api.call('buy_goods_m', login(payer), params)
    except api.MidasError as exc:
        raise api.as_api_error(exc) from None
    if not data.get('token') or not data.get('url_params'):
        raise ProviderError('buy_goods_m reply without token or url_params')
    store.put_lookup(_token_lookup(data['token']), order['order_id'])
    return Created(client_params={'token': data['token'], 'url_params': data['url_params']},
                   provider_data={'mode': ITEM, 'token': data['token'], 'payitem': payitem})


def payitem_for(product, quantity):
    """`itemid*price*num`, the price in whole Q点 (1 Q点 = 10 fen)."""
    item_id = product.extras(NAME).get('item_id')
    if not isinstance(item_id, str) or not item_id or re.search(r'[*;]', item_id):
        raise ApiError(422, 'not_supported',
                       f'product {product.id} has no providers.midas.item_id in the catalog', 'product_id')
    try:
        qpoints = money.qpoints_from_fen(product.price)
    except money.MoneyError:
        raise ApiError(422, 'price_not_whole_qpoints',
                       f'product {product.id} costs {product.price} fen, not a whole number of Q点 '
                       f'(10 fen): Midas cannot sell it', 'product_id') from None
    return f'{item_id}*{qpoints}*{quantity}'


def _goodsmeta(product):
    """`name*desc` from the catalog (providers.midas.goodsmeta), else the product's name and description."""
    configured = product.extras(NAME).get('goodsmeta')
    if isinstance(configured, str) and configured:
        return configured
    return f'{product.name}*{product.description or product.name}'


def parse_notification(inbound):
    """Verify a delivery callback and map it to our order (appmeta prefix + token)."""
    params = _single_values(inbound.query)
    received = params.pop('sig', '')
    ours = config()
    expected = sign.callback_sign(inbound.method, ours.callback_path, params, ours.appkey.value)
    # A Base64 sig never holds a space: a '+' decoded as a space by a proxy is put back.
    if not received or not signing.equal(received.replace(' ', '+'), expected):
        raise _refused(Rejected.SIGNATURE, 'sig', f'bad sig on billno {params.get("billno")!r}')
    if params.get('appid') != ours.appid:
        raise _refused(Rejected.MERCHANT, 'appid', f'appid {params.get("appid")!r} is not our offerid')
    billno = params.get('billno', '')
    if not billno:
        raise _refused(Rejected.MALFORMED, 'billno', 'billno is missing')
    split = payment_split(params)
    order = _order_for(params)
    total = _check_payitem(params.get('payitem', ''), order)
    return Notification(event_id=billno, kind=PAID, out_trade_no=order['out_trade_no'],
                        amount=total, provider_trade_no=billno,
                        recorded={'paid_amount': paid_total(split, total), 'payment_split': split})


PAYMENT_PARTS = {'amt': 1, 'payamt_coins': money.FEN_PER_QPOINT, 'pubacct_payamt_coins': money.FEN_PER_QPOINT}


def payment_split(params):
    """The callback's payment parts in fen: amt is in 0.1 Q点 (= fen), coins and vouchers in Q点;
    an empty or absent part is 0."""
    split = {}
    for name, fen_per_unit in PAYMENT_PARTS.items():
        try:
            split[name] = money.fen_from_integer_string(params.get(name) or '0') * fen_per_unit
        except money.MoneyError as exc:
            raise _refused(Rejected.MALFORMED, name, str(exc)) from None
    return split


def paid_total(split, price):
    """What the buyer paid for an item of `price` fen: amt alone when it is the price, else the
    three parts together, which must then be the price (anything else is refused)."""
    if split['amt'] == price:
        return price
    if sum(split.values()) == price:
        return price
    raise _refused(Rejected.AMOUNT, 'amt', f'paid {split} fen in all, the items cost {price} fen')


def _single_values(pairs):
    params = {}
    for key, value in pairs:
        if key in params:
            raise _refused(Rejected.MALFORMED, key, f'parameter {key!r} appears twice')
        params[key] = value
    return params


def _token_lookup(token):
    return f'{NAME}#token#{token}'


def _order_for(params):
    """Our item order named by the appmeta prefix (or, for a callback without appmeta, by the
    token), if the callback's token is the one buy_goods_m gave us for it."""
    from chalicelib import orders
    token = params.get('token', '')
    out_trade_no = params.get('appmeta', '').split('*', 1)[0]
    if out_trade_no:
        order = orders.find(out_trade_no)
    else:
        pointer = store.get_lookup(_token_lookup(token)) if token else None
        order = store.get_order(pointer['order_id']) if pointer else None
    data = (order or {}).get('provider_data') or {}
    if order is None or order['provider'] != NAME or not token or data.get('token') != token:
        raise Rejected(Rejected.UNKNOWN_ORDER, f'token {token!r} with appmeta {params.get("appmeta")!r} '
                                               f'is not one of our orders')
    return order


def _check_payitem(received, order):
    """The items are the ones we sold, and their price (Q点) is the order's amount (fen),
    which is returned."""
    items = _items(received)
    if items is None or items != _items(order['provider_data']['payitem']):
        raise _refused(Rejected.AMOUNT, 'payitem', f'payitem {received!r} is not what order '
                                                   f'{order["order_id"]} sold')
    total = sum(price * num for _, price, num in items) * money.FEN_PER_QPOINT
    if total != order['amount']:
        raise _refused(Rejected.AMOUNT, 'payitem', f'payitem is {total} fen, order is {order["amount"]}')
    return order['amount']


def _items(payitem):
    """[(id, price in Q点, num)] of `id*price*num;...`, or None if unreadable."""
    items = []
    for part in payitem.split(';'):
        match = _PAYITEM.match(part)
        if not match:
            return None
        items.append((match[1], Decimal(match[2]), int(match[3])))
    return items


def _refused(code, param, message):
    rejected = Rejected(code, message)
    rejected.param = param
    return rejected


def failure(rejected):
    """ret 3 for a token that is not ours, ret 1 for our own fault, ret 4 naming the bad parameter."""
    if rejected.code == Rejected.UNKNOWN_ORDER:
        return UNKNOWN_TOKEN
    if rejected.code == 'internal':
        return BUSY
    param = getattr(rejected, 'param', None) or DEFAULT_PARAMS.get(rejected.code, rejected.code)
    return _reply(400, 4, f'请求参数错误：（{param}）')


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    provider_refund_id: str = ''


def check_refund(order, amount):
    """Only coin orders are refunded (cancel_pay_m), as a whole, with the payer's login."""
    if (order.get('provider_data') or {}).get('mode') != COINS:
        raise ApiError(422, 'not_supported', 'Midas item purchases (道具直购) have no refund API')
    if amount != order['amount']:
        raise ApiError(422, 'partial_refund_not_supported',
                       'cancel_pay_m rolls back a whole coin payment: refund the full amount', 'amount')
    login(order['payer'])


def refund(order, refund):
    from chalicelib.providers.midas import coins
    coins.cancel(order)
    return RefundResult(True, f'cancel_pay_m:{order["order_id"]}')


def close(order):
    """Item orders have nothing to close at Midas (the token expires); a coin order whose pay_m
    outcome is unknown is rolled back with cancel_pay_m first."""
    data = order.get('provider_data') or {}
    if data.get('mode') == COINS and data.get('pay_m_unknown'):
        from chalicelib.providers.midas import coins
        coins.cancel(order)
