"""Tencent Midas's delivery (发货) callback, as Tencent calls it.

A GET to the delivery URL. `sig` is the OpenAPI V3 signature: every other
parameter, each value first encoded the callback's way (bytes outside
0-9 a-z A-Z ! * ( ) become %XX), sorted, joined as k=v with &; the source is
GET & rawurlencode(path) & rawurlencode(that); sig = Base64 HMAC-SHA1 keyed
with strtr(appkey, "-_", "+/") followed by &. The path is the delivery URL's, as set in the
Midas console.

The callback names the order by `token` (buy_goods_m's, the order's
client_params.token) and `appmeta` (our out_trade_no + Midas's suffix), and
repeats `payitem`, `itemid*price in Q点*num`: from the order's client_params
when Paygate shows it there, else made from the stage's catalog.
"""
import base64
import hashlib
import hmac
import json
import secrets
from urllib.parse import urlsplit

from paygate_cli.client import Outgoing
from paygate_cli.errors import CliError
from paygate_cli.signers import Prepared, china_time

NAME = 'midas'
SUBJECT = 'order'
STATES = ('paid',)
PATH = '/notify/midas'
APPKEY = 'PAYGATE_MIDAS_APPKEY'
RAW_SAFE = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.')
CALLBACK_SAFE = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*()')
FEN_PER_QPOINT = 10


def _percent(text, safe):
    return ''.join(chr(b) if b in safe else '%%%02X' % b for b in text.encode('utf-8'))


def rawurlencode(text):
    """PHP's rawurlencode, `~` included: everything but A-Z a-z 0-9 - _ . becomes %XX."""
    return _percent(text, RAW_SAFE)


def encode_value(text):
    """SnsSigCheck::encodeValue, the callback's extra step."""
    return _percent(text, CALLBACK_SAFE)


def source(method, path, params):
    joined = '&'.join(f'{k}={params[k]}' for k in sorted(params) if k != 'sig')
    return '&'.join([method.upper(), rawurlencode(path), rawurlencode(joined)])


def make_sig(method, path, params, appkey):
    """SnsSigCheck::makeSig: Base64 HMAC-SHA1 of the source, keyed with strtr(appkey, '-_', '+/') + '&'."""
    secret = appkey.replace('-', '+').replace('_', '/')
    mac = hmac.new((secret + '&').encode('utf-8'), source(method, path, params).encode('utf-8'), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode('ascii')


def callback_sig(path, params, appkey):
    return make_sig('GET', path, {k: encode_value(v) for k, v in params.items() if k != 'sig'}, appkey)


def build(order, state, settings, options):
    client_params = order.get('client_params', {})
    token = client_params.get('token')
    if not token:
        raise CliError(f'order {order["order_id"]} shows no client_params.token: is it a Midas item order?')
    amount = order['amount'] if options.amount is None else options.amount
    fields = {'openid': 'OPENID-PAYGATE-CLI', 'appid': settings.require('PAYGATE_MIDAS_APPID'),
              'ts': str(int(options.now.timestamp())), 'payitem': client_params.get('payitem') or
              payitem(order, settings), 'token': token,
              'billno': f'-APPDJSX{secrets.randbelow(10 ** 5)}-{china_time(options.now, "%Y%m%d")}-'
                        f'{secrets.randbelow(10 ** 10)}',
              'version': 'v3', 'zoneid': '1', 'providetype': '5', 'amt': str(amount),
              'payamt_coins': '0', 'pubacct_payamt_coins': '', 'appmeta': f'{order["out_trade_no"]}*qdqb*qq',
              'clientver': 'android', 'channel_id': '73213123-android-73213123-qq-1104466820'}
    path = callback_path(settings, options)
    fields['sig'] = callback_sig(path, fields, settings.require(APPKEY))
    encoded = {k: encode_value(v) for k, v in fields.items() if k != 'sig'}
    signed_over = f'{source("GET", path, encoded)}  (key <{APPKEY}>&)'
    return Prepared(f'Midas delivery callback for order {order["order_id"]}', fields, signed_over, render)


def callback_path(settings, options):
    """The path Tencent signs: the one set in the Midas console, by default Paygate's public URL's
    path (or, without it, --url's) followed by /notify/midas."""
    configured = settings.get('PAYGATE_MIDAS_CALLBACK_PATH')
    if configured:
        return configured
    public_url = settings.get('PAYGATE_PUBLIC_URL')
    base = urlsplit(public_url).path if public_url else options.paygate_path
    return base.rstrip('/') + PATH


def payitem(order, settings):
    """`itemid*price*num` from the catalog's providers.midas.item_id and the order's amount."""
    catalog = settings.get('PAYGATE_CATALOG')
    if catalog is None:
        raise CliError(f'order {order["order_id"]} shows no payitem, and PAYGATE_CATALOG is not set '
                       f'in {settings.origin}')
    try:
        products = {product['id']: product for product in json.loads(catalog)}
    except (ValueError, TypeError, KeyError):
        raise CliError(f'PAYGATE_CATALOG in {settings.origin} is not a catalog (a JSON list of products)') \
            from None
    product = products.get(order['product_id'], {})
    item_id = product.get('providers', {}).get('midas', {}).get('item_id')
    if not item_id:
        raise CliError(f'product {order["product_id"]} has no providers.midas.item_id in the catalog')
    quantity = order['quantity']
    return f'{item_id}*{order["amount"] // quantity // FEN_PER_QPOINT}*{quantity}'


def render(fields):
    query = '&'.join(f'{k}={rawurlencode(v)}' for k, v in fields.items())
    return Outgoing('GET', PATH, query=query)


def accepted(answer):
    try:
        return json.loads(answer.body).get('ret') == 0
    except (ValueError, AttributeError):
        return False
