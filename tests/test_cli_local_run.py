"""`paygate` against `make run`'s program, a real process: every provider's notifications checked
through Paygate's own routes, the API commands, and `listen` receiving the local worker's deliveries."""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from localdev import PROJECT_ROOT
from localdev.ports import free_port
from localdev.server import stage_environment
from paygate_cli.main import cli
from tests.local_run import RunCommand

LOCAL = stage_environment('local')
SK = {'Authorization': f'Bearer {LOCAL["PAYGATE_SECRET_KEYS"]}'}
WEBHOOK_SECRET = 'whsec_sandbox_local'


@pytest.fixture(scope='module')
def run(dynamodb_local, tmp_path_factory):
    """The local run, delivering webhooks to a `paygate listen` port and to the sandbox's merchant."""
    port, sandbox_port, listen_port = free_port(), free_port(), free_port()
    endpoints = [{'id': 'cli-listen', 'url': f'http://127.0.0.1:{listen_port}/', 'secrets': [WEBHOOK_SECRET]},
                 {'id': 'sandbox-merchant', 'url': f'http://127.0.0.1:{sandbox_port}/merchant/webhooks',
                  'secrets': [WEBHOOK_SECRET]}]
    started = RunCommand(tmp_path_factory.mktemp('unused'), ports=(port, sandbox_port), extra_env={
        'PAYGATE_DYNAMODB_ENDPOINT': dynamodb_local.endpoint, 'PAYGATE_WEBHOOKS': json.dumps(endpoints)})
    started.keep_reading()
    started.listen_port = listen_port
    yield started
    started.stop()


def paygate(run, *args, expect=0):
    result = CliRunner().invoke(cli, ['--url', run.url, *args])
    assert result.exit_code == expect, result.output
    return result


def paygate_json(run, *args, expect=0):
    return json.loads(paygate(run, '--json', *args, expect=expect).stdout)


def new_order(run, provider, product='gold_60'):
    return paygate_json(run, 'orders', 'create', provider, product)


def shown(run, order_id):
    """The order as Paygate's own route shows it."""
    return requests.get(f'{run.url}/orders/{order_id}', headers=SK, timeout=10).json()


def order_events(run, order_id):
    found = requests.get(f'{run.url}/events', params={'order_id': order_id}, headers=SK, timeout=10).json()
    return [event['type'] for event in found['data']]


PAID = [('codepay', [], 'pay_no'), ('alipay', [], 'trade_no'), ('wechatpay', ['--version', 'v2'], 'transaction_id'),
        ('wechatpay', ['--version', 'v3'], None), ('midas', [], 'billno')]


@pytest.mark.parametrize('provider, options, trade_field', PAID)
def test_trigger_paid_pays_the_order_once(run, provider, options, trade_field):
    order = new_order(run, provider)
    sent = paygate_json(run, 'trigger', provider, 'paid', order['order_id'], '--duplicate', '2', *options)
    assert [a['accepted'] for a in sent['answers']] == [True, True, True]
    after = shown(run, order['order_id'])
    assert after['status'] == 'PAID'
    trade_no = sent['fields'][trade_field] if trade_field else sent['encrypted']['transaction_id']
    assert after['provider_trade_no'] == trade_no
    assert order_events(run, order['order_id']) == ['order.paid']


TAMPERED = [('codepay', 'money', []), ('alipay', 'total_amount', []), ('wechatpay', 'total_fee', ['--version', 'v2']),
            ('wechatpay', 'summary', ['--version', 'v3']), ('midas', 'amt', []), ('alipay', 'sign', [])]


@pytest.mark.parametrize('provider, field, options', TAMPERED)
def test_a_field_tampered_after_signing_is_refused_and_changes_nothing(run, provider, field, options):
    order = new_order(run, provider)
    refused = paygate_json(run, 'trigger', provider, 'paid', order['order_id'], '--tamper', field, *options,
                           expect=1)
    assert [a['accepted'] for a in refused['answers']] == [False]
    assert shown(run, order['order_id'])['status'] == 'CREATED'
    paygate(run, 'trigger', provider, 'paid', order['order_id'], *options)
    assert shown(run, order['order_id'])['status'] == 'PAID'


