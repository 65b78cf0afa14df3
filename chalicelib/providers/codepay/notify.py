"""POST /notify/codepay: Codepay's notification (a form), verified and read.

Every received field but `sign` is signed (unknown ones too); `pay_no` is
required (Codepay's own demo refuses a notification without it). `price` is
the order's price and must be its amount; `money` is what the buyer paid and
must be the amount Codepay quoted for this order. Answers: `success`, `fail`.
"""
from dataclasses import dataclass

from chalicelib import formdata, money
from chalicelib.providers import codepay
from chalicelib.providers.codepay import sign
from chalicelib.providers.contract import PAID, Expect, Notification, Rejected, Reply

NAME = codepay.NAME
SUCCESS = Reply(200, 'success')
FAILURE = Reply(400, 'fail')


@dataclass(frozen=True)
class Keys:
    merchant_id: str
    key: str


def notification_keys(inbound):
    config = codepay.config()
    return Keys(config.merchant_id, config.key.value)


def parse_notification(inbound, keys, now):
    if not formdata.is_form(inbound.header('content-type')):
        raise Rejected(Rejected.MALFORMED, f'content type {inbound.header("content-type")!r} is not a form')
    try:
        fields = formdata.parse(inbound.body)
    except formdata.FormError as exc:
        raise Rejected(Rejected.MALFORMED, str(exc)) from None
    if not fields.get('pay_no'):
        raise Rejected(Rejected.MALFORMED, 'pay_no is missing')
    if not sign.verify(fields, keys.key):
        raise Rejected(Rejected.SIGNATURE, f'bad sign for pay_no {fields["pay_no"]}')
    if fields.get('id', keys.merchant_id) != keys.merchant_id:
        raise Rejected(Rejected.MERCHANT, f'merchant id {fields["id"]!r} is not ours')
    price, paid = _fen(fields, 'price'), _fen(fields, 'money')
    return Notification(event_id=fields['pay_no'], kind=PAID, out_trade_no=fields.get('pay_id', ''),
                        amount=price, provider_trade_no=fields['pay_no'],
                        expected=(Expect('quoted_money', paid, Rejected.AMOUNT),),
                        recorded={'paid_amount': paid})


def _fen(fields, name):
    try:
        return money.fen_from_yuan(fields.get(name, ''))
    except money.MoneyError as exc:
        raise Rejected(Rejected.MALFORMED, f'{name}: {exc}') from None


def failure(rejected):
    return FAILURE
