"""Alipay's open API gateway: common parameters, signed requests, verified answers.

docs/providers/alipay.md#query-close-and-refund. Every request carries the common parameters and a
`biz_content` JSON string whose exact bytes are signed and sent; in
certificate mode also `app_cert_sn` and `alipay_root_cert_sn`.
"""
import json
from datetime import timedelta, timezone

from chalicelib import clock, outbound, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.alipay import certs, responses, sign

NAME = 'alipay'
CHINA = timezone(timedelta(hours=8))
FORM = 'application/x-www-form-urlencoded;charset=utf-8'


def config():
    return settings.get().provider(NAME)


def china_time(moment):
    """`yyyy-MM-dd HH:mm:ss` in GMT+8, the form of `timestamp` and `time_expire`."""
    return moment.astimezone(CHINA).strftime('%Y-%m-%d %H:%M:%S')


def request_params(method, biz_content, **extra):
    """The common parameters of a request, with `biz_content` as compact JSON."""
    alipay = config()
    params = {'app_id': alipay.app_id.value, 'method': method, 'format': 'JSON', 'charset': 'utf-8',
              'sign_type': 'RSA2', 'timestamp': china_time(clock.now()), 'version': '1.0',
              'biz_content': json.dumps(biz_content, ensure_ascii=False, separators=(',', ':')),
              **extra}
    if alipay.cert_mode:
        params['app_cert_sn'] = certs.cert_sn(alipay.app_cert.value)
        params['alipay_root_cert_sn'] = certs.root_cert_sn(alipay.root_cert.value)
    return params


def order_string(biz_content, notify_url):
    """The signed `alipay.trade.app.pay` order string the app hands to the Alipay SDK."""
    params = request_params('alipay.trade.app.pay', biz_content, notify_url=notify_url)
    return sign.signed_query(params, config().app_private_key.value)


def pay_url(biz_content, notify_url, return_url=None):
    """The signed `alipay.trade.wap.pay` request as the URL the buyer's browser opens (a GET of the
    gateway): Alipay's mobile cashier."""
    alipay = config()
    params = request_params('alipay.trade.wap.pay', biz_content, notify_url=notify_url,
                            return_url=return_url or '')
    separator = '&' if '?' in alipay.gateway_url else '?'
    return alipay.gateway_url + separator + sign.signed_query(params, alipay.app_private_key.value)


def call(method, biz_content, **extra):
    """POST one API call (`extra`: common parameters such as notify_url) to the gateway; return its
    verified responses.Answer."""
    alipay = config()
    body = sign.signed_query(request_params(method, biz_content, **extra), alipay.app_private_key.value)
    reply = outbound.request('POST', alipay.gateway_url, data=body.encode('ascii'),
                             headers={'Content-Type': FORM})
    if reply.status_code != 200:
        raise ProviderError(f'Alipay gateway answered HTTP {reply.status_code}',
                            code=f'http_{reply.status_code}', retryable=True)
    try:
        text = reply.content.decode('utf-8')
    except UnicodeDecodeError:
        raise ProviderError('Alipay answer is not UTF-8', retryable=True) from None
    cert_sn = certs.cert_sn(alipay.alipay_public_cert.value) if alipay.cert_mode else None
    return responses.verified(text, method, alipay.verify_key, cert_sn)
