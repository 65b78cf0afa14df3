"""Tencent Midas / YSDK item direct purchase (道具直购) and game coins, docs/providers/midas.md.

Create: buy_goods_m with payitem `itemid*price_in_Q点*num` and goodsmeta from
the catalog, app_metadata = our out_trade_no; the client gets `token` and
`url_params` for the YSDK buyGoods call. Tencent then calls the delivery
(发货) URL (notify.py). Game coins (get_balance_m, pay_m, cancel_pay_m,
present_m) are in coins.py; a coin order is rolled back with cancel_pay_m
when it is refunded, or closed after a pay_m whose outcome is unknown.
Modules: sign (OpenAPI V3 signatures), api (signed calls), notify, coins.
"""
import re

from chalicelib import money, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import (Closable, Created, InvalidPayer, NotSupported, Refundable,
                                           RefundResult, Scene, TradeNoRule)

NAME = 'midas'
# Sent as app_metadata and echoed at the head of appmeta, whose fields Tencent separates with '*'.
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_-]{1,64}', '1-64 letters, digits, _ or -')
CAPABILITIES = (Closable, Refundable)
# Inside the game (YSDK), item purchases and coin payments alike.
SCENES = (Scene('app'),)
LOGIN_TYPES = ('qq', 'wx', 'guest')
LOGIN_FIELDS = ('openid', 'openkey', 'pf', 'pfkey')
STORED_FIELDS = ('openid', 'zoneid', 'pf', 'login_type')
ITEM, COINS = 'item', 'coins'
MAX_FIELD = 512
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def config():
    """The MidasSettings of this stage."""
    return settings.get().provider(NAME)


def login(payer):
    """The payer's full YSDK login from a request, checked; it is used for one call, never stored.

    `zoneid` defaults to 1; `roleid`, when given, is URL-encoded and appended as
    zoneid_roleid (查询余额接口: 角色需要进行urlencode).
    """
    from chalicelib.providers.midas import sign
    if not isinstance(payer, dict):
        raise InvalidPayer('payer must be an object with the YSDK login')
    found = {name: _field(payer, name) for name in LOGIN_FIELDS}
    if payer.get('login_type') not in LOGIN_TYPES:
        raise InvalidPayer('payer.login_type must be one of qq, wx, guest', 'payer.login_type')
    found['login_type'] = payer['login_type']
    zoneid = _field(payer, 'zoneid', '1')
    roleid = _field(payer, 'roleid', '')
    found['zoneid'] = f'{zoneid}_{sign.encode(roleid)}' if roleid else zoneid
    return found


def _field(payer, name, default=None):
    value = payer.get(name) or default
    if value is None:
        raise InvalidPayer(f'payer.{name} is required', f'payer.{name}')
    if not isinstance(value, str) or len(value) > MAX_FIELD or _CONTROL.search(value):
        raise InvalidPayer(f'payer.{name} must be a string of at most {MAX_FIELD} printable characters',
                           f'payer.{name}')
    return value


def validate_payer(payer, scene):
    """Keep only openid, zoneid, pf and login_type: never the openkey or pfkey."""
    full = login(payer)
    return {name: full[name] for name in STORED_FIELDS}


def create(order, product, payer):
    """buy_goods_m for the order; the client gets token + url_params."""
    from chalicelib.providers.midas import api, notify
    payitem = payitem_for(product, order['quantity'])
    params = {'payitem': payitem, 'goodsmeta': _goodsmeta(product), 'goodsurl': '',
              'appmode': '1', 'app_metadata': order['out_trade_no']}
    if order.get('client_ip'):
        params['userip'] = order['client_ip']
    data = api.call('buy_goods_m', login(payer), params)
    if not data.get('token') or not data.get('url_params'):
        raise ProviderError('buy_goods_m reply without token or url_params')
    return Created(client_params={'token': data['token'], 'url_params': data['url_params'],
                                  'payitem': payitem},
                   provider_data={'mode': ITEM, 'token': data['token'], 'payitem': payitem},
                   lookups=(notify.token_lookup(data['token']),))


def payitem_for(product, quantity):
    """`itemid*price*num`, the price in whole Q点 (1 Q点 = 10 fen)."""
    item_id = product.extras(NAME).get('item_id')
    if not isinstance(item_id, str) or not item_id or re.search(r'[*;]', item_id):
        raise NotSupported('not_supported', f'product {product.id} has no providers.midas.item_id in the '
                                            'catalog', 'product_id')
    try:
        qpoints = money.qpoints_from_fen(product.price)
    except money.MoneyError:
        raise NotSupported('price_not_whole_qpoints',
                           f'product {product.id} costs {product.price} fen, not a whole number of Q点 '
                           f'(10 fen): Midas cannot sell it', 'product_id') from None
    return f'{item_id}*{qpoints}*{quantity}'


def _goodsmeta(product):
    """`name*desc` from the catalog (providers.midas.goodsmeta), else the product's name and description."""
    configured = product.extras(NAME).get('goodsmeta')
    if isinstance(configured, str) and configured:
        return configured
    return f'{product.name}*{product.description or product.name}'


def check_refund(order, amount):
    """Only coin orders are refunded (cancel_pay_m), as a whole, with the payer's login."""
    if (order.get('provider_data') or {}).get('mode') != COINS:
        raise NotSupported('not_supported', 'Midas item purchases (道具直购) have no refund API')
    if amount != order['amount']:
        raise NotSupported('partial_refund_not_supported',
                           'cancel_pay_m rolls back a whole coin payment: refund the full amount', 'amount')
    login(order['payer'])


def refund(order, refund):
    from chalicelib.providers.midas import coins
    coins.cancel(order)
    return RefundResult(True, f'cancel_pay_m:{order["out_trade_no"]}')


def close(order, now):
    """Item orders have nothing to close at Midas (the token expires); a coin order whose pay_m
    outcome is unknown is rolled back with cancel_pay_m first."""
    data = order.get('provider_data') or {}
    if data.get('mode') == COINS and data.get('pay_m_unknown'):
        from chalicelib.providers.midas import coins
        coins.cancel(order)
