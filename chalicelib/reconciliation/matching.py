"""Matching one day's bill against Paygate's books: one line per payment and refund, with its outcome.

Pure: the bill's lines, the orders and refunds they name (Books), and what
Paygate recorded that day (Recorded, from its events) in; lines out. A line
is keyed by what names it at the provider: a payment by out_trade_no and the
provider's trade number, a refund by out_trade_no and refund_no.

  matched          the bill and Paygate agree
  missing_here     paid at the provider, not here (the service then asks the
                   provider and, when it confirms, pays the order as a
                   notification would)
  missing_there    paid or refunded here, not in the bill: flagged, never changed
  amount_mismatch  a payment of another amount than the order's
  refund_mismatch  a refund Paygate did not make (one made in the provider's
                   merchant console), or of another amount
  status_mismatch  the bill and Paygate disagree on whether it succeeded
  here_only        the provider publishes no bill: Paygate's books alone
"""
import hashlib
from dataclasses import dataclass, field

from chalicelib import money, ordermodel
from chalicelib.providers.bill import PAYMENT, REFUND

MATCHED, MISSING_HERE, MISSING_THERE = 'matched', 'missing_here', 'missing_there'
AMOUNT_MISMATCH, REFUND_MISMATCH, STATUS_MISMATCH = 'amount_mismatch', 'refund_mismatch', 'status_mismatch'
HERE_ONLY = 'here_only'
OUTCOMES = (MATCHED, MISSING_HERE, MISSING_THERE, AMOUNT_MISMATCH, REFUND_MISMATCH, STATUS_MISMATCH, HERE_ONLY)
SUCCEEDED = 'SUCCEEDED'
MAX_KEY = 512          # bytes; DynamoDB's sort keys take up to 1,024


@dataclass(frozen=True)
class Recorded:
    """A payment or a refund Paygate recorded on the day (an order.paid, order.paid_again or
    order.refunded event). `amount` is what Paygate booked, in fen."""
    kind: str
    out_trade_no: str
    provider_trade_no: str = ''
    refund_no: str = ''
    amount: int = 0


@dataclass(frozen=True)
class Books:
    """The orders ({out_trade_no: order}) and refunds ({(out_trade_no, refund_no): refund}) the
    day's bill lines and records name, as they stand."""
    orders: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)


def key_of(entry):
    """The line key of a BillLine or a Recorded (a digest for a key too long to store as one)."""
    number = entry.refund_no if entry.kind == REFUND else entry.provider_trade_no
    key = f'{entry.kind}#{entry.out_trade_no}#{number}'
    if len(key.encode('utf-8')) > MAX_KEY:
        return f'{entry.kind}#sha256:{hashlib.sha256(key.encode("utf-8")).hexdigest()}'
    return key


def match(provider, bill_lines, books, recorded, billed_before=frozenset()):
    """Every bill line, then each record the bill lacks (unless an earlier day's bill had it:
    `billed_before` holds those keys; a payment just before midnight is notified just after)."""
    recorded_keys = {key_of(entry) for entry in recorded}
    lines = [_payment(provider, line, books, recorded_keys) if line.kind == PAYMENT else _refund(provider, line, books)
             for line in bill_lines]
    billed = {key_of(line) for line in bill_lines} | set(billed_before)
    lines += [_line(entry, MISSING_THERE, 'recorded here, not in the bill', books)
              for entry in recorded if key_of(entry) not in billed]
    return lines


def here_only(recorded, books):
    """The lines of a provider without a bill: what Paygate recorded, checked against nothing."""
    return [_line(entry, HERE_ONLY, 'the provider publishes no bill', books) for entry in recorded]


def totals(lines):
    """{outcome: {count, amount}} over the lines (the bill's amount where the bill has the line)."""
    found = {}
    for line in lines:
        amount = line['bill_amount'] if line['bill_amount'] is not None else line['here_amount'] or 0
        entry = found.setdefault(line['outcome'], {'count': 0, 'amount': 0})
        entry['count'] += 1
        entry['amount'] += amount
    return found


