"""The Alipay sandbox: throw-away keys, and Paygate paid, refunded and closed through it over HTTP."""
import re

import requests

from chalicelib.providers import alipay
from localdev.sandbox import alipay as emulator
from tests import alipay_sdk, qr_reader, table
from tests.alipay_fixtures import ORDER, SANDBOX_APP_ID, alipay_and_sandbox  # noqa: F401 (a fixture)
from tests.conftest import PK, SK


def test_keys_are_generated_once(tmp_path):
    keys = emulator.make_keys(tmp_path)
    made = {path.name: path.read_bytes() for path in keys.iterdir()}
    assert sorted(made) == ['alipay_private_key.pem', 'alipay_public_key.pem',
                            'app_private_key.pem', 'app_public_key.pem']
    assert emulator.make_keys(tmp_path) == keys
    assert {path.name: path.read_bytes() for path in keys.iterdir()} == made
    assert [p.name for p in tmp_path.iterdir()] == ['alipay-sandbox']


def api(method, url, body=None, secret=False):
    headers = {'Authorization': f'Bearer {SK}'} if secret else {'X-Api-Key': PK}
    return requests.request(method, url, json=body, headers=headers, timeout=30)


def test_pay_refund_and_close_through_the_sandbox(alipay_and_sandbox):
    paygate, sandbox = alipay_and_sandbox
    order = api('POST', f'{paygate}/orders', ORDER).json()
    order_string = order['client_params']['order_string']
    paid = requests.post(f'{sandbox}/alipay/pay', data=order_string, timeout=30).json()
    assert (paid['paygate_status'], paid['paygate_answer']) == (200, 'success')
    shown = api('GET', f'{paygate}/orders/{order["order_id"]}').json()
    assert (shown['status'], shown['provider_trade_no']) == ('PAID', paid['trade_no'])

    again = requests.post(f'{sandbox}/alipay/pay', data=order_string, timeout=30).json()
    assert (again['notify_id'], again['paygate_answer']) == (paid['notify_id'], 'success')
    assert table.notification('alipay', paid['notify_id'])['verdict'] == 'applied'  # a verified duplicate costs no write

    refund = {'amount': 200, 'refund_no': 'refund-0001'}
    first = api('POST', f'{paygate}/orders/{order["order_id"]}/refunds', refund, secret=True)
    repeat = api('POST', f'{paygate}/orders/{order["order_id"]}/refunds', refund, secret=True)
    assert (first.status_code, repeat.status_code) == (200, 200)
    assert first.json()['status'] == 'SUCCEEDED' and repeat.json() == first.json()
    rest = api('POST', f'{paygate}/orders/{order["order_id"]}/refunds', {'amount': 400}, secret=True)
    assert rest.status_code == 200
    shown = api('GET', f'{paygate}/orders/{order["order_id"]}').json()
    assert (shown['status'], shown['refunded_amount']) == ('REFUNDED', 600)
    assert alipay.query(table.order(order['order_id'])).kind == 'closed'

    unpaid = api('POST', f'{paygate}/orders', ORDER).json()
    assert alipay.query(table.order(unpaid['order_id'])) is None
    closed = api('POST', f'{paygate}/orders/{unpaid["order_id"]}/close', {}, secret=True)
    assert closed.status_code == 200 and closed.json()['status'] == 'CLOSED'


def test_the_sandbox_refuses_what_the_app_did_not_sign(alipay_and_sandbox):
    paygate, sandbox = alipay_and_sandbox
    order = api('POST', f'{paygate}/orders', ORDER).json()
    tampered = order['client_params']['order_string'].replace('6.00', '0.01')
    assert requests.post(f'{sandbox}/alipay/pay', data=tampered, timeout=30).status_code == 400
    forged = alipay_sdk.KeyPair()
    params = {'app_id': SANDBOX_APP_ID, 'method': 'alipay.trade.query', 'charset': 'utf-8', 'sign_type': 'RSA2',
              'biz_content': '{"out_trade_no":"x"}'}
    params['sign'] = forged.sign(alipay_sdk.sign_content(params))
    answer = requests.post(f'{sandbox}/alipay/gateway.do', data=params, timeout=30).json()
    assert answer['error_response']['sub_code'] == 'isv.invalid-signature'
    assert api('GET', f'{paygate}/orders/{order["order_id"]}').json()['status'] == 'CREATED'


def test_wap_and_qr_orders_are_paid_through_the_sandbox(alipay_and_sandbox):
    paygate, sandbox = alipay_and_sandbox
    wap = api('POST', f'{paygate}/orders', {**ORDER, 'scene': 'wap', 'return_url': 'https://shop.example.com/paid'})
    assert wap.status_code == 201, wap.text
    pay_url = wap.json()['client_params']['pay_url']
    assert pay_url.startswith(f'{sandbox}/alipay/gateway.do?')
    page = requests.get(pay_url, timeout=10)
    assert page.status_code == 200 and 'action="/alipay/pay"' in page.text
    paid = requests.post(f'{sandbox}/alipay/pay', data=pay_url.split('?', 1)[1], timeout=30).json()
    assert (paid['paygate_status'], paid['paygate_answer']) == (200, 'success')
    assert api('GET', f'{paygate}/orders/{wap.json()["order_id"]}').json()['status'] == 'PAID'

    qr = api('POST', f'{paygate}/orders', {**ORDER, 'scene': 'qr'})
    assert qr.status_code == 201, qr.text
    qr_code = qr.json()['client_params']['qr_code']
    assert qr_code == f'{sandbox}/alipay/qr/{qr.json()["out_trade_no"]}'
    assert qr_reader.read(qr.json()['client_params']['qr_png']).text == qr_code
    page = requests.get(qr_code, timeout=10).text
    assert qr.json()['out_trade_no'] in page
    [shown] = re.findall(r'<img alt="QR code" src="(data:image/png;base64,[^"]+)"', page)
    assert qr_reader.read(shown).text == qr_code
    unpaid = alipay.query(table.order(qr.json()['order_id']))
    assert unpaid is None
    scanned = requests.post(qr_code, timeout=30).json()
    assert (scanned['paygate_status'], scanned['paygate_answer']) == (200, 'success')
    shown = api('GET', f'{paygate}/orders/{qr.json()["order_id"]}').json()
    assert (shown['status'], shown['scene'], shown['provider_trade_no']) == ('PAID', 'qr', scanned['trade_no'])
