"""The Midas sandbox answers like Midas (checking our signatures) and sends signed delivery
callbacks; and Paygate works end to end against it through real HTTP."""
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from localdev.ports import free_port
from localdev.sandbox import Sandbox
from localdev.server import BackgroundServer, create_server
from tests import table
from tests.helpers import PUBLISHABLE, SECRET, midas_callback_sig, midas_sig
from tests.midas_fixtures import APPID, APPKEY, COOKIES, PAYER

ENV = {'PAYGATE_MIDAS_APPID': APPID, 'PAYGATE_MIDAS_APPKEY': APPKEY}


@pytest.fixture
def sandbox():
    with Sandbox(ENV, free_port(), 'https://paygate.test') as running:
        yield running


def call(sandbox, name, method='GET', cookie=None, sig=None, **extra):
    params = {'openid': PAYER['openid'], 'openkey': PAYER['openkey'], 'appid': APPID, 'ts': '1763780000',
              'pf': PAYER['pf'], 'pfkey': PAYER['pfkey'], 'zoneid': '1', 'format': 'json', **extra}
    params['sig'] = sig or midas_sig(method, f'/v3/r/mpay/{name}', params, APPKEY)
    headers = {'Cookie': COOKIES['qq'].format(api=name) if cookie is None else cookie}
    url = f'{sandbox.base_url}/midas/mpay/{name}'
    if method == 'GET':
        return requests.get(url, params=params, headers=headers, timeout=5).json()
    return requests.post(url, data=params, headers=headers, timeout=5).json()


def buy(sandbox, **change):
    goods = {'payitem': 'g001*60*1', 'goodsmeta': '金币*60个金币', 'goodsurl': '', 'appmode': '1',
             'app_metadata': 'pg-order-0001'}
    return call(sandbox, 'buy_goods_m', **{**goods, **change})


def test_buy_goods_m_answers_a_token_for_a_good_signature(sandbox):
    reply = buy(sandbox)
    assert reply['ret'] == 0
    assert reply['url_params'] == f'/v1/r/{APPID}/mobile_goods_info?token_id={reply["token"]}'


@pytest.mark.parametrize('change, ret', [
    ({'sig': 'AAAA'}, 4), ({'appid': '1450000001'}, 4), ({'cookie': 'session_id=openid'}, 1001),
    ({'openkey': 'expired'}, 1018),
])
def test_buy_goods_m_refuses_what_midas_refuses(sandbox, change, ret):
    assert buy(sandbox, **change)['ret'] == ret


def test_the_signature_must_use_the_method_sent(sandbox):
    params = {'payitem': 'g001*60*1', 'app_metadata': 'x', 'ts': '1'}
    assert call(sandbox, 'buy_goods_m', method='POST', **params)['ret'] == 0
    signed = {'openid': PAYER['openid'], 'openkey': PAYER['openkey'], 'appid': APPID, 'pf': PAYER['pf'],
              'pfkey': PAYER['pfkey'], 'zoneid': '1', 'format': 'json', **params}
    get_sig = midas_sig('GET', '/v3/r/mpay/buy_goods_m', signed, APPKEY)
    assert call(sandbox, 'buy_goods_m', method='GET', sig=get_sig, **params)['ret'] == 0
    assert call(sandbox, 'buy_goods_m', method='POST', sig=get_sig, **params)['ret'] == 4


def test_paying_sends_a_signed_delivery_callback(sandbox, http_mock):
    token = buy(sandbox)['token']
    http_mock.add_passthru(sandbox.base_url)
    http_mock.add('GET', 'https://paygate.test/notify/midas', body='{"ret":0,"msg":"OK"}')
    page = requests.get(f'{sandbox.base_url}/midas/pay/{token}', timeout=5)
    assert page.status_code == 200 and 'g001*60*1' in page.text
    paid = requests.post(f'{sandbox.base_url}/midas/pay/{token}', timeout=5).json()
    assert (paid['paygate_status'], paid['paygate_answer']) == (200, '{"ret":0,"msg":"OK"}')
    sent = dict(parse_qsl(urlsplit(http_mock.calls[-1].request.url).query, keep_blank_values=True))
    assert sent['sig'] == midas_callback_sig('/notify/midas', sent, APPKEY)
    assert (sent['token'], sent['amt'], sent['payitem'], sent['billno']) == (token, '600', 'g001*60*1',
                                                                           paid['billno'])
    assert sent['appmeta'] == 'pg-order-0001*qdqb*qq' and sent['pubacct_payamt_coins'] == ''


