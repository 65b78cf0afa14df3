"""A provider with refund and close APIs, for testing the generic refund/close flows.

It stands in for the provider, not for the code under test: it answers as a
provider would, as the test tells it to.
"""
from dataclasses import dataclass

from chalicelib.errors import ProviderError

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
