"""Alipay: APP, mobile web (WAP) and QR code payments, docs/providers/alipay.md.

Create, by scene: `app` (alipay.trade.app.pay) and `wap` (alipay.trade.wap.pay)
make no call to Alipay: the app gets a signed order string for the Alipay
client SDK, the mobile browser a signed URL of Alipay's cashier; `qr`
(alipay.trade.precreate, 当面付) asks Alipay for the QR code the buyer scans,
in a signed call whose answer is verified. Query / close / refund: signed
gateway calls whose answers are verified over their raw response text. One
app serves every scene. The daily trade bill is bill.py.

Modules: sign (what is signed, URL encoding), gateway (requests and
answers), responses (raw answer parsing and verification), notify (its
notification), certs (certificate-mode serial numbers), bill (the daily
trade bill).
"""
from chalicelib import clock, money, qrimage, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.alipay import gateway, notify
from chalicelib.providers.contract import (CLOSED, PAID, Billable, Closable, Created, Notification,
                                           Queryable, Refundable, RefundResult, Scene, TradeNoRule)

NAME = gateway.NAME
# 商户订单号: 64个字符以内，仅支持字母、数字、下划线 (alipay.trade.app.pay).
OUT_TRADE_NO = TradeNoRule(r'[0-9A-Za-z_]{1,64}', '1-64 letters, digits or _')
CAPABILITIES = (Closable, Refundable, Queryable, Billable)
APP, WAP, QR = 'app', 'wap', 'qr'
SCENES = (Scene(APP), Scene(WAP, urls=('return_url', 'quit_url')), Scene(QR))
PRODUCT_CODES = {APP: 'QUICK_MSECURITY_PAY', WAP: 'QUICK_WAP_WAY', QR: 'FACE_TO_FACE_PAYMENT'}
TRADE_NOT_EXIST = 'ACQ.TRADE_NOT_EXIST'
REFUND_SUCCESS = 'REFUND_SUCCESS'


def validate_payer(payer, scene):
    """Alipay needs nothing about the payer: the buyer logs in to Alipay."""
    return {}


def create(order, product, payer):
    scene, notify_url = order['scene'], settings.get().notify_url(NAME)
    biz_content = {
        'out_trade_no': order['out_trade_no'],
        'total_amount': money.yuan_from_fen(order['amount']),
        'subject': product.name if order['quantity'] == 1 else f'{product.name} x{order["quantity"]}',
        'product_code': PRODUCT_CODES[scene],
    }
    expires_at = clock.parse_rfc3339(order['expires_at'])
    if scene == QR:
        biz_content['timeout_express'] = f'{max(1, int((expires_at - clock.now()).total_seconds() // 60))}m'
        return Created(client_params=_qr_params(_precreated(order, biz_content, notify_url)))
    biz_content['time_expire'] = gateway.china_time(expires_at)
    if scene == WAP:
        quit_url = order.get('quit_url') or order.get('return_url')
        if quit_url:
            biz_content['quit_url'] = quit_url
        return Created(client_params={'pay_url': gateway.pay_url(biz_content, notify_url, order.get('return_url'))})
    return Created(client_params={'order_string': gateway.order_string(biz_content, notify_url)})


def _precreated(order, biz_content, notify_url):
    """The QR code Alipay's precreate answers for the order (its answer verified)."""
    data = _ours(gateway.call('alipay.trade.precreate', biz_content, notify_url=notify_url), order)
    if not data.get('qr_code'):
        raise ProviderError('alipay.trade.precreate answered without qr_code')
    return data['qr_code']


def _qr_params(qr_code):
    """A qr order's client params: Alipay's code, and its QR code as a PNG data URL to show as it is."""
    try:
        return {'qr_code': qr_code, 'qr_png': qrimage.png_data_url(qr_code)}
    except ValueError as exc:
        raise ProviderError(f'alipay.trade.precreate answered an unusable qr_code: {exc}') from None


def query(order):
    """The trade as Alipay knows it: a PAID or CLOSED Notification, or None while unpaid."""
    answer = gateway.call('alipay.trade.query', {'out_trade_no': order['out_trade_no']})
    if answer.sub_code == TRADE_NOT_EXIST:
        return None
    data = _ours(answer, order)
    status, trade_no = data.get('trade_status'), data.get('trade_no', '')
    if status in notify.PAID_STATUSES:
        return Notification(event_id=f'query:{trade_no}', kind=PAID, out_trade_no=order['out_trade_no'],
                            amount=_fen(data.get('total_amount')), provider_trade_no=trade_no)
    if status == 'TRADE_CLOSED':
        return Notification(event_id=f'query:{trade_no}:closed', kind=CLOSED,
                            out_trade_no=order['out_trade_no'], provider_trade_no=trade_no)
    return None


def close(order, now):
    """Close the trade at Alipay; a trade Alipay never saw (app never opened) needs no closing."""
    answer = gateway.call('alipay.trade.close', {'out_trade_no': order['out_trade_no']})
    if answer.sub_code != TRADE_NOT_EXIST:
        _ours(answer, order)


def check_refund(order, amount):
    """Alipay refunds any paid trade, in part or whole."""


def refund(order, refund):
    """Refund `refund['amount']` fen under out_request_no = our refund_no (safe to repeat).

    `fund_change` Y means this call moved the money. N means either that the
    refund was made by an earlier call with the same out_request_no, or that
    it is not done: the refund query decides. `refund_fee` in the answer is the
    trade's cumulative refunded amount, not this refund's.
    """
    biz_content = {'out_trade_no': order['out_trade_no'],
                   'refund_amount': money.yuan_from_fen(refund['amount']),
                   'out_request_no': refund['refund_no']}
    if refund.get('reason'):
        biz_content['refund_reason'] = refund['reason']
    data = _ours(gateway.call('alipay.trade.refund', biz_content), order)
    trade_no = data.get('trade_no', '')
    if data.get('fund_change') == 'Y':
        return RefundResult(True, trade_no)
    return RefundResult(_refund_done(order, refund), trade_no)


def _refund_done(order, refund):
    answer = gateway.call('alipay.trade.fastpay.refund.query',
                          {'out_trade_no': order['out_trade_no'], 'out_request_no': refund['refund_no']})
    data = _ours(answer, order)
    if data.get('refund_status') != REFUND_SUCCESS:
        return False
    if (data.get('out_request_no'), _fen(data.get('refund_amount'))) != (refund['refund_no'], refund['amount']):
        raise ProviderError(f'Alipay reports refund {data.get("out_request_no")!r} of '
                            f'{data.get("refund_amount")} yuan; left pending', retryable=True)
    return True


def _ours(answer, order):
    """The data of a successful answer about our order; ProviderError otherwise."""
    if not answer.ok:
        raise answer.failure()
    data = answer.data
    if data.get('out_trade_no', order['out_trade_no']) != order['out_trade_no']:
        raise ProviderError(f'answer is about out_trade_no {data.get("out_trade_no")!r}')
    return data


def _fen(value):
    try:
        return money.fen_from_yuan(value)
    except money.MoneyError as exc:
        raise ProviderError(f'unreadable amount in answer: {exc}') from None


def download_bill(date):
    from chalicelib.providers.alipay import bill
    return bill.download(date)