def test_an_amount_other_than_the_orders_is_refused(run):
    order = new_order(run, 'alipay')
    paygate(run, 'trigger', 'alipay', 'paid', order['order_id'], '--amount', '599', expect=1)
    assert shown(run, order['order_id'])['status'] == 'CREATED'


@pytest.mark.parametrize('provider, options', [('alipay', []), ('wechatpay', ['--version', 'v2']),
                                               ('wechatpay', ['--version', 'v3'])])
def test_trigger_refunded_records_partial_then_full_refunds(run, provider, options):
    order = new_order(run, provider)
    paygate(run, 'trigger', provider, 'paid', order['order_id'], *options)
    paygate(run, 'trigger', provider, 'refunded', order['order_id'], '--amount', '200', '--duplicate', '1',
            *options)
    assert (shown(run, order['order_id'])['status'], shown(run, order['order_id'])['refunded_amount']) == (
        'PAID', 200)
    paygate(run, 'trigger', provider, 'refunded', order['order_id'], *options)
    after = shown(run, order['order_id'])
    assert (after['status'], after['refunded_amount']) == ('REFUNDED', 600)
    assert sorted(order_events(run, order['order_id'])) == ['order.paid', 'order.refunded', 'order.refunded']


def test_trigger_completes_a_refund_asked_for_through_the_api(run):
    """Paid at the sandbox's WeChat Pay, refund asked for: the CLI plays WeChat's refund notification."""
    order = new_order(run, 'wechatpay')
    requests.post(f'http://127.0.0.1:{run.sandbox_port}/wechatpay/cashier/{order["out_trade_no"]}', timeout=10)
    pending = paygate_json(run, 'orders', 'refund', order['order_id'], '--amount', '300', '--refund-no', 'cli-e2e-1')
    assert pending['status'] == 'PENDING'
    paygate(run, 'trigger', 'wechatpay', 'refunded', order['order_id'], '--amount', '300', '--refund-no', 'cli-e2e-1')
    assert shown(run, order['order_id'])['refunded_amount'] == 300


def test_trigger_closed_closes_an_alipay_order(run):
    order = new_order(run, 'alipay')
    paygate(run, 'trigger', 'alipay', 'closed', order['order_id'])
    assert shown(run, order['order_id'])['status'] == 'CLOSED'


@pytest.mark.parametrize('provider, state', [('codepay', 'refunded'), ('codepay', 'closed'),
                                             ('wechatpay', 'closed'), ('midas', 'refunded')])
def test_a_notification_the_provider_does_not_send_is_a_one_line_usage_error(run, provider, state):
    result = paygate(run, 'trigger', provider, state, 'ord_whatever', expect=2)
    assert result.stdout == ''
    assert result.stderr.count('\n') == 1 and f"{provider} sends no '{state}' notification" in result.stderr


def test_trigger_reads_a_keys_file_for_a_deployed_stage(run, tmp_path):
    """The same signing with the keys given in a file, as for a deployed stage."""
    keys = {name: LOCAL[name] for name in ('PAYGATE_ALIPAY_APP_ID', 'PAYGATE_ALIPAY_SELLER_ID')}
    keys['PAYGATE_SANDBOX_ALIPAY_KEY'] = 'file:alipay.pem'
    (tmp_path / 'alipay.pem').write_text((PROJECT_ROOT / '.local/alipay-sandbox/alipay_private_key.pem').read_text())
    (tmp_path / 'keys.json').write_text(json.dumps(keys))
    order = new_order(run, 'alipay')
    result = CliRunner().invoke(cli, ['--url', run.url, '--secret-key', LOCAL['PAYGATE_SECRET_KEYS'],
                                      '--keys', str(tmp_path / 'keys.json'), 'trigger', 'alipay', 'paid',
                                      order['order_id']])
    assert result.exit_code == 0, result.output
    assert shown(run, order['order_id'])['status'] == 'PAID'


