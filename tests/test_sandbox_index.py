"""What `make run` tells a newcomer to try, tried: its three URLs, its first curl, the sandbox's front page,
and the pay action every provider shares (POST /<provider>/pay/<order_id>)."""
import json
import re
import shlex
import subprocess

import pytest
import requests

from localdev import PROJECT_ROOT
from localdev.server import stage_environment
from tests.local_run import RunCommand

LOCAL = stage_environment('local')
PK = {'X-Api-Key': LOCAL['PAYGATE_PUBLISHABLE_KEYS']}
PAYERS = {'codepay': {'channel': 'wechat'}, 'alipay': {}, 'wechatpay': {'openid': 'oSandboxBuyer'},
          'midas': {'openid': 'OPENID0002', 'openkey': 'PAYTOKEN0002', 'pf': 'desktop_m_qq-2001-android-2011-ysdk',
                    'pfkey': 'PFKEY0002', 'login_type': 'qq'}}


@pytest.fixture(scope='module')
def run(dynamodb_local, tmp_path_factory):
    started = RunCommand(tmp_path_factory.mktemp('unused'),
                         extra_env={'PAYGATE_DYNAMODB_ENDPOINT': dynamodb_local.endpoint})
    yield started
    started.stop()


def sandbox(run, path=''):
    return f'http://127.0.0.1:{run.sandbox_port}{path}'


def new_order(run, provider, product_id='gold_60'):
    created = requests.post(f'{run.url}/orders', headers=PK, timeout=30,
                            json={'provider': provider, 'product_id': product_id, 'payer': PAYERS[provider]})
    assert created.status_code == 201, created.text
    return created.json()


def new_scene_order(run, provider, scene):
    """An order of `scene`: a scene outside the mini program takes no payer."""
    created = requests.post(f'{run.url}/orders', headers=PK, timeout=30,
                            json={'provider': provider, 'product_id': 'gold_60', 'scene': scene})
    assert created.status_code == 201, created.text
    return created.json()


def shown(run, order_id):
    return requests.get(f'{run.url}/orders/{order_id}', headers=PK, timeout=10).json()


def test_run_prints_its_three_urls_and_a_first_curl_that_works(run, dynamodb_local):
    output = ''.join(run.output)
    assert f'DynamoDB: {dynamodb_local.endpoint}\n' in output
    assert f'Sandbox:  {sandbox(run)} ' in output and f'Paygate:  {run.url} (stage local)' in output
    [order_curl] = re.findall(r'^Try an order: (curl .*)$', output, re.MULTILINE)
    assert "-H 'X-Api-Key: pk_test_sandbox_local'" in order_curl
    order = subprocess.run(shlex.split(order_curl), capture_output=True, text=True, timeout=30, check=True)
    order_id = json.loads(order.stdout)['order_id']
    [pay_curl] = re.findall(r'^Then pay it: +(curl .*)$', output, re.MULTILINE)
    pay = pay_curl.replace('<its order_id>', order_id)
    paid = subprocess.run([*shlex.split(pay), '--fail-with-body'], capture_output=True, text=True, timeout=30)
    assert paid.returncode == 0, paid.stdout + paid.stderr
    assert shown(run, order_id)['status'] == 'PAID'
    [events_command] = re.findall(r'^See its event: (\.venv/bin/paygate .*)$', output, re.MULTILINE)
    assert f'--url {run.url} ' in events_command
    listed = subprocess.run(shlex.split(events_command.replace('<its order_id>', order_id)), cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf'^evt_\w+ +order\.paid +{order_id} +600 fen ', listed.stdout, re.MULTILINE), listed.stdout


@pytest.mark.parametrize('provider', ['codepay', 'alipay', 'wechatpay', 'midas'])
def test_one_pay_action_pays_an_order_at_every_provider(run, provider):
    order = new_order(run, provider)
    paid = requests.post(sandbox(run, f'/{provider}/pay/{order["order_id"]}'), timeout=30)
    assert paid.status_code == 200, paid.text
    answer = paid.json()
    assert answer['order']['status'] == 'PAID' and answer['order'] == shown(run, order['order_id'])
    assert answer['cashier_answer']['paygate_status'] in (200, 204)


@pytest.mark.parametrize('provider, scene', [('alipay', 'wap'), ('alipay', 'qr'), ('wechatpay', 'app'),
                                             ('wechatpay', 'native')])
def test_the_pay_action_pays_an_order_of_every_scene(run, provider, scene):
    order = new_scene_order(run, provider, scene)
    paid = requests.post(sandbox(run, f'/{provider}/pay/{order["order_id"]}'), timeout=30)
    assert paid.status_code == 200, paid.text
    assert shown(run, order['order_id'])['status'] == 'PAID'


def test_a_lost_notification_leaves_the_order_open(run):
    order = new_order(run, 'wechatpay')
    paid = requests.post(sandbox(run, f'/wechatpay/pay/{order["order_id"]}?notify=drop'), timeout=30)
    assert paid.status_code == 200 and 'dropped' in paid.json()['cashier_answer']
    assert shown(run, order['order_id'])['status'] == 'CREATED'


def test_the_pay_action_refuses_what_it_cannot_pay(run):
    order = new_order(run, 'codepay')
    wrong = requests.post(sandbox(run, f'/alipay/pay/{order["order_id"]}'), timeout=30)
    assert wrong.status_code == 400 and f'POST /codepay/pay/{order["order_id"]}' in wrong.json()['error']
    other_nonce = 'B' if order['order_id'][4] == 'A' else 'A'
    unknown = 'ord_' + other_nonce + order['order_id'][5:]
    assert requests.post(sandbox(run, f'/codepay/pay/{unknown}'), timeout=30).status_code == 404
    assert shown(run, order['order_id'])['status'] == 'CREATED'


def test_the_providers_own_pay_urls_keep_working(run):
    order = new_order(run, 'codepay')
    paid = requests.post(order['client_params']['qrcode'], timeout=30)
    assert paid.status_code == 200 and paid.json()['paygate_answer'] == 'success'
    assert shown(run, order['order_id'])['status'] == 'PAID'


def test_the_sandbox_front_page_lists_what_it_plays_with_a_pay_form_per_provider(run):
    page = requests.get(sandbox(run, '/'), timeout=10)
    assert page.status_code == 200 and page.headers['Content-Type'].startswith('text/html')
    for provider in ('codepay', 'alipay', 'wechatpay', 'midas'):
        assert f'<form method="post" data-provider="{provider}">' in page.text
    assert 'href="/cloudmarket"' in page.text and 'href="/merchant/webhooks"' in page.text
    assert f'href="{run.url}/"' in page.text
    assert requests.get(sandbox(run, '/no-such-page'), timeout=10).status_code == 404
