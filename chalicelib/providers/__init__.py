"""The provider contract, and lazy loading of provider modules.

Every provider module has the same shape, so a reader who knows one knows all:

    NAME                                  the provider's name in the API and routes
    OUT_TRADE_NO                          the TradeNoRule for a merchant's own out_trade_no
    create(order, product, payer)      -> Created(client_params, provider_data)
    parse_notification(inbound)        -> Notification, or raises Rejected
    SUCCESS                               the Reply the provider expects when we accept
    failure(rejected)                  -> the Reply for a notification we refuse
    query(order) / close(order) / refund(order, refund)   where the provider has them
    check_refund(order, amount)           optional: refuse a refund (ApiError) before it is reserved

For close and refund, `order['payer']` holds what is stored of the payer plus
the `payer` object of the close/refund request, for that one call (a login
token the provider's API needs; it is never stored).

A provider with several notification formats (WeChat Pay v2 XML and v3 JSON)
may serve each notify route from its own module with the notification half of
this shape (NAME, parse_notification, SUCCESS, failure); NOTIFY_ROUTES says
which module serves which /notify/<route>.

A module is imported only when a request needs it, so one provider's
notification route never pays for another provider's imports.

Daily bills (对账单) have their own modules, wechatpay/bill.py and
alipay/bill.py, of the shape described in bill.py.
"""
import importlib
import re
from dataclasses import dataclass, field

MODULES = {
    'codepay': 'chalicelib.providers.codepay',
    'alipay': 'chalicelib.providers.alipay',
    'midas': 'chalicelib.providers.midas',
    'wechatpay': 'chalicelib.providers.wechatpay',
}

NOTIFY_ROUTES = {
    'codepay': 'chalicelib.providers.codepay',
    'alipay': 'chalicelib.providers.alipay',
    'midas': 'chalicelib.providers.midas',
    'wechatpay': 'chalicelib.providers.wechatpay.notify_v2',
    'wechatpay/v3': 'chalicelib.providers.wechatpay.notify_v3',
}

PAID = 'paid'
CLOSED = 'closed'
REFUNDED = 'refunded'
REFUND_FAILED = 'refund_failed'
NOTHING = 'nothing'


def load(name):
    """The module of provider `name` (creates orders, refunds, closes)."""
    return importlib.import_module(MODULES[name])


def load_notify(route):
    """The module that verifies and answers notifications on /notify/<route>."""
    return importlib.import_module(NOTIFY_ROUTES[route])


@dataclass(frozen=True)
class TradeNoRule:
    """What a provider accepts as a merchant's order number (out_trade_no), from its documents."""
    pattern: str
    description: str

    def allows(self, value):
        return re.fullmatch(self.pattern, value) is not None


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
    """What provider.create returns: the client's parameters and what to keep on the order."""
    client_params: dict
    provider_data: dict = field(default_factory=dict)
    expires_at: str = ''


@dataclass(frozen=True)
class Expect:
    """A fact about the order a notification is valid only with: `provider_data[field] == value`.

    `code` is the Rejected code when the order does not hold it (a Codepay
    payment of another amount than quoted is AMOUNT; a Midas token of another
    order is UNKNOWN_ORDER).
    """
    field: str
    value: object
    code: str


@dataclass(frozen=True)
class Notification:
    """A verified notification, provider-neutral. Amounts are fen.

    `event_id` is the provider's own id for this notification (dedupe key).
    `kind` is PAID, CLOSED, REFUNDED, REFUND_FAILED or NOTHING (verified, nothing to do).
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
    out_trade_no: str
    amount: int = None
    provider_trade_no: str = ''
    refund_no: str = ''
    refund_amount: int = None
    refunded_total: int = None
    detail: str = ''
    expected: tuple = ()
    recorded: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    """What provider.refund returns: whether the money moved, and the provider's refund id."""
    succeeded: bool
    provider_refund_id: str = ''


class Rejected(Exception):
    """A notification we refuse. `code` is one of the reasons below; `message` is for logs."""

    SIGNATURE = 'signature'
    MALFORMED = 'malformed'
    MERCHANT = 'merchant'
    UNKNOWN_ORDER = 'unknown_order'
    AMOUNT = 'amount'
    STALE = 'stale'
    PROBE = 'probe'

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Reply:
    """Exact bytes, status and type of an answer to a provider."""
    status: int
    body: str
    content_type: str = 'text/plain'
    headers: dict = field(default_factory=dict)
