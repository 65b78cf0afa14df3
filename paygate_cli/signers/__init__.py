"""The providers' notifications, built and signed the way each provider does it.

Every module here has the same shape:

    NAME        the provider, as in `paygate trigger NAME`
    SUBJECT     what a notification is about: 'order' (GET /orders/{id}) or 'instance'
    STATES      the notifications the provider sends (paid, refunded, closed; the
                marketplace's actions)
    build(subject, state, settings, options) -> Prepared
    accepted(answer) -> bool   whether Paygate's answer is the provider's "received"

and its signing function, pinned in the tests by the protocol reference's
vectors. None of them imports chalicelib: the gateway's mistakes must not
become the CLI's.
"""
import importlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from paygate_cli.client import Outgoing
from paygate_cli.errors import CliError

PROVIDERS = ('codepay', 'alipay', 'wechatpay', 'midas', 'cloudmarket')
CHINA = timezone(timedelta(hours=8))


@dataclass
class Options:
    """What the user chose for one notification."""
    amount: Optional[int] = None          # fen: paid, or refunded; None = the order's
    version: Optional[str] = None         # WeChat Pay: v2 or v3; None = the order's
    trial: bool = False                   # marketplace createInstance
    refund_no: Optional[str] = None
    paygate_path: str = ''                # the path part of Paygate's URL (a deployed stage's /api)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class Prepared:
    """A signed notification. `fields` are what goes on the wire (--tamper alters one of them
    after signing); `render` turns them into the request. `signed_over` is the text the
    signature covers, secrets shown by their setting name; `encrypted` what is carried
    encrypted, for the reader."""
    description: str
    fields: dict
    signed_over: str
    render: Callable[[dict], Outgoing]
    encrypted: dict = None


def load(name):
    return importlib.import_module(f'paygate_cli.signers.{name}')


def yuan(fen):
    """Integer fen as the yuan text providers send: 600 -> '6.00'."""
    return f'{fen // 100}.{fen % 100:02d}'


def china_time(moment, pattern='%Y-%m-%d %H:%M:%S'):
    return moment.astimezone(CHINA).strftime(pattern)


def parse_time(rfc3339):
    """A time as Paygate shows it (RFC 3339, UTC with Z)."""
    return datetime.fromisoformat(rfc3339.replace('Z', '+00:00'))


def digits(count):
    return ''.join(secrets.choice('0123456789') for _ in range(count))


def refund_amounts(order, options):
    """(this refund, the order's refunded total after it), in fen: the rest of the order by default."""
    already = order.get('refunded_amount') or 0
    amount = options.amount if options.amount is not None else order['amount'] - already
    if amount < 1:
        raise CliError(f'order {order["order_id"]} is refunded in full already; pass --amount FEN')
    return amount, already + amount
