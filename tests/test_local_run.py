"""The README's run command, as a new user meets it: a real process, real ports, Ctrl-C."""
import signal
import socket
import time

import requests

from localdev.server import stage_environment
from tests.helpers import codepay_sign
from tests.local_run import RunCommand

LOCAL = stage_environment('local')
PK = {'X-Api-Key': LOCAL['PAYGATE_PUBLISHABLE_KEYS']}
SK = {'Authorization': f'Bearer {LOCAL["PAYGATE_SECRET_KEYS"]}'}


def wait_until_delivered(url, attempts=100):
    """The local worker delivers within a second or two; poll the events API until it has."""
    secret = {'Authorization': f'Bearer {LOCAL["PAYGATE_SECRET_KEYS"]}'}
    for _ in range(attempts):
        found = requests.get(url, headers=secret, timeout=10).json()['data']
        if found and all(e['delivery_status'] == 'delivered' for e in found):
            return found
        time.sleep(0.1)
    raise AssertionError(f'events not delivered: {found}')


def listening(port):
    with socket.socket() as sock:
        return sock.connect_ex(('127.0.0.1', port)) == 0


def dynamodb_port(output):
    line = next(line for line in output.splitlines() if line.startswith('DynamoDB: '))
    return int(line.rsplit(':', 1)[1])


def test_run_serves_every_provider_end_to_end_and_ctrl_c_stops_everything(tmp_path):
    run = RunCommand(tmp_path / 'data')
    try:
        engine_port = dynamodb_port(''.join(run.output))
        created = requests.post(f'{run.url}/orders', headers=PK, timeout=10, json={
            'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'}})
        assert created.status_code == 201
        order = created.json()
        assert order['client_params']['qrcode'].startswith(f'http://127.0.0.1:{run.sandbox_port}/')
        paid = requests.post(order['client_params']['qrcode'], timeout=10).json()
        assert (paid['paygate_status'], paid['paygate_answer']) == (200, 'success')
        shown = requests.get(f'{run.url}/orders/{order["order_id"]}', headers=PK, timeout=10).json()
        assert shown['status'] == 'PAID' and shown['provider_trade_no'] == paid['pay_no']

        fields = {'pay_id': order['out_trade_no'], 'money': '6.00', 'price': '6.00', 'pay_no': paid['pay_no'],
                  'type': '1'}
        fields['sign'] = codepay_sign(fields, LOCAL['PAYGATE_CODEPAY_KEY'])
        again = requests.post(f'{run.url}/notify/codepay', data=fields, timeout=10)
        assert again.text == 'success'
        forged = requests.post(f'{run.url}/notify/codepay', data={**fields, 'pay_no': 'forged'}, timeout=10)
        assert forged.text == 'fail'
        assert requests.get(f'{run.url}/orders/{order["order_id"]}', headers=PK,
                            timeout=10).json() == shown
        [event] = wait_until_delivered(f'{run.url}/events?order_id={order["order_id"]}')
        received = requests.get(f'http://127.0.0.1:{run.sandbox_port}/merchant/webhooks', timeout=10)
        assert received.json()['received'] == [{'id': event['id'], 'type': 'order.paid'}]

        sandbox = f'http://127.0.0.1:{run.sandbox_port}/cloudmarket'
        created = requests.post(f'{sandbox}/send/createInstance', timeout=10).json()
        sign_id = created['paygate_answer']['signId']
        assert created['paygate_answer']['appInfo']['authUrl'].startswith(f'{run.url}/cloudmarket/login/')
        assert requests.get(f'{sandbox}/open/{sign_id}', timeout=10).json() == {
            'logged_in': True, 'signId': sign_id}

        _alipay_end_to_end(run)
    finally:
        output = run.stop()
    assert run.process.returncode == 0, output
    for port in (run.port, run.sandbox_port, engine_port):
        assert not listening(port), f'port {port} still open after Ctrl-C'

    restarted = RunCommand(tmp_path / 'data', sigint_ignored=True)
    try:
        engine_port = dynamodb_port(''.join(restarted.output))
        kept = requests.get(f'{restarted.url}/orders/{order["order_id"]}', headers=PK, timeout=10)
        assert kept.json()['status'] == 'PAID'
    finally:
        output = restarted.stop()
    assert restarted.process.returncode == 0, output
    for port in (restarted.port, restarted.sandbox_port, engine_port):
        assert not listening(port), f'port {port} still open after Ctrl-C'


