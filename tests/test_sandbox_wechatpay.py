"""The WeChat Pay sandbox answers like WeChat Pay, and Paygate pays and refunds through it end to end."""
import json
import os
import re
import time

import pytest
import requests

from localdev.ports import free_port
from localdev.sandbox import Sandbox
from localdev.server import BackgroundServer, create_server
from tests import qr_reader
from tests.conftest import PK, SK
from tests.wechatpay_fixtures import APP_APPID, APPID, KEY, private_pem, rsa_verify, v2_sign


@pytest.fixture
def running(wechatpay_env, wechatpay_keys, moto_table, http_mock, paygate_env):
    """Paygate on a real port and the sandbox in front of it, both on 127.0.0.1."""
    server = create_server('test', '127.0.0.1', 0)
    paygate_url = f'http://127.0.0.1:{server.server.server_address[1]}'
    sandbox_url = f'http://127.0.0.1:{free_port()}'

    def start(version, sign_type='MD5'):
        settings = {'PAYGATE_PUBLIC_URL': paygate_url, 'PAYGATE_WECHATPAY_URL': f'{sandbox_url}/wechatpay',
                    'PAYGATE_WECHATPAY_LOGIN_URL': f'{sandbox_url}/wechatpay',
                    'PAYGATE_WECHATPAY_CLIENT_CERT': wechatpay_keys.platform_cert,
                    'PAYGATE_WECHATPAY_CLIENT_KEY': private_pem(wechatpay_keys.platform)}
        wechatpay_env(version=version, sign_type=sign_type, **settings,
                      PAYGATE_SANDBOX_WECHATPAY_KEY=private_pem(wechatpay_keys.wechat))
        return Sandbox(dict(os.environ), int(sandbox_url.rsplit(':', 1)[1]), paygate_url)

    with BackgroundServer(server):
        yield paygate_url, sandbox_url, start


def call(method, url, key=None, body=None):
    headers = {'Content-Type': 'application/json'}
    if key:
        headers.update({'X-Api-Key': key} if key.startswith('pk_') else {'Authorization': f'Bearer {key}'})
    return requests.request(method, url, headers=headers, data=json.dumps(body) if body else None, timeout=30)


@pytest.mark.parametrize('version, sign_type', [('v2', 'HMAC-SHA256'), ('v3', 'MD5')])
def test_pay_and_refund_through_the_sandbox(running, version, sign_type):
    paygate, sandbox_url, start = running
    with start(version, sign_type):
        created = call('POST', f'{paygate}/orders', PK, {'provider': 'wechatpay', 'product_id': 'gold_60',
                                                         'payer': {'js_code': '081sandboxcode'}})
        assert created.status_code == 201, created.text
        order = created.json()
        params = order['client_params']
        if version == 'v2':
            unsigned = {k: v for k, v in params.items() if k != 'paySign'}
            assert params['paySign'] == v2_sign(unsigned, KEY, sign_type)
        else:
            from cryptography.hazmat.primitives import serialization
            merchant = serialization.load_pem_private_key(os.environ['PAYGATE_WECHATPAY_PRIVATE_KEY'].encode(), None)
            message = f'{APPID}\n{params["timeStamp"]}\n{params["nonceStr"]}\n{params["package"]}\n'.encode()
            assert rsa_verify(merchant, message, params['paySign'])
        paid = requests.post(f'{sandbox_url}/wechatpay/cashier/{order["out_trade_no"]}', timeout=30).json()
        assert paid['paygate_status'] == (200 if version == 'v2' else 204), paid
        shown = call('GET', f'{paygate}/orders/{order["order_id"]}', PK).json()
        assert shown['status'] == 'PAID' and shown['provider_trade_no'] == paid['transaction_id']
        refund = call('POST', f'{paygate}/orders/{order["order_id"]}/refunds', SK,
                      {'amount': 600, 'refund_no': 'sandbox-refund-1'})
        assert refund.status_code == 202, refund.text
        done = requests.post(f'{sandbox_url}/wechatpay/refund-notify/sandbox-refund-1', timeout=30).json()
        assert done['paygate_status'] == (200 if version == 'v2' else 204), done
        assert call('GET', f'{paygate}/orders/{order["order_id"]}', PK).json()['status'] == 'REFUNDED'
        again = call('POST', f'{paygate}/orders', PK, {'provider': 'wechatpay', 'product_id': 'gold_60',
                                                       'payer': {'js_code': '081sandboxcode'}})
        assert again.status_code == 400 and again.json()['error']['code'] == 'js_code_used'


def test_sandbox_refuses_bad_signatures(running, wechatpay_keys):
    _, sandbox_url, start = running
    with start('v3'):
        v2_body = ('<xml><appid>{}</appid><mch_id>1900000109</mch_id><nonce_str>n</nonce_str>'
                   '<sign>0000</sign></xml>').format(APPID)
        answer = requests.post(f'{sandbox_url}/wechatpay/pay/unifiedorder', data=v2_body, timeout=10)
        assert '<return_code><![CDATA[FAIL]]></return_code>' in answer.text
        from chalicelib.providers.wechatpay import sign
        url = f'{sandbox_url}/wechatpay/v3/pay/transactions/jsapi'
        header = sign.v3_authorization('POST', url, b'{}', '1900000109', 'S', private_pem(wechatpay_keys.platform),
                                  str(int(time.time())), 'n')
        refused = requests.post(url, data=b'{}', headers={'Authorization': header}, timeout=10)
        assert refused.status_code == 401 and refused.json()['code'] == 'SIGN_ERROR'


@pytest.mark.parametrize('version, scene', [('v3', 'app'), ('v3', 'native'), ('v3', 'h5'), ('v2', 'app'),
                                            ('v2', 'native')])
def test_orders_of_every_scene_are_paid_through_the_sandbox(running, version, scene):
    paygate, sandbox_url, start = running
    with start(version):
        created = call('POST', f'{paygate}/orders', PK, {'provider': 'wechatpay', 'product_id': 'gold_60',
                                                         'scene': scene, 'client_ip': '203.0.113.7'})
        assert created.status_code == 201, created.text
        order = created.json()
        params = order['client_params']
        cashier = f'{sandbox_url}/wechatpay/cashier/{order["out_trade_no"]}'
        if scene == 'app':
            assert params['appid'] == APP_APPID and params['package'] == 'Sign=WXPay'
        if scene == 'native':
            assert params['code_url'].startswith('weixin://wxpay/bizpayurl?pr=')
            page = requests.get(cashier, timeout=10).text
            [shown] = re.findall(r'<img alt="QR code" src="(data:image/png;base64,[^"]+)"', page)
            assert qr_reader.read(shown).text == params['code_url']
            assert qr_reader.read(params['qr_png']).text == params['code_url']
        if scene == 'h5':
            assert params['h5_url'] == cashier
        paid = requests.post(cashier, timeout=30).json()
        assert paid['paygate_status'] == (200 if version == 'v2' else 204), paid
        shown = call('GET', f'{paygate}/orders/{order["order_id"]}', PK).json()
        assert (shown['status'], shown['scene']) == ('PAID', scene)