def test_cloudmarket_actions_drive_an_instance(run):
    verified = paygate_json(run, 'trigger', 'cloudmarket', 'verifyInterface')
    assert json.loads(verified['answers'][0]['body']) == {'echoback': verified['fields']['echoback']}
    created = paygate_json(run, 'trigger', 'cloudmarket', 'createInstance', '--trial')
    instance = created['instance']
    sign_id = instance['sign_id']
    assert (instance['trial'], instance['status']) == (True, 'ACTIVE')
    renewed = paygate_json(run, 'trigger', 'cloudmarket', 'renewInstance', sign_id)['instance']
    assert renewed['expires_at'] > instance['expires_at']
    assert paygate_json(run, 'trigger', 'cloudmarket', 'modifyInstance', sign_id)['instance']['trial'] is False
    paygate(run, 'trigger', 'cloudmarket', 'expireInstance', sign_id, '--tamper', 'timestamp', expect=1)
    paygate(run, 'trigger', 'cloudmarket', 'expireInstance', sign_id)
    paygate(run, 'trigger', 'cloudmarket', 'destroyInstance', sign_id)
    from_paygate = requests.get(f'{run.url}/instances/{sign_id}', headers=SK, timeout=10).json()
    assert from_paygate['status'] == 'DESTROYED'
    assert 'DESTROYED' in paygate(run, 'instances', 'get', sign_id).stdout


def test_orders_commands_create_show_close_and_refund(run):
    table = paygate(run, 'orders', 'create', 'alipay', 'gold_300').stdout
    order_id = next(line.split()[1] for line in table.splitlines() if line.startswith('order_id'))
    assert 'client_params.order_string' in table
    assert 'CREATED' in paygate(run, 'orders', 'get', order_id).stdout
    assert paygate_json(run, 'orders', 'close', order_id)['status'] == 'CLOSED'
    assert shown(run, order_id)['status'] == 'CLOSED'
    paid = new_order(run, 'alipay')
    requests.post(f'http://127.0.0.1:{run.sandbox_port}/alipay/pay', data=paid['client_params']['order_string'],
                  timeout=10)
    refund = paygate_json(run, 'orders', 'refund', paid['order_id'], '--amount', '600')
    assert refund['status'] == 'SUCCEEDED' and shown(run, paid['order_id'])['status'] == 'REFUNDED'
    missing = paygate(run, 'orders', 'get', 'ord_missing', expect=1)
    assert missing.stderr == 'paygate: GET /orders/ord_missing: 404 not_found: no order ord_missing\n'


def test_events_commands_list_show_and_resend(run):
    order = new_order(run, 'codepay')
    paygate(run, 'trigger', 'codepay', 'paid', order['order_id'])
    listing = paygate(run, 'events', 'list', '--order', order['order_id']).stdout.splitlines()
    assert listing[0].split() == ['id', 'type', 'order', '/', 'instance', 'amount', 'created', 'delivery']
    event_id, event_type, subject, amount = listing[1].split()[:4]
    assert (event_type, subject, amount) == ('order.paid', order['order_id'], '600')
    event = paygate_json(run, 'events', 'get', event_id)
    assert {d['endpoint_id'] for d in event['deliveries']} == {'cli-listen', 'sandbox-merchant'}
    assert 'endpoint' in paygate(run, 'events', 'get', event_id).stdout
    resent = paygate_json(run, 'events', 'resend', event_id)
    assert resent['id'] == event_id and resent['delivery_status'] == 'pending'


def test_doctor_finds_the_local_stage_healthy(run):
    result = paygate(run, 'doctor')
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ['✓'] * 6


class Process:
    """`paygate` as a real process, its output read line by line as it comes."""

    def __init__(self, *args):
        command = Path(sys.executable).with_name('paygate')
        self.process = subprocess.Popen([str(command), *args], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=_cli_environment())
        self.lines = {'stdout': queue.Queue(), 'stderr': queue.Queue()}
        for name, lines in self.lines.items():
            threading.Thread(target=_pass_lines, args=(getattr(self.process, name), lines), daemon=True).start()

    def line_with(self, stream, text, timeout=30):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines[stream].get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            if text in line:
                return line
            seen.append(line)
        self.process.kill()
        raise AssertionError(f'no {text!r} on {stream}, only {seen}')

    def interrupt(self):
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=15)


def _pass_lines(pipe, lines):
    for line in pipe:
        lines.put(line)
    lines.put(None)


