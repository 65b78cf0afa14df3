"""Alipay's asynchronous notification, as Alipay sends it.

A POST form in UTF-8; `sign` is the Base64 SHA256withRSA signature, by the
Alipay private key, of every other non-empty field but `sign_type`, sorted by
name, joined as k=v with & (raw values). Paid is TRADE_SUCCESS; a refund
carries `refund_fee`, the trade's refunded total (TRADE_CLOSED once it is all
of it) and `out_biz_no`; a close is TRADE_CLOSED without a refund.
"""
import secrets
from urllib.parse import urlencode

from paygate_cli import crypto
from paygate_cli.client import Outgoing
from paygate_cli.signers import Prepared, china_time, digits, parse_time, refund_amounts, yuan
from paygate_cli.stage import SANDBOX_ALIPAY_KEY

NAME = 'alipay'
SUBJECT = 'order'
STATES = ('paid', 'refunded', 'closed')
PATH = '/notify/alipay'
SANDBOX_SELLER = '2088000000000001'
UNSIGNED = ('sign', 'sign_type')


def signed_text(fields):
    return '&'.join(f'{k}={fields[k]}' for k in sorted(fields) if k not in UNSIGNED and fields[k] != '')


def sign(fields, private_key):
    return crypto.rsa_sign(private_key, signed_text(fields).encode('utf-8'))


def build(order, state, settings, options):
    now = options.now
    fields = {
        'notify_time': china_time(now), 'notify_type': 'trade_status_sync',
        'notify_id': secrets.token_hex(16), 'app_id': settings.require('PAYGATE_ALIPAY_APP_ID'),
        'charset': 'utf-8', 'version': '1.0', 'sign_type': 'RSA2',
        'trade_no': order.get('provider_trade_no') or china_time(now, '%Y%m%d') + '22001' + digits(14),
        'out_trade_no': order['out_trade_no'], 'buyer_id': '2088102177846880',
        'seller_id': settings.get('PAYGATE_ALIPAY_SELLER_ID', SANDBOX_SELLER),
        'total_amount': yuan(order['amount']),
        'gmt_create': china_time(parse_time(order['created_at']) if order.get('created_at') else now),
    }
    fields.update(_outcome(order, state, options))
    key = crypto.private_key(settings.require(SANDBOX_ALIPAY_KEY))
    fields['sign'] = sign(fields, key)
    return Prepared(f'Alipay {state} notification for order {order["order_id"]}', fields,
                    signed_text(fields), render)


def _outcome(order, state, options):
    now = options.now
    if state == 'paid':
        paid = yuan(order['amount'] if options.amount is None else options.amount)
        return {'trade_status': 'TRADE_SUCCESS', 'total_amount': paid, 'receipt_amount': paid,
                'buyer_pay_amount': paid, 'gmt_payment': china_time(now)}
    if state == 'refunded':
        _, total = refund_amounts(order, options)
        return {'trade_status': 'TRADE_CLOSED' if total >= order['amount'] else 'TRADE_SUCCESS',
                'out_biz_no': options.refund_no, 'refund_fee': yuan(total),
                'gmt_refund': china_time(now, '%Y-%m-%d %H:%M:%S.') + f'{now.microsecond // 1000:03d}'}
    return {'trade_status': 'TRADE_CLOSED', 'gmt_close': china_time(now)}


def render(fields):
    return Outgoing('POST', PATH, headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'},
                    body=urlencode(fields).encode('utf-8'))


def accepted(answer):
    return answer.body == 'success'
