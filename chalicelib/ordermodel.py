"""What an order is: its statuses, its public view, and the id that names it.

An order is stored under its out_trade_no (the number the provider knows it
by), so a provider's notification leads to it without a lookup. Its public
id, `ord_...`, is the URL-safe base64 of 8 random bytes followed by the
out_trade_no: unguessable, and readable back into the key it is stored under.
The stored order keeps the whole id, and an id whose random part differs is
not found.
"""
import base64
import hmac
import re
import secrets

CREATED, PAID, CLOSED, REFUNDED = 'CREATED', 'PAID', 'CLOSED', 'REFUNDED'
PAYABLE = (CREATED, CLOSED)

# Every provider's out_trade_no fits this; each provider's own rule is narrower (TradeNoRule).
OUT_TRADE_NO = re.compile(r'\A[0-9A-Za-z_\-|*]{1,100}\Z')
ORDER_ID = re.compile(r'\Aord_[0-9A-Za-z_-]{12,146}\Z')
_NONCE_BYTES = 8

# While an order is CREATED it sits in the `work` index, where compensation finds it.
OPEN_ORDER_WORK = 'OPEN_ORDER'
LEAVES_OPEN = {'work_pk': None, 'work_at': None}

PUBLIC_FIELDS = ('order_id', 'out_trade_no', 'provider', 'scene', 'status', 'amount', 'currency',
                 'product_id', 'quantity', 'created_at', 'expires_at', 'client_params',
                 'metadata', 'paid_at', 'paid_amount', 'closed_at', 'provider_trade_no',
                 'refunded_amount')


def new_order_id(out_trade_no):
    raw = secrets.token_bytes(_NONCE_BYTES) + out_trade_no.encode('ascii')
    return 'ord_' + base64.urlsafe_b64encode(raw).rstrip(b'=').decode('ascii')


def trade_no_of(order_id):
    """The out_trade_no an order id names, or None when it cannot be one of ours."""
    if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
        return None
    text = order_id[4:]
    try:
        raw = base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
        trade_no = raw[_NONCE_BYTES:].decode('ascii')
    except (ValueError, UnicodeDecodeError):
        return None
    return trade_no if OUT_TRADE_NO.match(trade_no) else None


def is_named(order, order_id):
    """True when `order` is the one `order_id` names (its random part included)."""
    return order is not None and hmac.compare_digest(order['order_id'].encode(), order_id.encode())


def view(order):
    """The order as the API shows it: no payer tokens, no internal bookkeeping."""
    shown = {name: order.get(name) for name in PUBLIC_FIELDS}
    shown['client_params'] = shown['client_params'] or {}
    shown['metadata'] = shown['metadata'] or {}
    shown['refunded_amount'] = shown['refunded_amount'] or 0
    return shown