def _cli_environment():
    return {k: v for k, v in os.environ.items() if not k.startswith(('PAYGATE_', 'AWS_'))}


def test_listen_receives_the_workers_delivery_verifies_and_forwards_it(run):
    merchant = f'http://127.0.0.1:{run.sandbox_port}/merchant/webhooks'
    listener = Process('--url', run.url, 'listen', '--port', str(run.listen_port), '--forward-to', merchant)
    listener.line_with('stderr', 'Listening on')
    order = new_order(run, 'codepay')
    paygate(run, 'trigger', 'codepay', 'paid', order['order_id'])
    line = listener.line_with('stdout', order['order_id'])
    assert '✓ signature  order.paid' in line and '600 fen' in line
    event_id = line.split()[-1]
    forwarded = listener.line_with('stdout', '->')
    assert forwarded.split(maxsplit=3)[1:3] == [f'{merchant}:', '200']
    assert json.loads(forwarded.split(maxsplit=3)[3]) == {'received': event_id}
    assert listener.interrupt() == 0
    delivered = requests.get(f'{run.url}/events/{event_id}', headers=SK, timeout=10).json()
    assert {d['endpoint_id']: d['state'] for d in delivered['deliveries']}['cli-listen'] == 'delivered'


def test_listen_poll_follows_new_events(run):
    order = new_order(run, 'alipay')
    follower = Process('--url', run.url, 'listen', '--poll', '--interval', '0.3', '--order', order['order_id'])
    follower.line_with('stderr', 'Following')
    paygate(run, 'trigger', 'alipay', 'paid', order['order_id'])
    line = follower.line_with('stdout', 'order.paid')
    assert order['order_id'] in line and '600 fen' in line
    assert follower.interrupt() == 0


def test_python_m_runs_the_same_cli_against_the_run(run):
    order = new_order(run, 'midas')
    done = subprocess.run([sys.executable, '-m', 'paygate_cli', '--url', run.url, '--json', 'trigger', 'midas',
                           'paid', order['order_id']], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env=_cli_environment(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)['order']['status'] == 'PAID' == shown(run, order['order_id'])['status']


@pytest.mark.parametrize('scene, options', [('app', ['--version', 'v3']), ('app', ['--version', 'v2']),
                                            ('native', []), ('h5', [])])
def test_trigger_pays_wechatpay_orders_of_every_scene(run, scene, options):
    order = paygate_json(run, 'orders', 'create', 'wechatpay', 'gold_60', '--scene', scene,
                         '--client-ip', '203.0.113.7')
    assert order['scene'] == scene
    sent = paygate_json(run, 'trigger', 'wechatpay', 'paid', order['order_id'], *options)
    fields = sent['fields'] if options[-1:] == ['v2'] else sent['encrypted']
    assert fields['appid'] == (LOCAL['PAYGATE_WECHATPAY_APP_APPID'] if scene == 'app' else LOCAL['PAYGATE_WECHATPAY_APPID'])
    assert [a['accepted'] for a in sent['answers']] == [True]
    assert shown(run, order['order_id'])['status'] == 'PAID'


@pytest.mark.parametrize('provider', ['wechatpay', 'alipay'])
def test_reconcile_catches_a_payment_whose_notification_the_sandbox_dropped(run, provider):
    order = new_order(run, provider)
    dropped = requests.post(f'http://127.0.0.1:{run.sandbox_port}/{provider}/pay/{order["order_id"]}?notify=drop',
                            timeout=30)
    assert dropped.status_code == 200 and shown(run, order['order_id'])['status'] == 'CREATED'
    report = paygate_json(run, 'reconcile', provider)
    [line] = [line for line in report['lines']['data'] if line['out_trade_no'] == order['out_trade_no']]
    assert (line['outcome'], line['resolution']) == ('missing_here', 'paid here now: order.paid sent')
    assert shown(run, order['order_id'])['status'] == 'PAID'
    assert order_events(run, order['order_id']) == ['order.paid']
    table = paygate(run, 'reconcile', provider, '--show', '--outcome', 'missing_here').stdout
    assert order['out_trade_no'] in table and 'missing_here' in table