def test_coin_accounts(sandbox):
    requests.post(f'{sandbox.base_url}/midas/recharge', json={'openid': PAYER['openid'], 'coins': 100},
                  timeout=5)
    assert call(sandbox, 'get_balance_m')['save_amt'] == 100
    first = call(sandbox, 'pay_m', 'POST', amt='60', billno='bill-1')
    assert (first['ret'], first['balance']) == (0, 40)
    assert call(sandbox, 'pay_m', 'POST', amt='60', billno='bill-1') == first
    assert call(sandbox, 'pay_m', 'POST', amt='60', billno='bill-2')['ret'] == 1004
    assert call(sandbox, 'cancel_pay_m', 'POST', amt='60', billno='bill-1')['balance'] == 100
    assert call(sandbox, 'cancel_pay_m', 'POST', amt='60', billno='bill-1')['balance'] == 100
    gift = call(sandbox, 'present_m', 'POST', presenttimes='5', billno='gift-1')
    assert (gift['balance'], gift['gen_balance']) == (105, 5)
    assert call(sandbox, 'present_m', 'POST', presenttimes='5', billno='gift-1')['balance'] == 105


@pytest.fixture
def running(midas_env, moto_table, http_mock):
    """Paygate on a real port with Midas pointed at a sandbox on another one."""
    server = create_server('test', '127.0.0.1', 0)
    server.port = server.server.server_address[1]
    paygate_url = f'http://127.0.0.1:{server.port}'
    port = free_port()
    midas_env.setenv('PAYGATE_MIDAS_URL', f'http://127.0.0.1:{port}/midas')
    from tests.conftest import reset_caches
    reset_caches()
    with Sandbox(ENV, port, paygate_url) as box, BackgroundServer(server) as app:
        yield box, app.url


def test_end_to_end_item_purchase_and_coins(running):
    box, url = running
    created = requests.post(f'{url}/orders', headers=PUBLISHABLE, timeout=10, json={
        'provider': 'midas', 'product_id': 'gold_60', 'payer': PAYER}).json()
    token = created['client_params']['token']
    paid = requests.post(f'{box.base_url}/midas/pay/{token}', timeout=10).json()
    assert (paid['paygate_status'], paid['paygate_answer']) == (200, '{"ret":0,"msg":"OK"}')
    assert table.order(created['order_id'])['status'] == 'PAID'

    requests.post(f'{box.base_url}/midas/recharge', json={'openid': PAYER['openid'], 'coins': 100}, timeout=5)
    headers = {**PUBLISHABLE, 'X-Midas-Openid': PAYER['openid'], 'X-Midas-Openkey': PAYER['openkey'],
               'X-Midas-Pf': PAYER['pf'], 'X-Midas-Pfkey': PAYER['pfkey'], 'X-Midas-Login-Type': 'qq'}
    balance = requests.get(f'{url}/midas/balance?save_amt=0', headers=headers, timeout=10).json()
    assert (balance['balance'], balance['settled']) == (100, True)
    payment = requests.post(f'{url}/midas/payments', headers=PUBLISHABLE, timeout=10,
                            json={'product_id': 'gold_60', 'payer': PAYER})
    assert payment.status_code == 201 and payment.json()['midas']['balance'] == 40
    short = requests.post(f'{url}/midas/payments', headers=PUBLISHABLE, timeout=10,
                          json={'product_id': 'gold_60', 'payer': PAYER})
    assert short.status_code == 402
    refund = requests.post(f'{url}/orders/{payment.json()["order_id"]}/refunds', headers=SECRET, timeout=10,
                           json={'amount': 600, 'payer': {'openkey': PAYER['openkey'], 'pfkey': PAYER['pfkey']}})
    assert refund.status_code == 200
    assert requests.get(f'{url}/midas/balance', headers=headers, timeout=10).json()['balance'] == 100
    present = requests.post(f'{url}/midas/presents', headers=SECRET, timeout=10,
                            json={'payer': PAYER, 'coins': 7})
    assert present.json()['balance'] == 107
    expired = requests.post(f'{url}/midas/payments', headers=PUBLISHABLE, timeout=10,
                            json={'product_id': 'gold_60', 'payer': {**PAYER, 'openkey': 'expired'}})
    assert expired.status_code == 401
