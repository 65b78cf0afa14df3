"""POST /notify/wechatpay: API v2 payment and refund notifications (XML).

Payments are signed (MD5 or HMAC-SHA256 over every received field but
`sign`); the algorithm is the one the order was made with, recorded on the
order, because WeChat may leave `sign_type` out. Refund notifications carry
no signature: their `req_info` is encrypted with a key derived from the API
key, and only WeChat Pay can produce one that decrypts to our order.
"""
from chalicelib import money, orders
from chalicelib.providers import NOTHING, PAID, REFUND_FAILED, REFUNDED, Notification, Rejected, Reply
from chalicelib.providers.wechatpay import common, crypto, v2, xmlfields

NAME = common.NAME
XML = 'text/xml'
SUCCESS = Reply(200, '<xml><return_code><![CDATA[SUCCESS]]></return_code>'
                     '<return_msg><![CDATA[OK]]></return_msg></xml>', XML)
REFUND_KINDS = {'SUCCESS': REFUNDED, 'REFUNDCLOSE': REFUND_FAILED}
REASONS = {Rejected.SIGNATURE: 'invalid signature', Rejected.MALFORMED: 'malformed notification',
           Rejected.MERCHANT: 'not our appid or mch_id', Rejected.UNKNOWN_ORDER: 'unknown order',
           Rejected.AMOUNT: 'amount does not match the order', 'too_large': 'body too large'}


def failure(rejected):
    reason = REASONS.get(rejected.code, 'refused')
    return Reply(400, xmlfields.build({'return_code': 'FAIL', 'return_msg': reason}), XML)


def parse_notification(inbound):
    config = common.config()
    try:
        fields = xmlfields.parse(inbound.body)
    except xmlfields.XMLError as exc:
        raise Rejected(Rejected.MALFORMED, str(exc)) from None
    if fields.get('return_code') != 'SUCCESS':
        raise Rejected(Rejected.MALFORMED, f'return_code {fields.get("return_code")!r}')
    if config.key is None:
        raise Rejected(Rejected.SIGNATURE, 'PAYGATE_WECHATPAY_KEY is not configured; cannot verify v2')
    if 'req_info' in fields:
        _check_merchant(fields, config)
        return _refund(fields, config)
    _verify(fields, config)
    _check_merchant(fields, config)
    return _payment(fields)


def _verify(fields, config):
    """Check `sign` with the sign type the order it names was made with."""
    order = orders.find(fields.get('out_trade_no', ''))
    sign_type = ((order or {}).get('provider_data') or {}).get('sign_type') or config.sign_type
    if not v2.verify(fields, config.key.value, sign_type):
        raise Rejected(Rejected.SIGNATURE,
                       f'bad {sign_type} sign for out_trade_no {fields.get("out_trade_no")}')


def _check_merchant(fields, config):
    if fields.get('appid') != config.appid or fields.get('mch_id') != config.mch_id:
        raise Rejected(Rejected.MERCHANT, f'appid {fields.get("appid")!r} / mch_id {fields.get("mch_id")!r}')


def _payment(fields):
    out_trade_no, transaction_id = fields.get('out_trade_no', ''), fields.get('transaction_id', '')
    if fields.get('result_code') != 'SUCCESS':
        return Notification(event_id=f'result:{out_trade_no}:{fields.get("nonce_str", "")}', kind=NOTHING,
                            out_trade_no=out_trade_no,
                            detail=f'payment failed: {fields.get("err_code")} '
                                   f'{fields.get("err_code_des", "")}')
    if not transaction_id:
        raise Rejected(Rejected.MALFORMED, 'transaction_id is missing')
    return Notification(event_id=transaction_id, kind=PAID, out_trade_no=out_trade_no,
                        amount=_fen(fields, 'total_fee'), provider_trade_no=transaction_id)


def _refund(fields, config):
    try:
        info = xmlfields.parse(crypto.decrypt_refund_info(config.key.value, fields['req_info']), root='root')
    except (crypto.CryptoError, xmlfields.XMLError) as exc:
        raise Rejected(Rejected.SIGNATURE, f'req_info does not decrypt with our key: {exc}') from None
    return common.refund_notification(info, REFUND_KINDS, _fen(info, 'total_fee'), _fen(info, 'refund_fee'))


def _fen(fields, name):
    try:
        return money.fen_from_integer_string(fields.get(name))
    except money.MoneyError as exc:
        raise Rejected(Rejected.MALFORMED, f'{name}: {exc}') from None
