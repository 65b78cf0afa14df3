"""A provider with refund, close, query and notification parts, for testing the generic flows.

It stands in for the provider, not for the code under test: it answers as a
provider would, as the test tells it to.
"""
import json
from dataclasses import dataclass

from chalicelib.errors import ProviderError
from chalicelib.providers import PAID, Notification, Reply

NAME = 'fakepay'
calls = []
behaviour = {'refund': 'succeeded', 'close': 'ok'}


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    provider_refund_id: str = ''


def refund(order, refund):
    calls.append(('refund', order['out_trade_no'], refund['refund_no'], refund['amount']))
    outcome = behaviour['refund']
    if outcome == 'refused':
        raise ProviderError('REFUND_NOT_ALLOWED')
    if outcome == 'timeout':
        raise ProviderError('timed out', retryable=True)
    return RefundResult(outcome == 'succeeded', 'FR' + refund['refund_no'])


def close(order):
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


def parse_notification(inbound):
    """JSON {out_trade_no, trade_no, amount, id}: the test provider's (unsigned) notification."""
    data = json.loads(inbound.body)
    return Notification(event_id=data['id'], kind=PAID, out_trade_no=data['out_trade_no'],
                        amount=data['amount'], provider_trade_no=data['trade_no'])


def failure(rejected):
    return Reply(400, 'NO')
