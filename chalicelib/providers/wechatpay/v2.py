"""WeChat Pay API v2 (XML; MD5 or HMAC-SHA256 with the API key). PROVIDERS.md §3.1.

Requests: unifiedorder (JSAPI), orderquery, closeorder, refund (client
certificate); downloadbill goes through `post` (wechatpay/bill.py). Every reply's `return_code`, `sign`, `appid` and `mch_id` are
checked before anything in it is believed.
"""
import hashlib
import hmac

from chalicelib import money, outbound, settings, signing
from chalicelib.errors import ProviderError
from chalicelib.providers import PAID, Created, Notification
from chalicelib.providers.wechatpay import common, xmlfields
from chalicelib.providers.wechatpay.common import RefundResult

MD5, HMAC_SHA256 = 'MD5', 'HMAC-SHA256'
RETRYABLE = frozenset({'SYSTEMERROR', 'BIZERR_NEED_RETRY', 'FREQUENCY_LIMITED', 'USERPAYING'})
BODY_BYTES = 128


def sign(params, key, sign_type=MD5):
    """Upper-case hex MD5 or HMAC-SHA256 of the sorted non-empty pairs (not `sign`) + `&key=`."""
    text = (signing.sorted_pairs(params) + '&key=' + key).encode('utf-8')
    if sign_type == HMAC_SHA256:
        return hmac.new(key.encode('utf-8'), text, hashlib.sha256).hexdigest().upper()
    if sign_type == MD5:
        return hashlib.md5(text).hexdigest().upper()
    raise ValueError(f'unknown sign type {sign_type!r}')


def verify(fields, key, sign_type):
    """True iff `fields['sign']` signs every other received field with `key`."""
    return signing.equal(fields.get('sign', ''), sign(fields, key, sign_type))


def pay_params(appid, prepay_id, key, sign_type, timestamp, nonce):
    """wx.requestPayment's parameters: the second signature, over the five fields."""
    params = {'appId': appid, 'timeStamp': timestamp, 'nonceStr': nonce,
              'package': f'prepay_id={prepay_id}', 'signType': sign_type}
    return {**params, 'paySign': sign(params, key, sign_type)}


def create(order, product, openid):
    config = common.config()
    fields = _call('/pay/unifiedorder', {
        'body': _truncate(product.name, BODY_BYTES),
        'out_trade_no': order['out_trade_no'],
        'total_fee': str(order['amount']),
        'spbill_create_ip': order.get('client_ip') or '127.0.0.1',
        'notify_url': settings.get().notify_url(common.NAME),
        'trade_type': 'JSAPI',
        'openid': openid,
        'time_expire': common.beijing(order['expires_at']).strftime('%Y%m%d%H%M%S'),
    })
    _require_success(fields)
    if not fields.get('prepay_id'):
        raise ProviderError('unifiedorder reply without prepay_id')
    params = pay_params(config.appid, fields['prepay_id'], config.key.value, config.sign_type,
                        common.timestamp(), common.nonce())
    return Created(client_params=params,
                   provider_data={'api_version': 'v2', 'sign_type': config.sign_type,
                                  'prepay_id': fields['prepay_id']})


def query(order):
    """The order's payment as a Notification, or None while it is unpaid."""
    fields = _call('/pay/orderquery', {'out_trade_no': order['out_trade_no']})
    if fields.get('result_code') != 'SUCCESS' and fields.get('err_code') == 'ORDERNOTEXIST':
        return None
    _require_success(fields)
    if fields.get('trade_state') not in ('SUCCESS', 'REFUND'):
        return None
    if fields.get('out_trade_no') != order['out_trade_no']:
        raise ProviderError(f'orderquery answered for {fields.get("out_trade_no")!r}')
    try:
        amount = money.fen_from_integer_string(fields.get('total_fee'))
    except money.MoneyError as exc:
        raise ProviderError(str(exc)) from None
    return Notification(event_id=f'query:{fields.get("transaction_id", "")}', kind=PAID,
                        out_trade_no=order['out_trade_no'], amount=amount,
                        provider_trade_no=fields.get('transaction_id', ''))


def close(order):
    fields = _call('/pay/closeorder', {'out_trade_no': order['out_trade_no']})
    if fields.get('result_code') != 'SUCCESS' and fields.get('err_code') == 'ORDERCLOSED':
        return
    _require_success(fields)


def refund(order, refund):
    """Ask for a refund; WeChat accepts it now and reports the outcome by notification."""
    from chalicelib.providers.wechatpay import clientcert
    params = {'out_trade_no': order['out_trade_no'], 'out_refund_no': refund['refund_no'],
              'total_fee': str(order['amount']), 'refund_fee': str(refund['amount']),
              'notify_url': settings.get().notify_url(common.NAME)}
    if refund.get('reason'):
        params['refund_desc'] = refund['reason'][:80]
    fields = _call('/secapi/pay/refund', params, cert=clientcert.path())
    _require_success(fields)
    return RefundResult(succeeded=False, provider_refund_id=fields.get('refund_id', ''))


def post(path, params, cert=None):
    """POST a signed request and return the reply as received.

    For downloadbill, whose success is the bill file itself (neither XML nor
    signed); every other call goes through _call.
    """
    config = common.config()
    if config.key is None:
        raise ProviderError('PAYGATE_WECHATPAY_KEY is not configured (needed for API v2)')
    key, sign_type = config.key.value, config.sign_type
    request = {'appid': config.appid, 'mch_id': config.mch_id, 'nonce_str': common.nonce(),
               'sign_type': sign_type, **params}
    request['sign'] = sign(request, key, sign_type)
    return outbound.request('POST', config.base_url + path, cert=cert,
                            data=xmlfields.build(request).encode('utf-8'),
                            headers={'Content-Type': 'text/xml; charset=utf-8'})


def _call(path, params, cert=None):
    """POST a signed request; return the reply's fields once its signature and ids check out."""
    reply = post(path, params, cert)
    config = common.config()
    key, sign_type = config.key.value, config.sign_type
    try:
        fields = xmlfields.parse(reply.content)
    except xmlfields.XMLError as exc:
        raise ProviderError(f'{path}: unreadable reply (HTTP {reply.status_code}): {exc}',
                            retryable=reply.status_code >= 500) from None
    if fields.get('return_code') != 'SUCCESS':
        raise ProviderError(f'{path}: {fields.get("return_msg") or "return_code FAIL"}',
                            code='return_code')
    if not verify(fields, key, sign_type):
        raise ProviderError(f'{path}: reply signature does not verify', code='signature')
    if (fields.get('appid'), fields.get('mch_id')) != (config.appid, config.mch_id):
        raise ProviderError(f'{path}: reply for another appid / mch_id', code='merchant')
    return fields


def _require_success(fields):
    if fields.get('result_code') != 'SUCCESS':
        code = fields.get('err_code', 'FAIL')
        raise ProviderError(f'{code}: {fields.get("err_code_des", "")}'.strip(': '), code=code,
                            retryable=code in RETRYABLE)


def _truncate(text, limit):
    """At most `limit` UTF-8 bytes, never cutting a character in half."""
    return text.encode('utf-8')[:limit].decode('utf-8', errors='ignore')
