"""Paygate's books of one day for the reconciliation tests, made through the real payment and refund paths,
and the providers serving their bills of that day (tests/data/bills: the real formats)."""
import gzip
from datetime import datetime, timezone

from chalicelib import catalog, clock, orders, refunds
from chalicelib.providers.contract import PAID, REFUNDED, Notification
from tests import table
from tests.alipay_fixtures import expect_gateway
from tests.bill_fixtures import bill_file, hashed, tradebill
from tests.helpers import apply_verified

DAY = '2026-11-22'
DURING = datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc)        # 12:00 China time, on the day
NEXT_MORNING = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)  # 10:30 China time, the day after
# The orders, trades and refunds of the fixture bills.
PAY_1, PAY_2, PAY_3 = 'pg20261122091520a1b2c3d4e5f6', 'pg20261122123955b7c8d9e0f1a2', 'pg20261122180340c3d4e5f6a7b8'
TRADES = {'wechatpay': {PAY_1: '4200001234202611220000000101', PAY_2: '4200001234202611220000000102',
                        PAY_3: '4200001234202611220000000103'},
          'alipay': {PAY_1: '2026112222001404370500000101', PAY_2: '2026112222001404370500000102',
                     PAY_3: '2026112222001404370500000103'}}
WECHAT_REFUND_IDS = {'rf_partial_0001': '50300001232026112200000000201',
                     'rf_full_0002': '50300001232026112200000000202'}
ALIPAY_BILL_URL = 'https://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade&fileId=recon'


class Ledger:
    """One provider's orders, payments and refunds on DAY, as Paygate records them."""

    def __init__(self, provider, monkeypatch, provider_data=None):
        self.provider = provider
        self.monkeypatch = monkeypatch
        self.provider_data = provider_data or {}
        self.at(DURING)

    def at(self, moment):
        self.monkeypatch.setattr(clock, 'now', lambda: moment)

    def order(self, out_trade_no, product_id='gold_60', quantity=1):
        """A CREATED order, as POST /orders leaves it (with what its provider's create kept)."""
        request = {'provider': self.provider, 'product_id': product_id, 'quantity': quantity,
                   'out_trade_no': out_trade_no, 'payer': {}, 'scene': 'app', 'client_ip': None, 'metadata': {}}
        item = {**orders.new_order_item(request, catalog.get().get(product_id), {}),
                'provider_data': self.provider_data}
        table.insert(item)
        return item

    def paid(self, out_trade_no, product_id='gold_60', quantity=1, trade_no=None):
        """An order paid by its provider's notification; the stored order."""
        order = self.order(out_trade_no, product_id, quantity)
        trade_no = trade_no or TRADES[self.provider][out_trade_no]
        assert apply_verified(self.provider, Notification(
            event_id=trade_no, kind=PAID, out_trade_no=out_trade_no, amount=order['amount'],
            provider_trade_no=trade_no)) == 'applied'
        return table.order_by_trade_no(out_trade_no)

    def refunded(self, out_trade_no, refund_no, amount, refund_id=''):
        """A refund the provider reported done (its notification)."""
        assert apply_verified(self.provider, Notification(
            event_id=refund_id or f'refund-{refund_no}', kind=REFUNDED, out_trade_no=out_trade_no,
            refund_no=refund_no, refund_amount=amount, provider_trade_no=refund_id)) == 'applied'

    def refund_pending(self, wechat, out_trade_no, refund_no, amount):
        """A WeChat Pay refund asked for here that WeChat Pay is still processing."""
        wechat.v3('POST', '/v3/refund/domestic/refunds', body={
            'refund_id': WECHAT_REFUND_IDS[refund_no], 'out_refund_no': refund_no, 'status': 'PROCESSING'})
        self.refund_left_pending(out_trade_no, refund_no, amount)

    def refund_left_pending(self, out_trade_no, refund_no, amount):
        """A refund asked for here (POST /orders/{id}/refunds) that the provider, already told how to
        answer, has not finished."""
        order = table.order_by_trade_no(out_trade_no)
        status, refund = refunds.create(order['order_id'], {'amount': amount, 'refund_no': refund_no})
        assert refund['status'] == 'PENDING', (status, refund)

    def as_in_the_wechat_bill(self, wechat):
        """The books the WeChat Pay fixture bill agrees with: three payments, one refund done and
        one in progress."""
        self.paid(PAY_1)
        self.paid(PAY_2, 'vip_month')
        self.paid(PAY_3, quantity=3)
        self.refunded(PAY_3, 'rf_partial_0001', 600, WECHAT_REFUND_IDS['rf_partial_0001'])
        self.refund_pending(wechat, PAY_2, 'rf_full_0002', 3000)

    def as_in_the_alipay_bill(self):
        self.paid(PAY_1)
        self.paid(PAY_2, 'vip_month')
        self.paid(PAY_3, quantity=3)
        self.refunded(PAY_3, 'rf_partial_0001', 600)
        self.refunded(PAY_2, 'rf_full_0002', 3000)


def serve_wechat_bill(wechat, text):
    """WeChat Pay API v3 answers the day's bill with `text` (gzipped, its SHA1 given)."""
    tradebill(wechat, hashed(text))
    bill_file(wechat, gzip.compress(text.encode('utf-8')))


def serve_alipay(http_mock, alipay_keys, answers, zipped=None):
    """Alipay's gateway answering `answers` (by method), and the bill zip when given."""
    if zipped is not None:
        answers = {'alipay.data.dataservice.bill.downloadurl.query': {
            'code': '10000', 'msg': 'Success', 'bill_download_url': ALIPAY_BILL_URL}, **answers}
        http_mock.add('GET', ALIPAY_BILL_URL, body=zipped, content_type='application/oct-stream')
    expect_gateway(http_mock, alipay_keys, answers)
