"""Alipay's asynchronous notification, verified and read (PROVIDERS.md §4.3).

The form is decoded in the charset it declares (utf-8 or gbk), the signature
checked with the Alipay public key over every field but `sign`/`sign_type`,
then our app and seller checked. `trade_status` and
`refund_fee` say what happened: paid, closed, refunded (refund_fee is the
trade's cumulative refunded amount, so it is reported as refunded_total), or
nothing yet (WAIT_BUYER_PAY).
"""
from chalicelib import formdata, money
from chalicelib.providers import (CLOSED, NOTHING, PAID, REFUNDED, Notification, Rejected)
from chalicelib.providers.alipay import codec

CHARSETS = {'utf-8': 'utf-8', 'utf8': 'utf-8', 'gbk': 'gbk', 'gb2312': 'gbk'}
PAID_STATUSES = ('TRADE_SUCCESS', 'TRADE_FINISHED')
REQUIRED = ('notify_id', 'out_trade_no', 'trade_status', 'total_amount', 'sign', 'sign_type')


def parse(inbound, alipay):
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
    if not codec.verify_notification(fields, alipay.verify_key, charset):
        raise Rejected(Rejected.SIGNATURE, f'bad sign on notify_id {fields["notify_id"]}')
    if fields.get('app_id') != alipay.app_id.value:
        raise Rejected(Rejected.MERCHANT, f'app_id {fields.get("app_id")!r} is not ours')
    if fields.get('seller_id') != alipay.seller_id.value:
        raise Rejected(Rejected.MERCHANT, f'seller_id {fields.get("seller_id")!r} is not ours')
    return _notification(fields)


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
