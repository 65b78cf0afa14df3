"""The Codepay sandbox answers like Codepay: it checks our signature and signs its notifications."""
from urllib.parse import parse_qsl

import pytest
import requests

from localdev.ports import free_port
from localdev.sandbox import Sandbox
from tests.helpers import codepay_sign

ENV = {'PAYGATE_CODEPAY_ID': '10001', 'PAYGATE_CODEPAY_KEY': 'sandbox-key'}


@pytest.fixture
def sandbox():
    with Sandbox(ENV, free_port(), 'http://127.0.0.1:1') as running:
        yield running


def create(sandbox, **change):
    params = {'id': '10001', 'type': '1', 'price': '6.00', 'pay_id': 'order-1', 'param': '',
              'notify_url': 'http://127.0.0.1:1/notify/codepay', 'page': '4', 'outTime': '360', **change}
    params['sign'] = codepay_sign(params, 'sandbox-key')
    if 'sign' in change:
        params['sign'] = change['sign']
    return requests.get(f'{sandbox.base_url}/codepay/creat_order/', params=params, timeout=5).json()


def test_sandbox_creates_orders_signed_with_the_sandbox_key(sandbox):
    reply = create(sandbox)
    assert reply['status'] == 0 and reply['money'] == '6.00'
    assert reply['qrcode'] == f'{sandbox.base_url}/codepay/pay/order-1'
    assert reply['endTime'] - reply['serverTime'] == 360
    page = requests.get(reply['qrcode'], timeout=5)
    assert page.status_code == 200 and '6.00' in page.text


def test_sandbox_refuses_bad_signatures_and_merchants(sandbox):
    assert create(sandbox, sign='0' * 32)['status'] < 0
    assert create(sandbox, id='999')['status'] < 0


def test_paying_sends_a_signed_notification(sandbox, http_mock):
    create(sandbox, notify_url='https://paygate.test/notify/codepay')
    http_mock.add('POST', 'https://paygate.test/notify/codepay', body='success')
    http_mock.add_passthru(sandbox.base_url)
    paid = requests.post(f'{sandbox.base_url}/codepay/pay/order-1', timeout=5).json()
    assert (paid['paygate_status'], paid['paygate_answer']) == (200, 'success')
    sent = dict(parse_qsl(http_mock.calls[-1].request.body, keep_blank_values=True))
    assert sent['sign'] == codepay_sign(sent, 'sandbox-key')
    assert (sent['pay_id'], sent['money'], sent['pay_no']) == ('order-1', '6.00', paid['pay_no'])


def test_concurrent_orders_of_one_price_are_quoted_apart_and_notified_with_both(sandbox, http_mock):
    first, second = create(sandbox), create(sandbox, pay_id='order-2')
    assert (first['money'], first['price']) == ('6.00', '6.00')
    assert (second['money'], second['price']) == ('5.99', '6.00')
    http_mock.add('POST', 'http://127.0.0.1:1/notify/codepay', body='success')
    http_mock.add_passthru(sandbox.base_url)
    requests.post(f'{sandbox.base_url}/codepay/pay/order-2', timeout=5)
    sent = dict(parse_qsl(http_mock.calls[-1].request.body, keep_blank_values=True))
    assert (sent['price'], sent['money']) == ('6.00', '5.99')
