"""The provider contract: what every payment provider module is, what some can also do,
and the types they answer with.

A provider module implements `Provider`; each notify route is served by a
module implementing `Notifier` (usually the provider module itself; WeChat Pay
has one per API version). A module lists what else it can do in CAPABILITIES
(`Closable`, `Refundable`, `Queryable`, `Billable`, `KeyRefreshing`), and callers
ask the registry (providers.capable) for a capability, never the module itself.

Providers do no storage and raise no HTTP errors. They build requests, call
the provider, verify what comes back, and answer with these types or raise
Rejected (a notification refused), a Refusal (a request the provider or the
payer cannot take) or errors.ProviderError (the provider failed). Verifying
a notification is pure: the raw request, the keys and the time in, a
Notification out; finding the keys (settings, cached certificates) is the
module's `notification_keys`, called before it.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

PAID = 'paid'
CLOSED = 'closed'
REFUNDED = 'refunded'
REFUND_FAILED = 'refund_failed'
NOTHING = 'nothing'


@dataclass(frozen=True)
class TradeNoRule:
    """What a provider accepts as a merchant's order number (out_trade_no), from its documents."""
    pattern: str
    description: str

    def allows(self, value):
        return re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True)
class Scene:
    """A way a provider takes payment (in a mini program, an app, a QR code, a mobile browser).

    `client_ip`: the order needs the buyer's client_ip. `urls`: the browser URLs
    the order may carry (`return_url`, `quit_url`); the buyer's browser is sent
    there after paying, or when leaving the provider's page.
    """
    name: str
    client_ip: bool = False
    urls: tuple = ()


@dataclass(frozen=True)
class Inbound:
    """A request exactly as received: raw body bytes, decoded query pairs, lower-case headers."""
    method: str
    path: str
    headers: dict
    query: tuple
    body: bytes

    def header(self, name, default=''):
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class Created:
    """What `create` returns: the client's parameters, what to keep on the order, when it expires,
    and the provider's own ids for it (`lookups`) by which a notification may name it."""
    client_params: dict
    provider_data: dict = field(default_factory=dict)
    expires_at: str = ''
    lookups: tuple = ()


@dataclass(frozen=True)
class Expect:
    """A fact about the order a notification is valid only with: `provider_data[field] == value`.

    `code` is the Rejected code when the order does not hold it (a Codepay
    payment of another amount than quoted is AMOUNT; a Midas token of another
    order is UNKNOWN_ORDER), `param` the parameter the provider's failure
    answer names. `or_absent`: an order without the field holds it too (orders
    made before the field was kept).
    """
    field: str
    value: object
    code: str
    param: str = None
    or_absent: bool = False


@dataclass(frozen=True)
class Notification:
    """A verified notification, provider-neutral. Amounts are fen.

    `event_id` is the provider's own id for this notification (dedupe key).
    `kind` is PAID, CLOSED, REFUNDED, REFUND_FAILED or NOTHING (verified, nothing to do).
    `out_trade_no` names the order; a notification that does not carry it gives
    `lookup`, a provider's own id for the order (see Created.lookups).
    For refunds, `refund_no` is our refund_no (the provider's out_request_no /
    out_refund_no), `refund_amount` the amount of that one refund and
    `provider_trade_no` the provider's refund id. A provider that reports only
    the trade's cumulative refunded amount (Alipay's `refund_fee`) gives it as
    `refunded_total` instead of `refund_amount`; the refund's own amount is then
    derived from the order when the notification is applied.
    `expected` are Expect facts the order must hold; `recorded` are fields a
    payment writes on the order (`paid_amount` when the buyer paid another sum
    than the order's amount, a provider's payment split).
    """
    event_id: str
    kind: str
    out_trade_no: str = ''
    amount: int = None
    provider_trade_no: str = ''
    refund_no: str = ''
    refund_amount: int = None
    refunded_total: int = None
    detail: str = ''
    expected: tuple = ()
    recorded: dict = field(default_factory=dict)
    lookup: str = ''


@dataclass(frozen=True)
class RefundResult:
    """What `refund` returns: whether the money moved for good, and the provider's refund id."""
    succeeded: bool
    provider_refund_id: str = ''


