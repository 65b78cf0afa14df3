"""Paygate's side of a reconciliation: what it recorded on a China day, and what a bill's lines name.

What Paygate recorded is read from its events of the day (by creation time,
China day): order.paid and order.paid_again are payments, order.refunded is a
refund. Events are kept, so any past day can be read again.
"""
import json
from datetime import date as Date, datetime, time, timedelta, timezone

from chalicelib import events, ordermodel
from chalicelib.providers.bill import CHINA, PAYMENT, REFUND
from chalicelib.reconciliation.matching import Books, Recorded
from chalicelib.store import events as event_store
from chalicelib.store import orders as order_store

BOOKED = (events.ORDER_PAID, events.ORDER_PAID_AGAIN, events.ORDER_REFUNDED)


def recorded(provider, day):
    """The provider's payments and refunds Paygate recorded on `day` (YYYY-MM-DD, China time)."""
    found = event_store.between(*_positions(day), keep=lambda item: item['type'] in BOOKED)
    orders, _ = order_store.get_many({_trade_no(item) for item in found})
    return [_recorded(item, orders[_trade_no(item)]) for item in found
            if _trade_no(item) in orders and orders[_trade_no(item)]['provider'] == provider]


def read(bill_lines, entries):
    """The Books of the orders and refunds that the bill's lines and Paygate's records name."""
    named = [*bill_lines, *entries]
    trade_nos = {entry.out_trade_no for entry in named if ordermodel.OUT_TRADE_NO.match(entry.out_trade_no)}
    refund_keys = {(entry.out_trade_no, entry.refund_no) for entry in named
                   if entry.kind == REFUND and entry.out_trade_no in trade_nos and 0 < len(entry.refund_no) <= 128}
    orders, refunds = order_store.get_many(trade_nos, refund_keys)
    return Books(orders, refunds)


def previous_day(day):
    return (Date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _positions(day):
    """The events' index positions at the start of `day` and of the next day, China time."""
    start = datetime.combine(Date.fromisoformat(day), time(), CHINA)
    return tuple((moment.astimezone(timezone.utc)).strftime(events.POSITION_TIME)
                 for moment in (start, start + timedelta(days=1)))


def _trade_no(event):
    return event['subject'].removeprefix('ORDER#')


def _recorded(event, order):
    out_trade_no = order['out_trade_no']
    if event['type'] == events.ORDER_REFUNDED:
        refund = _data(event)['refund']
        return Recorded(REFUND, out_trade_no, order.get('provider_trade_no') or '', refund['refund_no'],
                        refund['amount'])
    if event['type'] == events.ORDER_PAID_AGAIN:
        again = _data(event)['paid_again']
        return Recorded(PAYMENT, out_trade_no, again['provider_trade_no'], amount=again['paid_amount'])
    paid = event.get('snapshot') or _data(event)['order']
    return Recorded(PAYMENT, out_trade_no, paid.get('provider_trade_no') or '',
                    amount=paid.get('paid_amount') or order['amount'])


def _data(event):
    return json.loads(event['payload'])['data']
