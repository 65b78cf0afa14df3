"""Providers' daily bills (对账单), provider-neutral: one line per payment or refund, in fen.

A bill covers one China day (UTC+8, the providers' day). WeChat Pay
(wechatpay/bill.py) and Alipay (alipay/bill.py) publish one; Midas and
Codepay have no bill API. Each provider's module has the same shape:

    parse(raw)     -> (lines, totals)   pure: the file as the provider sends it
    download(date) -> Bill              asks for the day's bill, fetches and checks it

`download` returns NoBill when the provider says it has no bill for the day
(nothing was paid or refunded), raises BillError when the file cannot be
read, and ProviderError when asking for it failed (a bill not yet published
is a retryable ProviderError with code `not_ready`).
"""
from dataclasses import dataclass, field
from datetime import date as Date, datetime, timedelta, timezone

from chalicelib import clock, money
from chalicelib.errors import ProviderError

PAYMENT, REFUND = 'payment', 'refund'
CHINA = timezone(timedelta(hours=8))
NOT_READY = 'not_ready'


@dataclass(frozen=True)
class BillLine:
    """One line of a bill.

    `amount` is the payment's total or the refund's amount (positive fen).
    `fee` is what the provider charged for this line (手续费 / 服务费), in fen;
    negative when a refund gives part of a fee back. `status` is the
    provider's own text. For refunds, `refund_no` is our refund_no (WeChat
    out_refund_no, Alipay out_request_no) and `provider_refund_id` the
    provider's refund id where it has one. `time` is RFC 3339 UTC.
    `succeeded` is False for a line the provider lists before it is done (a
    WeChat Pay refund still PROCESSING, or one that failed).
    """
    kind: str
    out_trade_no: str
    provider_trade_no: str
    amount: int
    fee: int
    status: str
    refund_no: str = ''
    provider_refund_id: str = ''
    time: str = ''
    succeeded: bool = True


@dataclass(frozen=True)
class Bill:
    """A provider's bill for `date` (YYYY-MM-DD, China day).

    `totals` holds what the bill's own summary states, in fen (counts as
    integers): `count` (lines it counts) and `fee` (the day's net fee, positive
    when charged) for every provider, plus each provider's other figures
    (see its module).
    """
    provider: str
    date: str
    lines: tuple = ()
    totals: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NoBill(Bill):
    """The provider has no bill for `date`: nothing was paid or refunded that day."""
    totals: dict = field(default_factory=lambda: {'count': 0, 'fee': 0})


class BillError(ProviderError):
    """A bill file that cannot be read as the provider's format; the message names the line."""

    def __init__(self, message):
        super().__init__(message, code='bill')


def check_date(day):
    """`day` if it is a YYYY-MM-DD calendar date; ValueError otherwise."""
    try:
        Date.fromisoformat(day)
    except (TypeError, ValueError):
        raise ValueError(f'bill date {day!r} is not YYYY-MM-DD') from None
    if len(day) != 10:
        raise ValueError(f'bill date {day!r} is not YYYY-MM-DD')
    return day


def not_ready(message):
    """The retryable error for a bill the provider has not published yet."""
    return ProviderError(message, code=NOT_READY, retryable=True)


def fen(text, where):
    """A bill amount in fen (signed; five decimals allowed when they are whole fen)."""
    try:
        return money.fen_from_signed_yuan(text)
    except money.MoneyError as exc:
        raise BillError(f'{where}: {exc}') from None


def utc_time(text, where):
    """`yyyy-MM-dd HH:mm:ss` China time, as bills write it, in RFC 3339 UTC."""
    try:
        moment = datetime.strptime(text, '%Y-%m-%d %H:%M:%S').replace(tzinfo=CHINA)
    except ValueError:
        raise BillError(f'{where}: time {text!r} is not yyyy-MM-dd HH:mm:ss') from None
    return clock.rfc3339(moment)