def _payment(provider, line, books, recorded_keys):
    order = books.orders.get(line.out_trade_no)
    if order is None or order['provider'] != provider:
        return _line(line, MISSING_HERE, 'no such order here', books, bill=line)
    paid_here = order['status'] in (ordermodel.PAID, ordermodel.REFUNDED)
    same_trade = order.get('provider_trade_no') == line.provider_trade_no
    if not line.succeeded:
        outcome = STATUS_MISMATCH if paid_here and same_trade else MATCHED
        return _line(line, outcome, f'the bill says {line.status}, the order is {order["status"]}', books, bill=line)
    if not paid_here:
        return _line(line, MISSING_HERE, f'the order is {order["status"]} here', books, bill=line)
    if not same_trade:
        if key_of(line) in recorded_keys:
            return _line(line, MATCHED, 'a second payment of the order (order.paid_again): refund it', books,
                         bill=line)
        return _line(line, STATUS_MISMATCH, f'the order was paid by trade {order.get("provider_trade_no")}; '
                                            'this trade is another payment of it', books, bill=line)
    paid = order.get('paid_amount', order['amount'])
    if line.amount != paid:
        return _line(line, AMOUNT_MISMATCH, f'the bill says {money.yuan_from_fen(line.amount)} yuan, '
                                            f'the order {money.yuan_from_fen(paid)}', books, bill=line)
    return _line(line, MATCHED, '', books, bill=line)


def _refund(provider, line, books):
    order = books.orders.get(line.out_trade_no)
    refund = books.refunds.get((line.out_trade_no, line.refund_no))
    if order is None or order['provider'] != provider:
        return _line(line, REFUND_MISMATCH, 'a refund of an order Paygate does not have', books, bill=line)
    if refund is None:
        return _line(line, REFUND_MISMATCH, 'a refund made outside Paygate (in the merchant console?)', books,
                     bill=line)
    done_here = refund['refund_status'] == SUCCEEDED
    if line.succeeded != done_here:
        return _line(line, STATUS_MISMATCH, f'the bill says {line.status}, the refund is '
                                            f'{refund["refund_status"]} here', books, bill=line)
    if line.amount != refund['amount']:
        return _line(line, REFUND_MISMATCH, f'the bill says {money.yuan_from_fen(line.amount)} yuan, the refund '
                                            f'{money.yuan_from_fen(refund["amount"])}', books, bill=line)
    return _line(line, MATCHED, '', books, bill=line)


def _line(entry, outcome, detail, books, bill=None):
    """A report line for a BillLine or a Recorded: what the bill says and what Paygate has."""
    order_id, here_amount, here_status = _here(entry, books)
    return {
        'key': key_of(entry), 'kind': entry.kind, 'outcome': outcome, 'detail': detail,
        'out_trade_no': entry.out_trade_no, 'order_id': order_id, 'provider_trade_no': entry.provider_trade_no,
        'refund_no': entry.refund_no or None,
        'bill_amount': bill.amount if bill else None, 'bill_fee': bill.fee if bill else None,
        'bill_status': bill.status if bill else None, 'bill_time': (bill.time or None) if bill else None,
        'here_amount': here_amount, 'here_status': here_status, 'resolution': None,
    }


def _here(entry, books):
    """(order_id, amount, status) of what Paygate has for `entry`; None where it has nothing."""
    order = books.orders.get(entry.out_trade_no)
    order_id = order['order_id'] if order else None
    if entry.kind == REFUND:
        refund = books.refunds.get((entry.out_trade_no, entry.refund_no))
        return (order_id, refund['amount'], refund['refund_status']) if refund else (order_id, None, None)
    if order is None:
        return None, None, None
    amount = entry.amount if isinstance(entry, Recorded) else order.get('paid_amount', order['amount'])
    return order_id, amount, order['status']
