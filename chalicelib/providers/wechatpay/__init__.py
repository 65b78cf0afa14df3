"""WeChat Pay for Mini Programs: API v2 (XML) and v3 (JSON), chosen per configuration.

New orders use PAYGATE_WECHATPAY_API_VERSION; each order records its version
(`provider_data.api_version`), and query / close / refund follow the order.
Notifications arrive on two routes, each with its own module:
/notify/wechatpay (v2 XML, payments and refunds: notify_v2) and
/notify/wechatpay/v3 (v3 JSON: notify_v3).

The payer is `{"openid"}` or `{"js_code"}` (exchanged through jscode2session
when the order is created); only the openid is kept.
"""
import importlib
from dataclasses import replace
from datetime import timedelta

from chalicelib import clock
from chalicelib.errors import ApiError, invalid
from chalicelib.providers import TradeNoRule
from chalicelib.providers.wechatpay import common

NAME = common.NAME
# 商户订单号: 6-32个字符内，只能是数字、大小写字母_-|* (v2 unifiedorder, v3 JSAPI).
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_\-|*]{6,32}', '6-32 letters, digits, _, -, | or *')
# WeChat Pay documents that an order may be closed only 5 minutes after it was made.
CLOSE_AFTER = timedelta(minutes=5)


def _api(version):
    return importlib.import_module(f'chalicelib.providers.wechatpay.{version}')


def _for(order):
    return _api(order.get('provider_data', {}).get('api_version', 'v2'))


def validate_payer(payer):
    """`openid` or `js_code`, exactly one; the openid is kept, a js_code never is."""
    given = [name for name in ('openid', 'js_code') if payer.get(name)]
    if len(given) != 1:
        raise invalid('payer needs exactly one of openid or js_code', 'payer')
    value = payer[given[0]]
    if len(value) > 128 or not value.isprintable():
        raise invalid(f'payer.{given[0]} is not a valid WeChat value', f'payer.{given[0]}')
    return {'openid': payer['openid']} if given == ['openid'] else {}


def create(order, product, payer):
    from chalicelib.providers.wechatpay import login
    openid = payer.get('openid') or login.openid(payer['js_code'])
    created = _api(common.config().api_version).create(order, product, openid)
    return replace(created, provider_data={**created.provider_data, 'openid': openid})


def query(order):
    return _for(order).query(order)


def close(order):
    if clock.now() - clock.parse_rfc3339(order['created_at']) < CLOSE_AFTER:
        raise ApiError(409, 'too_early', 'WeChat Pay closes an order only 5 minutes after it was '
                                         'created; try again later')
    _for(order).close(order)


def refund(order, refund):
    return _for(order).refund(order, refund)
