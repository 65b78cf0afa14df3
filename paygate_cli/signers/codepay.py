"""Codepay's payment notification, as Codepay's PHP sends it.

A POST form; `sign` is the lower-case hex MD5 of every other non-empty field,
sorted by name, joined as k=v with &, followed directly by the key. `price` is
the order's amount, `money` what Codepay quoted when the order was made (the
order's client_params.money), which is what the buyer paid.
"""
import hashlib
import secrets
from urllib.parse import urlencode

from paygate_cli.client import Outgoing
from paygate_cli.signers import Prepared, yuan

NAME = 'codepay'
SUBJECT = 'order'
STATES = ('paid',)
PATH = '/notify/codepay'
KEY = 'PAYGATE_CODEPAY_KEY'


def signed_text(fields):
    return '&'.join(f'{k}={fields[k]}' for k in sorted(fields) if k != 'sign' and fields[k] != '')


def sign(fields, key):
    return hashlib.md5((signed_text(fields) + key).encode('utf-8')).hexdigest()


def build(order, state, settings, options):
    quoted = order.get('client_params', {}).get('money', order['amount'])
    fields = {'pay_id': order['out_trade_no'],
              'money': yuan(quoted if options.amount is None else options.amount),
              'price': yuan(order['amount']), 'type': '1', 'pay_no': 'CP' + secrets.token_hex(8),
              'param': order['order_id'], 'pay_time': str(int(options.now.timestamp())), 'pay_tag': ''}
    fields['sign'] = sign(fields, settings.require(KEY))
    return Prepared(f'Codepay payment of order {order["order_id"]}', fields,
                    signed_text(fields) + f'<{KEY}>', render)


def render(fields):
    return Outgoing('POST', PATH, headers={'Content-Type': 'application/x-www-form-urlencoded'},
                    body=urlencode(fields).encode('utf-8'))


def accepted(answer):
    return answer.body == 'success'