@dataclass(frozen=True)
class Reply:
    """Exact bytes, status and type of an answer to a provider."""
    status: int
    body: str
    content_type: str = 'text/plain'
    headers: dict = field(default_factory=dict)


class Rejected(Exception):
    """A notification we refuse. `code` is one of the reasons below; `message` is for logs;
    `param` names the refused parameter where the provider's failure answer names one."""

    SIGNATURE = 'signature'
    MALFORMED = 'malformed'
    MERCHANT = 'merchant'
    UNKNOWN_ORDER = 'unknown_order'
    AMOUNT = 'amount'
    STALE = 'stale'
    PROBE = 'probe'
    TOO_LARGE = 'too_large'
    NOT_ENABLED = 'not_enabled'
    INTERNAL = 'internal'

    def __init__(self, code, message, param=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


class Refusal(Exception):
    """A request a provider (or its payer) cannot take, said without HTTP: the caller maps it.

    `code` is machine-readable, `field` the request field at fault if any.
    """

    def __init__(self, code, message, field=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class InvalidPayer(Refusal):
    """The payer object of the request is missing something or malformed."""

    def __init__(self, message, field='payer'):
        super().__init__('invalid_request', message, field)


class PayerRefused(Refusal):
    """The provider refused the payer (a login it will not take, not enough balance)."""


class LoginExpired(Refusal):
    """The provider no longer takes the payer's login: the client must log in again."""


class InsufficientFunds(Refusal):
    """The payer's balance (e.g. Midas game coins) is too low."""


class Forbidden(Refusal):
    """The provider forbids this payer (e.g. a user WeChat blocks as high-risk)."""


class RateLimited(Refusal):
    """The provider asks to slow down for this payer."""


class NotSupported(Refusal):
    """The provider has no such operation for this order (e.g. refunding an item purchase)."""


class NotYet(Refusal):
    """The provider allows this later, not now (e.g. closing a WeChat Pay order under 5 minutes old)."""


class Unavailable(Refusal):
    """The provider is busy or unreachable for this operation; try again shortly."""


class Provider(Protocol):
    """A payment provider: makes orders for the client."""
    NAME: str
    OUT_TRADE_NO: TradeNoRule
    CAPABILITIES: tuple
    SCENES: tuple  # its Scenes; the first is the default

    def validate_payer(self, payer: dict, scene: str) -> dict:
        """The payer fields to keep on an order of `scene`; InvalidPayer when the payer will not
        do, NotSupported when this stage is not set up for the scene."""

    def create(self, order: dict, product, payer: dict) -> Created:
        """Ask the provider for what the client needs to pay `order` (in `order['scene']`;
        `payer` is the full login)."""


class Notifier(Protocol):
    """The notification half: verifies and answers one notify route."""
    NAME: str
    SUCCESS: Reply

    def notification_keys(self, inbound: Inbound):
        """The keys `parse_notification` verifies with (settings, cached certificates)."""

    def parse_notification(self, inbound: Inbound, keys, now: datetime) -> Notification:
        """Pure: the verified Notification in `inbound`, or Rejected."""

    def failure(self, rejected: Rejected) -> Reply:
        """The provider's own failure answer for a refused notification."""


class Closable(Protocol):
    def close(self, order: dict, now: datetime) -> None:
        """Close the order at the provider (NotYet when it may not be closed yet)."""


class Refundable(Protocol):
    def check_refund(self, order: dict, amount: int) -> None:
        """Refuse (Refusal) a refund the provider cannot make, before its amount is reserved."""

    def refund(self, order: dict, refund: dict) -> RefundResult:
        """Refund `refund['amount']` under our refund_no (safe to repeat)."""


class Queryable(Protocol):
    def query(self, order: dict) -> Notification:
        """The order as the provider knows it: a PAID or CLOSED Notification, or None while unpaid."""


class Billable(Protocol):
    def download_bill(self, date: str):
        """The provider's bill (providers.bill.Bill) of a China day YYYY-MM-DD."""


class KeyRefreshing(Protocol):
    def refresh_keys(self) -> list:
        """The provider's rotating certificates, checked: (serial, pem, effective_time, expire_time)
        tuples, for chalicelib.keyring to keep."""


CAPABILITY_NAMES = {Closable: 'close', Refundable: 'refund', Queryable: 'query',
                    Billable: 'download_bill', KeyRefreshing: 'refresh_keys'}
