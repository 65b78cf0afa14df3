"""Small pieces both WeChat Pay API versions use."""
import secrets
from dataclasses import dataclass
from datetime import timedelta, timezone

from chalicelib import clock, settings

NAME = 'wechatpay'
BEIJING = timezone(timedelta(hours=8), 'CST')


@dataclass(frozen=True)
class RefundResult:
    """A refund request's outcome: `succeeded` once the money is on its way back for good."""
    succeeded: bool
    provider_refund_id: str = ''


def config():
    return settings.get().provider(NAME)


def nonce():
    """32 random characters, the longest nonce_str v2 accepts."""
    return secrets.token_hex(16).upper()


def timestamp():
    """Unix seconds as a string (wx.requestPayment's timeStamp; never milliseconds)."""
    return str(int(clock.now().timestamp()))


def beijing(rfc3339_utc):
    """An order time (RFC 3339 UTC) in Beijing time, as WeChat Pay's time fields are."""
    return clock.parse_rfc3339(rfc3339_utc).astimezone(BEIJING)
