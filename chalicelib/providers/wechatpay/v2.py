"""WeChat Pay API v2 client (XML; MD5 or HMAC-SHA256 with the API key), docs/providers/wechatpay.md.

Requests: unifiedorder (JSAPI, APP, NATIVE), orderquery, closeorder, refund
(client certificate); downloadbill goes through `post` (wechatpay/bill.py).
An order's calls carry the appid it was made with (the mobile app's for APP).
Every reply's `return_code`, `sign`, `appid` and `mch_id` are checked before
anything in it is believed.
"""
from chalicelib import money, outbound, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import PAID, Created, Notification, RefundResult
from chalicelib.providers.wechatpay import common, sign, xmlfields

RETRYABLE = frozenset({'SYSTEMERROR', 'BIZERR_NEED_RETRY', 'FREQUENCY_LIMITED', 'USERPAYING'})
BODY_BYTES = 128
TRADE_TYPES = {common.JSAPI: 'JSAPI', common.APP: 'APP', common.NATIVE: 'NATIVE'}
PRODUCT_ID_LENGTH = 32


def create(order, product, openid):
    """unifiedorder with the scene's trade_type: what the client pays with."""
    config, scene = common.config(), order['scene']
    appid = common.appid_for(scene)
    params = {
        'body': _truncate(product.name, BODY_BYTES),
        'out_trade_no': order['out_trade_no'],
        'total_fee': str(order['amount']),
        'spbill_create_ip': order.get('client_ip') or '127.0.0.1',
        'notify_url': settings.get().notify_url(common.NAME),
        'trade_type': TRADE_TYPES[scene],
        'time_expire': common.beijing(order['expires_at']).strftime('%Y%m%d%H%M%S'),
    }
    if scene == common.JSAPI:
        params['openid'] = openid
    if scene == common.NATIVE:
        params['product_id'] = product.id[:PRODUCT_ID_LENGTH]
    fields = _call('/pay/unifiedorder', params, appid=appid)
    _require_success(fields)
    kept = {'api_version': 'v2', 'sign_type': config.sign_type, 'appid': appid}
    if scene == common.NATIVE:
        return Created(client_params=common.native_params(_given(fields, 'code_url')), provider_data=kept)
    prepay_id = _given(fields, 'prepay_id')
    key, timestamp, nonce = config.key.value, common.timestamp(), common.nonce()
    params = (sign.v2_app_params(appid, config.mch_id, prepay_id, key, config.sign_type, timestamp, nonce)
              if scene == common.APP
              else sign.v2_pay_params(appid, prepay_id, key, config.sign_type, timestamp, nonce))
    return Created(client_params=params, provider_data={**kept, 'prepay_id': prepay_id})


def _given(fields, name):
    if not fields.get(name):
        raise ProviderError(f'unifiedorder reply without {name}')
    return fields[name]


def query(order):
    """The order's payment as a Notification, or None while it is unpaid."""
    fields = _call('/pay/orderquery', {'out_trade_no': order['out_trade_no']}, appid=common.appid_of(order))
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
    fields = _call('/pay/closeorder', {'out_trade_no': order['out_trade_no']}, appid=common.appid_of(order))
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
    fields = _call('/secapi/pay/refund', params, cert=clientcert.path(), appid=common.appid_of(order))
    _require_success(fields)
    return RefundResult(succeeded=False, provider_refund_id=fields.get('refund_id', ''))


def post(path, params, cert=None, appid=None):
    """POST a signed request (as the mini program's appid unless `appid` says) and return the reply
    as received.

    For downloadbill, whose success is the bill file itself (neither XML nor
    signed); every other call goes through _call.
    """
    config = common.config()
    if config.key is None:
        raise ProviderError('PAYGATE_WECHATPAY_KEY is not configured (needed for API v2)')
    key, sign_type = config.key.value, config.sign_type
    request = {'appid': appid or config.appid, 'mch_id': config.mch_id, 'nonce_str': common.nonce(),
               'sign_type': sign_type, **params}
    request['sign'] = sign.v2_sign(request, key, sign_type)
    return outbound.request('POST', config.base_url + path, cert=cert,
                            data=xmlfields.build(request).encode('utf-8'),
                            headers={'Content-Type': 'text/xml; charset=utf-8'})


def _call(path, params, cert=None, appid=None):
    """POST a signed request; return the reply's fields once its signature and ids check out."""
    appid = appid or common.config().appid
    reply = post(path, params, cert, appid)
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
    if not sign.v2_verify(fields, key, sign_type):
        raise ProviderError(f'{path}: reply signature does not verify', code='signature')
    if (fields.get('appid'), fields.get('mch_id')) != (appid, config.mch_id):
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
