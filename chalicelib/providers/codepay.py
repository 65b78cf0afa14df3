"""Codepay (码支付): QR-code collection. PROVIDERS.md §5.

Create: GET {base}/creat_order/ with page=4 returns JSON with the QR code and
`money`, the amount the buyer must pay: Codepay may quote a little less or
more than the order's `price` to tell concurrent orders of one price apart.
The quote is kept on the order and shown to the buyer.
Notify: POST form; MD5 over every received field (sorted, empty values and
`sign` skipped, key appended), `pay_no` required; `price` must be the order's
amount and `money` (what was paid) the quote; answer `success` / `fail`.
"""
import hashlib
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib import clock, formdata, money, outbound, settings, signing
from chalicelib.errors import ProviderError, invalid
from chalicelib.providers import PAID, Created, Expect, Notification, Rejected, Reply, TradeNoRule

NAME = 'codepay'
# pay_id: '云端限制字符长度为100' (official demo), letters and digits advised.
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_-]{1,100}', '1-100 letters, digits, _ or -')
CHANNELS = {'alipay': '1', 'qq': '2', 'wechat': '3'}

SUCCESS = Reply(200, 'success')
FAILURE = Reply(400, 'fail')


def _settings():
    return settings.get().provider(NAME)


def sign(params, key):
    """Lower-case hex MD5 of the sorted non-empty pairs (without `sign`) followed by the key."""
    return hashlib.md5((signing.sorted_pairs(params) + key).encode('utf-8')).hexdigest()


def validate_payer(payer):
    """Codepay needs only the channel the buyer pays with; nothing about the payer is kept."""
    if payer.get('channel') not in CHANNELS:
        raise invalid('payer.channel must be one of alipay, qq, wechat', 'payer.channel')
    return {'channel': payer['channel']}


def create(order, product, payer):
    config = _settings()
    timeout = int((clock.parse_rfc3339(order['expires_at']) - clock.now()).total_seconds())
    params = {
        'id': config.merchant_id,
        'type': CHANNELS[payer['channel']],
        'price': money.yuan_from_fen(order['amount']),
        'pay_id': order['out_trade_no'],
        'param': order['order_id'],
        'notify_url': settings.get().notify_url(NAME),
        'page': '4',
        'outTime': str(max(timeout, 60)),
    }
    params['sign'] = sign(params, config.key.value)
    reply = outbound.request('GET', f'{config.base_url}/creat_order/?{urlencode(params)}')
    data = outbound.json_object(reply)
    if _status(data) < 0:
        raise ProviderError(str(data.get('msg') or 'order refused'), code=str(data.get('status')))
    if not data.get('qrcode'):
        raise ProviderError('reply without qrcode')
    quoted = money.fen_from_yuan(str(data.get('money', params['price'])))
    expires_at = _expiry(data) or order['expires_at']
    return Created(
        client_params={'qrcode': data['qrcode'], 'money': quoted, 'pay_id': order['out_trade_no'],
                       'expires_at': expires_at},
        provider_data={'codepay_order_id': str(data.get('order_id', '')), 'quoted_money': quoted},
        expires_at=expires_at)


def _status(data):
    try:
        return int(data.get('status', 0))
    except (TypeError, ValueError):
        raise ProviderError(f'unreadable status {data.get("status")!r}') from None


def _expiry(data):
    """Codepay says when the QR code expires as endTime - serverTime (seconds)."""
    try:
        seconds = int(data['endTime']) - int(data['serverTime'])
    except (KeyError, TypeError, ValueError):
        return None
    return clock.rfc3339(clock.now() + timedelta(seconds=seconds)) if seconds > 0 else None


def parse_notification(inbound):
    if not formdata.is_form(inbound.header('content-type')):
        raise Rejected(Rejected.MALFORMED, f'content type {inbound.header("content-type")!r} is not a form')
    try:
        fields = formdata.parse(inbound.body)
    except formdata.FormError as exc:
        raise Rejected(Rejected.MALFORMED, str(exc)) from None
    config = _settings()
    if not fields.get('pay_no'):
        raise Rejected(Rejected.MALFORMED, 'pay_no is missing')
    if not signing.equal(fields.get('sign', ''), sign(fields, config.key.value)):
        raise Rejected(Rejected.SIGNATURE, f'bad sign for pay_no {fields["pay_no"]}')
    if fields.get('id', config.merchant_id) != config.merchant_id:
        raise Rejected(Rejected.MERCHANT, f'merchant id {fields["id"]!r} is not ours')
    price, paid = _fen(fields, 'price'), _fen(fields, 'money')
    return Notification(event_id=fields['pay_no'], kind=PAID, out_trade_no=fields.get('pay_id', ''),
                        amount=price, provider_trade_no=fields['pay_no'],
                        expected=(Expect('quoted_money', paid, Rejected.AMOUNT),),
                        recorded={'paid_amount': paid})


def _fen(fields, name):
    try:
        return money.fen_from_yuan(fields.get(name, ''))
    except money.MoneyError as exc:
        raise Rejected(Rejected.MALFORMED, f'{name}: {exc}') from None


def failure(rejected):
    return FAILURE
