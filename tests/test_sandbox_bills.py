"""The sandbox's bills, read back with Paygate's own bill readers: payments and refunds made
through Paygate appear as the providers would list them, and `?notify=drop` pays an order that
Paygate never hears about (the bill and the provider's query API know it, the order does not)."""
import dataclasses
import os
import re
from datetime import datetime

import pytest
import requests

from chalicelib.providers import alipay, wechatpay
from chalicelib.providers.contract import PAID
from chalicelib.providers.alipay import bill as alipay_bill
from chalicelib.providers.bill import CHINA, BillLine, NoBill
from chalicelib.providers.wechatpay import bill as wechat_bill
from localdev.ports import free_port
from localdev.sandbox import Sandbox
from localdev.server import BackgroundServer, create_server
from tests import table
from tests.conftest import PK, SK
from tests.alipay_fixtures import alipay_and_sandbox  # noqa: F401 (a fixture)
from tests.wechatpay_fixtures import OPENID, private_pem

RFC3339 = re.compile(r'\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z')


def api(method, url, body=None, secret=False):
    headers = {'Authorization': f'Bearer {SK}'} if secret else {'X-Api-Key': PK}
    return requests.request(method, url, json=body, headers=headers, timeout=30)


def china_day():
    return datetime.now(CHINA).strftime('%Y-%m-%d')


def read_bills(download, first_day):
    """Every line of the bills from `first_day` to today (two days if the test crossed China
    midnight), with the summaries' figures added up."""
    days = sorted({first_day, china_day()})
    bills = [download(day) for day in days]
    lines = tuple(line for found in bills for line in found.lines)
    keys = {key for found in bills for key in found.totals}
    return lines, {key: sum(found.totals.get(key, 0) for found in bills) for key in keys}


def ordered(lines):
    return sorted(lines, key=lambda line: (line.kind, line.out_trade_no))


def without_time_and_ids(lines):
    for line in lines:
        assert RFC3339.match(line.time), line
    return ordered(dataclasses.replace(line, time='', provider_refund_id='') for line in lines)


@pytest.fixture
def wechat_running(wechatpay_env, wechatpay_keys, moto_table, http_mock):
    """Paygate on a real port and the WeChat Pay sandbox in front of it, both on 127.0.0.1."""
    server = create_server('test', '127.0.0.1', 0)
    paygate_url = f'http://127.0.0.1:{server.server.server_address[1]}'
    sandbox_port = free_port()

    def start(version):
        wechatpay_env(version=version, PAYGATE_PUBLIC_URL=paygate_url,
                      PAYGATE_WECHATPAY_URL=f'http://127.0.0.1:{sandbox_port}/wechatpay',
                      PAYGATE_WECHATPAY_CLIENT_CERT=wechatpay_keys.platform_cert,
                      PAYGATE_WECHATPAY_CLIENT_KEY=private_pem(wechatpay_keys.platform),
                      PAYGATE_SANDBOX_WECHATPAY_KEY=private_pem(wechatpay_keys.wechat))
        return Sandbox(dict(os.environ), sandbox_port, paygate_url)

    with BackgroundServer(server):
        yield paygate_url, start


