"""POST /notify/wechatpay: API v2 payment and refund notifications (XML).

Payments are signed (MD5 or HMAC-SHA256 over every received field but
`sign`, with the API key); WeChat may leave `sign_type` out, so the type is
read from the signature itself (sign.v2_signed_with). Refund notifications
carry no signature: their `req_info` is encrypted with a key derived from the
API key, and only WeChat Pay can produce one that decrypts. Answers: the XML
SUCCESS reply, or FAIL with a reason.
"""
from dataclasses import dataclass, replace

from chalicelib import money
from chalicelib.providers.contract import (NOTHING, PAID, REFUND_FAILED, REFUNDED, Notification,
                                           Rejected, Reply)
from chalicelib.providers.wechatpay import common, crypto, sign, xmlfields

NAME = common.NAME
XML = 'text/xml'
SUCCESS = Reply(200, '<xml><return_code><![CDATA[SUCCESS]]></return_code>'
                     '<return_msg><![CDATA[OK]]></return_msg></xml>', XML)
REFUND_KINDS = {'SUCCESS': REFUNDED, 'REFUNDCLOSE': REFUND_FAILED}
REASONS = {Rejected.SIGNATURE: 'invalid signature', Rejected.MALFORMED: 'malformed notification',
           Rejected.MERCHANT: 'not our appid or mch_id', Rejected.UNKNOWN_ORDER: 'unknown order',
           Rejected.AMOUNT: 'amount does not match the order', Rejected.TOO_LARGE: 'body too large',
           Rejected.NOT_ENABLED: 'not enabled'}


@dataclass(frozen=True)
class Keys:
    key: str
    sign_type: str
    appids: tuple
    mch_id: str


def notification_keys(inbound):
    config = common.config()
    return Keys(config.key.value if config.key else None, config.sign_type, common.our_appids(config),
                config.mch_id)


def failure(rejected):
    reason = REASONS.get(rejected.code, 'refused')
    return Reply(400, xmlfields.build({'return_code': 'FAIL', 'return_msg': reason}), XML)


def parse_notification(inbound, keys, now):
    try:
        fields = xmlfields.parse(inbound.body)
    except xmlfields.XMLError as exc:
        raise Rejected(Rejected.MALFORMED, str(exc)) from None
    if fields.get('return_code') != 'SUCCESS':
        raise Rejected(Rejected.MALFORMED, f'return_code {fields.get("return_code")!r}')
    if keys.key is None:
        raise Rejected(Rejected.SIGNATURE, 'PAYGATE_WECHATPAY_KEY is not configured; cannot verify v2')
    if 'req_info' in fields:
        _check_merchant(fields, keys)
        return _refund(fields, keys)
    if sign.v2_signed_with(fields, keys.key, keys.sign_type) is None:
        raise Rejected(Rejected.SIGNATURE, f'bad sign for out_trade_no {fields.get("out_trade_no")}')
    _check_merchant(fields, keys)
    return _payment(fields, keys)


def _check_merchant(fields, keys):
    if fields.get('appid') not in keys.appids or fields.get('mch_id') != keys.mch_id:
        raise Rejected(Rejected.MERCHANT, f'appid {fields.get("appid")!r} / mch_id {fields.get("mch_id")!r}')


def _payment(fields, keys):
    out_trade_no, transaction_id = fields.get('out_trade_no', ''), fields.get('transaction_id', '')
    if fields.get('result_code') != 'SUCCESS':
        return Notification(event_id=f'result:{out_trade_no}:{fields.get("nonce_str", "")}', kind=NOTHING,
                            out_trade_no=out_trade_no,
                            detail=f'payment failed: {fields.get("err_code")} '
                                   f'{fields.get("err_code_des", "")}')
    if not transaction_id:
        raise Rejected(Rejected.MALFORMED, 'transaction_id is missing')
    return Notification(event_id=transaction_id, kind=PAID, out_trade_no=out_trade_no,
                        amount=_fen(fields, 'total_fee'), provider_trade_no=transaction_id,
                        expected=common.made_with(fields['appid'], keys.appids))


def _refund(fields, keys):
    try:
        info = xmlfields.parse(crypto.decrypt_refund_info(keys.key, fields['req_info']), root='root')
    except (crypto.CryptoError, xmlfields.XMLError) as exc:
        raise Rejected(Rejected.SIGNATURE, f'req_info does not decrypt with our key: {exc}') from None
    note = common.refund_notification(info, REFUND_KINDS, _fen(info, 'total_fee'), _fen(info, 'refund_fee'))
    return replace(note, expected=common.made_with(fields['appid'], keys.appids))


def _fen(fields, name):
    try:
        return money.fen_from_integer_string(fields.get(name))
    except money.MoneyError as exc:
        raise Rejected(Rejected.MALFORMED, f'{name}: {exc}') from None
