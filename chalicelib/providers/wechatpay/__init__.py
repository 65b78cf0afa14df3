"""WeChat Pay: API v2 (XML) and v3 (JSON), chosen per configuration (docs/providers/wechatpay.md).

Scenes: `jsapi` (a mini program's wx.requestPayment), `app` (a mobile app's
WeChat SDK, with the open-platform app's appid), `native` (a QR code the
buyer scans), `h5` (a mobile browser outside WeChat; API v3 only). Each order
records the appid it was made with (`provider_data.appid`); a notification is
applied only to an order of the appid it carries.

New orders use PAYGATE_WECHATPAY_API_VERSION; each order records its version
(`provider_data.api_version`), and query / close / refund follow the order.
Notifications arrive on two routes, each with its own module:
/notify/wechatpay (v2 XML, payments and refunds: notify_v2) and
/notify/wechatpay/v3 (v3 JSON: notify_v3).

In the `jsapi` scene the payer is `{"openid"}` or `{"js_code"}` (exchanged
through jscode2session when the order is created); only the openid is kept.
The other scenes take no payer.
Modules: sign (both versions' signatures), crypto (their ciphers), v2 and v3
(the API clients), notify_v2 and notify_v3, login, clientcert, xmlfields, bill.
"""
import importlib
import logging
from dataclasses import replace
from datetime import timedelta

from chalicelib import clock
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import (Billable, Closable, InvalidPayer, KeyRefreshing, NotSupported,
                                           NotYet, Queryable, Refundable, Scene, TradeNoRule)
from chalicelib.providers.wechatpay import common

NAME = common.NAME
# 商户订单号: 6-32个字符内，只能是数字、大小写字母_-|* (v2 unifiedorder, v3 JSAPI).
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_\-|*]{6,32}', '6-32 letters, digits, _, -, | or *')
CAPABILITIES = (Closable, Refundable, Queryable, Billable, KeyRefreshing)
SCENES = (Scene(common.JSAPI), Scene(common.APP), Scene(common.NATIVE),
          Scene(common.H5, client_ip=True, urls=('return_url',)))
# WeChat Pay documents that an order may be closed only 5 minutes after it was made.
CLOSE_AFTER = timedelta(minutes=5)
log = logging.getLogger('paygate.wechatpay')


def config():
    return common.config()


def _api(version):
    return importlib.import_module(f'chalicelib.providers.wechatpay.{version}')


def _for(order):
    return _api(order.get('provider_data', {}).get('api_version', 'v2'))


def validate_payer(payer, scene):
    """jsapi: `openid` or `js_code`, exactly one; the openid is kept, a js_code never is.
    The other scenes take no payer, and need their settings."""
    if scene != common.JSAPI:
        _check_enabled(scene)
        if payer:
            raise InvalidPayer(f'scene {scene} takes no payer; leave payer out')
        return {}
    given = [name for name in ('openid', 'js_code') if payer.get(name)]
    if not given:
        raise InvalidPayer('payer.openid is required (or payer.js_code from wx.login)', 'payer.openid')
    if len(given) > 1:
        raise InvalidPayer('send payer.openid or payer.js_code, not both', 'payer.js_code')
    value = payer[given[0]]
    if len(value) > 128 or not value.isprintable():
        raise InvalidPayer(f'payer.{given[0]} is not a valid WeChat value', f'payer.{given[0]}')
    return {'openid': payer['openid']} if given == ['openid'] else {}


def _check_enabled(scene):
    config = common.config()
    if scene == common.APP and not config.app_appid:
        raise NotSupported('not_supported', 'scene app needs PAYGATE_WECHATPAY_APP_APPID (the mobile app\'s '
                                            'appid from the WeChat open platform)', 'scene')
    if scene == common.H5 and config.api_version != 'v3':
        raise NotSupported('not_supported', 'scene h5 needs API v3 (PAYGATE_WECHATPAY_API_VERSION v3)', 'scene')


def create(order, product, payer):
    if order['scene'] != common.JSAPI:
        return _api(common.config().api_version).create(order, product, None)
    from chalicelib.providers.wechatpay import login
    openid = payer.get('openid') or login.openid(payer['js_code'])
    created = _api(common.config().api_version).create(order, product, openid)
    return replace(created, provider_data={**created.provider_data, 'openid': openid})


def query(order):
    return _for(order).query(order)


def close(order, now):
    if now - clock.parse_rfc3339(order['created_at']) < CLOSE_AFTER:
        raise NotYet('too_early', 'WeChat Pay closes an order only 5 minutes after it was created; '
                                  'try again later')
    _for(order).close(order)


def check_refund(order, amount):
    """WeChat Pay refunds any paid order, in part or whole (v2 needs the client certificate)."""


def refund(order, refund):
    return _for(order).refund(order, refund)


def download_bill(date):
    from chalicelib.providers.wechatpay import bill
    return bill.download(date)


def refresh_keys():
    """The platform certificates (API v3). When the WeChat Pay public key is configured,
    notifications verify without them, so a failed download is logged, not raised."""
    wechatpay = common.config()
    if wechatpay.private_key is None or wechatpay.apiv3_key is None:
        return []
    from chalicelib.providers.wechatpay import v3
    try:
        return v3.download_certificates()
    except ProviderError as exc:
        if wechatpay.public_key is None:
            raise
        log.warning('WeChat Pay platform certificates not refreshed (the public key still verifies): %s', exc)
        return []
