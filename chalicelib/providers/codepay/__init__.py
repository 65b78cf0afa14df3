"""Codepay (码支付): QR-code collection (docs/providers/codepay.md).

Create: GET {base}/creat_order/ with page=4 returns JSON with the QR code and
`money`, the amount the buyer must pay: Codepay may quote a little less or
more than the order's `price` to tell concurrent orders of one price apart.
The quote is kept on the order (provider_data.quoted_money) and shown to the
buyer. Codepay has no close, refund, query or bill API.
Modules: sign (the MD5 signature), notify (its notification).
"""
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib import clock, money, outbound, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.codepay import sign
from chalicelib.providers.contract import Created, InvalidPayer, Scene, TradeNoRule

NAME = 'codepay'
# pay_id: '云端限制字符长度为100' (official demo), letters and digits advised.
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_-]{1,100}', '1-100 letters, digits, _ or -')
CAPABILITIES = ()
# The buyer scans a QR code.
SCENES = (Scene('qr'),)
CHANNELS = {'alipay': '1', 'qq': '2', 'wechat': '3'}
MAX_QR_SECONDS = 86400


def config():
    """The CodepaySettings of this stage."""
    return settings.get().provider(NAME)


def validate_payer(payer, scene):
    """Codepay needs only the channel the buyer pays with; nothing about the payer is kept."""
    if payer.get('channel') not in CHANNELS:
        raise InvalidPayer('payer.channel must be one of alipay, qq, wechat', 'payer.channel')
    return {'channel': payer['channel']}


def create(order, product, payer):
    codepay = config()
    timeout = int((clock.parse_rfc3339(order['expires_at']) - clock.now()).total_seconds())
    params = {
        'id': codepay.merchant_id,
        'type': CHANNELS[payer['channel']],
        'price': money.yuan_from_fen(order['amount']),
        'pay_id': order['out_trade_no'],
        'param': order['order_id'],
        'notify_url': settings.get().notify_url(NAME),
        'page': '4',
        'outTime': str(max(timeout, 60)),
    }
    params['sign'] = sign.sign(params, codepay.key.value)
    reply = outbound.request('GET', f'{codepay.base_url}/creat_order/?{urlencode(params)}')
    data = outbound.json_object(reply)
    if _status(data) < 0:
        raise ProviderError(str(data.get('msg') or 'order refused'), code=str(data.get('status')))
    if not data.get('qrcode'):
        raise ProviderError('reply without qrcode')
    quoted = _quote(data, params['price'])
    expires_at = _expiry(data) or order['expires_at']
    return Created(
        client_params={'qrcode': data['qrcode'], 'money': quoted, 'pay_id': order['out_trade_no'],
                       'expires_at': expires_at},
        provider_data={'codepay_order_id': str(data.get('order_id', '')), 'quoted_money': quoted},
        expires_at=expires_at)


def _quote(data, price):
    try:
        return money.fen_from_yuan(str(data.get('money', price)))
    except money.MoneyError as exc:
        raise ProviderError(f'unreadable money in the reply: {exc}') from None


def _status(data):
    try:
        return int(data.get('status', 0))
    except (TypeError, ValueError):
        raise ProviderError(f'unreadable status {data.get("status")!r}') from None


def _expiry(data):
    """Codepay says when the QR code expires as endTime - serverTime (seconds, at most a day)."""
    try:
        seconds = int(data['endTime']) - int(data['serverTime'])
    except (KeyError, TypeError, ValueError):
        return None
    return clock.rfc3339(clock.now() + timedelta(seconds=seconds)) if 0 < seconds <= MAX_QR_SECONDS else None
