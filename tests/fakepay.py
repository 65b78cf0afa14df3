"""A provider with refund, close, query and notification parts, for testing the generic flows.

It stands in for the provider, not for the code under test: it answers as a
provider would, as the test tells it to. Its notification (JSON
{out_trade_no, trade_no, amount, id}) is unsigned: tests give it keys of None.
"""
import json

from chalicelib.errors import ProviderError
from chalicelib.providers.contract import (PAID, Closable, Notification, Queryable, Refundable,
                                           RefundResult, Reply, Scene, TradeNoRule)

NAME = 'fakepay'
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_-]{1,64}', '1-64 letters, digits, _ or -')
CAPABILITIES = (Closable, Refundable, Queryable)
SCENES = (Scene('app'),)
calls = []
# refund: its answer; close: 'ok' or the error it raises; before_refund_answer: None, or a function
# the refund calls before it answers (a test holding it to force an interleaving).
behaviour = {'refund': 'succeeded', 'close': 'ok', 'before_refund_answer': None}


def validate_payer(payer, scene):
    return {}


def check_refund(order, amount):
    """fakepay refunds any paid order."""


def refund(order, refund):
    calls.append(('refund', order['out_trade_no'], refund['refund_no'], refund['amount']))
    if behaviour['before_refund_answer']:
        behaviour['before_refund_answer']()
    outcome = behaviour['refund']
    if outcome == 'refused':
        raise ProviderError('REFUND_NOT_ALLOWED')
    if outcome == 'timeout':
        raise ProviderError('timed out', retryable=True)
    return RefundResult(outcome == 'succeeded', 'FR' + refund['refund_no'])


def close(order, now):
    calls.append(('close', order['out_trade_no']))
    if behaviour['close'] != 'ok':
        raise ProviderError(behaviour['close'])


query_answer = {}


def query(order):
    """The provider's answer to a query: paid with a trade number, or None (unpaid)."""
    calls.append(('query', order['out_trade_no']))
    answer = query_answer.get(order['out_trade_no'])
    if isinstance(answer, Exception):
        raise answer
    if answer is None:
        return None
    return Notification(event_id=f'query:{answer}', kind=PAID, out_trade_no=order['out_trade_no'],
                        amount=order['amount'], provider_trade_no=answer)


SUCCESS = Reply(200, 'OK')


def notification_keys(inbound):
    return None


def parse_notification(inbound, keys, now):
    """JSON {out_trade_no, trade_no, amount, id}: the test provider's (unsigned) notification."""
    data = json.loads(inbound.body)
    return Notification(event_id=data['id'], kind=PAID, out_trade_no=data['out_trade_no'],
                        amount=data['amount'], provider_trade_no=data['trade_no'])


def failure(rejected):
    return Reply(400, 'NO')
