"""Tencent Midas / YSDK item direct purchase (道具直购) and game coins, docs/providers/midas.md.

Create: buy_goods_m with payitem `itemid*price_in_Q点*num` and goodsmeta from
the catalog, app_metadata = our out_trade_no; the client gets `token` and
`url_params` for the YSDK buyGoods call. Tencent then calls the delivery
(发货) URL (notify.py). Game coins (get_balance_m, pay_m, cancel_pay_m,
present_m) are in coins.py; a coin order is rolled back with cancel_pay_m
when it is refunded, or closed after a pay_m whose outcome is unknown.
Modules: common (name, settings, the payer's login), sign (OpenAPI V3 signatures), api (signed
calls), notify, coins.
"""
import re

from chalicelib import money
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import (Closable, Created, NotSupported, Refundable, RefundResult, Scene,
                                           TradeNoRule)
from chalicelib.providers.midas import api, coins
from chalicelib.providers.midas.common import COINS, ITEM, NAME, login, token_lookup, validate_payer

# The contract's functions (validate_payer comes from common, which every Midas module shares).
__all__ = ('NAME', 'OUT_TRADE_NO', 'CAPABILITIES', 'SCENES', 'validate_payer', 'create', 'check_refund', 'refund',
           'close')
# Sent as app_metadata and echoed at the head of appmeta, whose fields Tencent separates with '*'.
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_-]{1,64}', '1-64 letters, digits, _ or -')
CAPABILITIES = (Closable, Refundable)
# Inside the game (YSDK), item purchases and coin payments alike.
SCENES = (Scene('app'),)


def create(order, product, payer):
    """buy_goods_m for the order; the client gets token + url_params."""
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
                   lookups=(token_lookup(data['token']),))


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
    coins.cancel(order)
    return RefundResult(True, f'cancel_pay_m:{order["out_trade_no"]}')


def close(order, now):
    """Item orders have nothing to close at Midas (the token expires); a coin order whose pay_m
    outcome is unknown is rolled back with cancel_pay_m first."""
    data = order.get('provider_data') or {}
    if data.get('mode') == COINS and data.get('pay_m_unknown'):
        coins.cancel(order)