def test_sigterm_stops_everything_too(tmp_path):
    run = RunCommand(tmp_path / 'data')
    engine_port = dynamodb_port(''.join(run.output))
    output = run.stop(signal.SIGTERM)
    assert run.process.returncode == 0, output
    for port in (run.port, run.sandbox_port, engine_port):
        assert not listening(port), f'port {port} still open after SIGTERM'


def _alipay_end_to_end(run):
    """Alipay through the sandbox with the keys `make run` generated: pay, then refund."""
    created = requests.post(f'{run.url}/orders', headers=PK, timeout=10,
                            json={'provider': 'alipay', 'product_id': 'gold_60'})
    assert created.status_code == 201, created.text
    order = created.json()
    paid = requests.post(f'http://127.0.0.1:{run.sandbox_port}/alipay/pay', timeout=10,
                         data=order['client_params']['order_string']).json()
    assert (paid['paygate_status'], paid['paygate_answer']) == (200, 'success')
    refund = requests.post(f'{run.url}/orders/{order["order_id"]}/refunds', headers=SK, timeout=10,
                           json={'amount': 600, 'refund_no': 'refund-e2e-1'})
    assert refund.status_code == 200 and refund.json()['status'] == 'SUCCEEDED'
    shown = requests.get(f'{run.url}/orders/{order["order_id"]}', headers=PK, timeout=10).json()
    assert (shown['status'], shown['provider_trade_no']) == ('REFUNDED', paid['trade_no'])


def test_run_uses_another_dynamodb_endpoint_without_starting_one(tmp_path, dynamodb_local):
    run = RunCommand(tmp_path / 'unused', {'PAYGATE_DYNAMODB_ENDPOINT': dynamodb_local.endpoint})
    try:
        output = ''.join(run.output)
        assert 'Starting DynamoDB Local' not in output
        assert dynamodb_port(output) == dynamodb_local.port
        created = requests.post(f'{run.url}/orders', headers=PK, timeout=10, json={
            'provider': 'codepay', 'product_id': 'test_1fen', 'payer': {'channel': 'qq'}})
        assert created.status_code == 201
        wechat = requests.post(f'{run.url}/orders', headers=PK, timeout=10, json={
            'provider': 'wechatpay', 'product_id': 'test_1fen', 'payer': {'js_code': 'local-run-code'}})
        assert wechat.status_code == 201, wechat.text
        assert wechat.json()['client_params']['signType'] == 'RSA'
        cashier = f'http://127.0.0.1:{run.sandbox_port}/wechatpay/cashier/{wechat.json()["out_trade_no"]}'
        assert requests.post(cashier, timeout=10).json()['paygate_status'] == 204
        shown = requests.get(f'{run.url}/orders/{wechat.json()["order_id"]}', headers=PK, timeout=10)
        assert shown.json()['status'] == 'PAID'
    finally:
        run.stop()
    assert not (tmp_path / 'unused').exists()


def test_run_serves_midas_item_purchases_through_the_sandbox(tmp_path, dynamodb_local):
    payer = {'openid': 'OPENID0001', 'openkey': 'PAYTOKEN0001', 'pf': 'desktop_m_qq-2001-android-2011-ysdk',
             'pfkey': 'PFKEY0001', 'login_type': 'qq', 'zoneid': '1'}
    run = RunCommand(tmp_path / 'unused', {'PAYGATE_DYNAMODB_ENDPOINT': dynamodb_local.endpoint})
    try:
        created = requests.post(f'{run.url}/orders', headers=PK, timeout=10, json={
            'provider': 'midas', 'product_id': 'gold_60', 'payer': payer})
        assert created.status_code == 201, created.text
        order = created.json()
        token = order['client_params']['token']
        paid = requests.post(f'http://127.0.0.1:{run.sandbox_port}/midas/pay/{token}', timeout=10).json()
        assert (paid['paygate_status'], paid['paygate_answer']) == (200, '{"ret":0,"msg":"OK"}')
        shown = requests.get(f'{run.url}/orders/{order["order_id"]}', headers=PK, timeout=10).json()
        assert shown['status'] == 'PAID' and shown['provider_trade_no'] == paid['billno']
    finally:
        run.stop()
