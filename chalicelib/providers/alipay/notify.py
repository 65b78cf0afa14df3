"""POST /notify/alipay: Alipay's asynchronous notification, verified and read.

The form is decoded in the charset it declares (utf-8 or gbk), the signature
checked with the Alipay public key over every field but `sign`/`sign_type`,
then our app_id and seller_id checked. `trade_status` and `refund_fee` say
what happened: paid, closed, refunded (refund_fee is the trade's cumulative
refunded amount, so it is reported as refunded_total), or nothing yet
(WAIT_BUYER_PAY). Answers: exactly `success`, or `fail`.
"""
from dataclasses import dataclass

from chalicelib import formdata, money
from chalicelib.providers.alipay import gateway, sign
from chalicelib.providers.contract import (CLOSED, NOTHING, PAID, REFUNDED, Notification, Rejected,
                                           Reply)

NAME = gateway.NAME
SUCCESS = Reply(200, 'success')
FAILURE = Reply(400, 'fail')
CHARSETS = {'utf-8': 'utf-8', 'utf8': 'utf-8', 'gbk': 'gbk', 'gb2312': 'gbk'}
PAID_STATUSES = ('TRADE_SUCCESS', 'TRADE_FINISHED')
REQUIRED = ('notify_id', 'out_trade_no', 'trade_status', 'total_amount', 'sign', 'sign_type')


@dataclass(frozen=True)
class Keys:
    app_id: str
    seller_id: str
    verify_key: str


def notification_keys(inbound):
    alipay = gateway.config()
    return Keys(alipay.app_id.value, alipay.seller_id.value, alipay.verify_key)


def parse_notification(inbound, keys, now):
    """The Notification in a raw notify request, or Rejected."""
    if not formdata.is_form(inbound.header('content-type')):
        raise Rejected(Rejected.MALFORMED, f'content type {inbound.header("content-type")!r} is not a form')
    charset = declared_charset(inbound.body)
    try:
        fields = formdata.parse(inbound.body, charset)
    except formdata.FormError as exc:
        raise Rejected(Rejected.MALFORMED, str(exc)) from None
    missing = [name for name in REQUIRED if not fields.get(name)]
    if missing:
        raise Rejected(Rejected.MALFORMED, f'missing {", ".join(missing)}')
    if fields['sign_type'] != 'RSA2':
        raise Rejected(Rejected.SIGNATURE, f'sign_type {fields["sign_type"]!r} is not RSA2')
    if not sign.verify_notification(fields, keys.verify_key, charset):
        raise Rejected(Rejected.SIGNATURE, f'bad sign on notify_id {fields["notify_id"]}')
    if fields.get('app_id') != keys.app_id:
        raise Rejected(Rejected.MERCHANT, f'app_id {fields.get("app_id")!r} is not ours')
    if fields.get('seller_id') != keys.seller_id:
        raise Rejected(Rejected.MERCHANT, f'seller_id {fields.get("seller_id")!r} is not ours')
    return _notification(fields)


def failure(rejected):
    return FAILURE


def declared_charset(body):
    """The codec of the form's own `charset` field (utf-8 when absent); it is ASCII in any charset."""
    try:
        declared = formdata.parse(body, 'latin-1').get('charset', 'utf-8').strip().lower()
    except formdata.FormError as exc:
        raise Rejected(Rejected.MALFORMED, str(exc)) from None
    if declared not in CHARSETS:
        raise Rejected(Rejected.MALFORMED, f'charset {declared!r} is not utf-8 or gbk')
    return CHARSETS[declared]


def _notification(fields):
    status = fields['trade_status']
    note = {'event_id': fields['notify_id'], 'out_trade_no': fields['out_trade_no'],
            'amount': _fen(fields, 'total_amount'), 'provider_trade_no': fields.get('trade_no', '')}
    refunded = _fen(fields, 'refund_fee') if fields.get('refund_fee') else 0
    if refunded:
        refund_no = fields.get('out_biz_no') or f'alipay-refund-fee-{refunded}'
        return Notification(kind=REFUNDED, refund_no=refund_no, refunded_total=refunded, **note)
    if status in PAID_STATUSES:
        return Notification(kind=PAID, **note)
    if status == 'TRADE_CLOSED':
        return Notification(kind=CLOSED, **note)
    if status == 'WAIT_BUYER_PAY':
        return Notification(kind=NOTHING, detail='WAIT_BUYER_PAY: the buyer has not paid yet', **note)
    raise Rejected(Rejected.MALFORMED, f'unknown trade_status {status!r}')


def _fen(fields, name):
    try:
        return money.fen_from_yuan(fields[name])
    except money.MoneyError as exc:
        raise Rejected(Rejected.MALFORMED, f'{name}: {exc}') from None