@pytest.mark.parametrize('version', ['v2', 'v3'])
def test_wechat_pay_bill_lists_what_was_paid_and_refunded(wechat_running, version):
    paygate, start = wechat_running
    first_day = china_day()
    with start(version) as sandbox:
        def order(product_id, quantity=1):
            created = api('POST', f'{paygate}/orders', {'provider': 'wechatpay', 'product_id': product_id,
                                                        'quantity': quantity, 'payer': {'openid': OPENID}})
            assert created.status_code == 201, created.text
            return created.json()

        def pay(order, switch=''):
            paid = requests.post(f'{sandbox.base_url}/wechatpay/cashier/{order["out_trade_no"]}{switch}',
                                 timeout=30)
            return paid.json()['transaction_id']

        coins, month, three = order('gold_60'), order('vip_month'), order('gold_60', 3)
        paid = {o['out_trade_no']: pay(o, switch) for o, switch in ((coins, ''), (month, '?notify=drop'),
                                                                     (three, ''))}
        for o, refund_no in ((three, 'rf-partial'), (coins, 'rf-full')):
            asked = api('POST', f'{paygate}/orders/{o["order_id"]}/refunds',
                        {'amount': 600, 'refund_no': refund_no}, secret=True)
            assert asked.status_code == 202, asked.text
        requests.post(f'{sandbox.base_url}/wechatpay/refund-notify/rf-partial', timeout=30)

        lines, totals = read_bills(wechat_bill.download, first_day)
        assert without_time_and_ids(lines) == ordered([
            BillLine('payment', coins['out_trade_no'], paid[coins['out_trade_no']], 600, 4, 'SUCCESS'),
            BillLine('payment', month['out_trade_no'], paid[month['out_trade_no']], 3000, 18, 'SUCCESS'),
            BillLine('payment', three['out_trade_no'], paid[three['out_trade_no']], 1800, 11, 'SUCCESS'),
            BillLine('refund', coins['out_trade_no'], paid[coins['out_trade_no']], 600, -4, 'PROCESSING',
                     refund_no='rf-full', succeeded=False),
            BillLine('refund', three['out_trade_no'], paid[three['out_trade_no']], 600, -4, 'SUCCESS',
                     refund_no='rf-partial'),
        ])
        assert all(line.provider_refund_id.startswith('503') for line in lines if line.kind == 'refund')
        assert totals == {'count': 5, 'amount': 5400, 'refund_amount': 1200, 'fee': 25}

        dropped = table.order(month['order_id'])
        assert dropped['status'] == 'CREATED'
        assert wechatpay.query(dropped).kind == PAID
        assert wechat_bill.download('2020-01-01') == NoBill('wechatpay', '2020-01-01')


def test_alipay_bill_lists_what_was_paid_and_refunded(alipay_and_sandbox):
    paygate, sandbox = alipay_and_sandbox
    first_day = china_day()

    def order(product_id, quantity=1):
        created = api('POST', f'{paygate}/orders', {'provider': 'alipay', 'product_id': product_id,
                                                    'quantity': quantity, 'payer': {}})
        assert created.status_code == 201, created.text
        return created.json()

    def pay(order, switch=''):
        return requests.post(f'{sandbox}/alipay/pay{switch}', data=order['client_params']['order_string'],
                             timeout=30).json()['trade_no']

    coins, month, three = order('gold_60'), order('vip_month'), order('gold_60', 3)
    paid = {o['out_trade_no']: pay(o, switch) for o, switch in ((coins, ''), (month, '?notify=drop'), (three, ''))}
    for o, refund_no in ((three, 'rf-partial'), (coins, 'rf-full')):
        done = api('POST', f'{paygate}/orders/{o["order_id"]}/refunds', {'amount': 600, 'refund_no': refund_no},
                   secret=True)
        assert done.status_code == 200, done.text

    lines, totals = read_bills(alipay_bill.download, first_day)
    assert without_time_and_ids(lines) == ordered([
        BillLine('payment', coins['out_trade_no'], paid[coins['out_trade_no']], 600, 4, '交易'),
        BillLine('payment', month['out_trade_no'], paid[month['out_trade_no']], 3000, 18, '交易'),
        BillLine('payment', three['out_trade_no'], paid[three['out_trade_no']], 1800, 11, '交易'),
        BillLine('refund', coins['out_trade_no'], paid[coins['out_trade_no']], 600, -4, '退款', refund_no='rf-full'),
        BillLine('refund', three['out_trade_no'], paid[three['out_trade_no']], 600, -4, '退款',
                 refund_no='rf-partial'),
    ])
    assert totals == {'count': 5, 'net_amount': 4200, 'fee': 25}

    dropped = table.order(month['order_id'])
    assert dropped['status'] == 'CREATED'
    assert alipay.query(dropped).kind == PAID
    assert alipay_bill.download('2020-01-01') == NoBill('alipay', '2020-01-01')
