"""`paygate` commands that need no running Paygate: keys, doctor, listen (also --poll, Paygate mocked at
the transport), --explain, colour, a --url with a path, errors, --tamper."""
import base64
import hashlib
import json
import signal
import stat
import threading
import time
from urllib.parse import parse_qsl

import click
import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from responses import matchers

from chalicelib.webhooks import signature
from localdev.ports import free_port, wait_listening
from localdev.sandbox import midas as sandbox_midas
from paygate_cli.fields import altered, tampered
from paygate_cli.errors import UsageProblem
from paygate_cli.main import cli


def paygate(*args, expect=0, color=False):
    result = CliRunner().invoke(cli, list(args), color=color)
    assert result.exit_code == expect, result.output
    return result


def pasted(text):
    """The `"NAME": "value",` lines keys new prints, as a dict."""
    lines = [line.rstrip(',') for line in text.splitlines() if line.startswith('"')]
    return json.loads('{' + ','.join(lines) + '}')


def der(text):
    return base64.b64decode(text)


@pytest.mark.parametrize('provider, secrets', [
    ('codepay', ['PAYGATE_CODEPAY_KEY']), ('midas', ['PAYGATE_MIDAS_APPKEY']),
    ('cloudmarket', ['PAYGATE_CLOUDMARKET_TOKEN', 'PAYGATE_CLOUDMARKET_LOGIN_SECRET'])])
def test_keys_new_makes_random_keys_for_the_md5_and_hmac_providers(provider, secrets):
    first, second = pasted(paygate('keys', 'new', provider).stdout), pasted(paygate('keys', 'new', provider).stdout)
    assert sorted(first) == sorted(secrets)
    for name in secrets:
        assert len(first[name]) >= 32 and first[name].isalnum() and first[name] != second[name]


def test_keys_new_alipay_pairs_the_cli_key_with_the_setting_paygate_verifies_with(tmp_path):
    keys_file = tmp_path / 'keys.json'
    shown = paygate('--keys', str(keys_file), 'keys', 'new', 'alipay').stdout
    written = json.loads(keys_file.read_text())
    assert pasted(shown) == written
    alipay_private = serialization.load_der_private_key(der(written['PAYGATE_SANDBOX_ALIPAY_KEY']), None)
    assert alipay_private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
        der(written['PAYGATE_ALIPAY_PUBLIC_KEY'])
    assert serialization.load_der_private_key(der(written['PAYGATE_ALIPAY_APP_PRIVATE_KEY']), None).key_size == 2048
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600


def test_keys_new_wechatpay_merges_into_an_existing_keys_file(tmp_path):
    keys_file = tmp_path / 'keys.json'
    keys_file.write_text(json.dumps({'PAYGATE_WECHATPAY_APPID': 'wx0sandbox0000001'}))
    made = json.loads(paygate('--keys', str(keys_file), '--json', 'keys', 'new', 'wechatpay').stdout)
    written = json.loads(keys_file.read_text())
    assert written == {'PAYGATE_WECHATPAY_APPID': 'wx0sandbox0000001', **made['settings'], **made['cli']}
    assert len(written['PAYGATE_WECHATPAY_APIV3_KEY'].encode()) == 32 == len(written['PAYGATE_WECHATPAY_KEY'])
    assert written['PAYGATE_WECHATPAY_PUBLIC_KEY_ID'].startswith('PUB_KEY_ID_')
    wechat_private = serialization.load_der_private_key(der(written['PAYGATE_SANDBOX_WECHATPAY_KEY']), None)
    assert wechat_private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
        der(written['PAYGATE_WECHATPAY_PUBLIC_KEY'])


def write_project(root, stage, values):
    (root / '.chalice').mkdir()
    (root / '.chalice' / 'config.json').write_text(json.dumps({'stages': {stage: {'environment_variables': values}}}))


HEALTHY = {
    'PAYGATE_STAGE': 'dev', 'PAYGATE_TABLE': 'paygate-dev', 'PAYGATE_PUBLIC_URL': 'https://pay.example.com',
    'PAYGATE_CATALOG': '[{"id": "gold_60", "price": 600}]', 'PAYGATE_PUBLISHABLE_KEYS': 'pk_live_1',
    'PAYGATE_SECRET_KEYS': 'ssm:/paygate/dev/secret-keys', 'PAYGATE_PROVIDERS': 'alipay,wechatpay',
    'PAYGATE_ALIPAY_APP_ID': '2021000000000001', 'PAYGATE_ALIPAY_APP_PRIVATE_KEY': 'file:keys/app.pem',
    'PAYGATE_ALIPAY_PUBLIC_KEY': 'ssm:/paygate/dev/alipay/public', 'PAYGATE_WECHATPAY_APPID': 'wx0000000000000001',
    'PAYGATE_WECHATPAY_MCH_ID': '1900000001', 'PAYGATE_WECHATPAY_APIV3_KEY': 'A3v3Key0123456789abcdefghijklmno',
    'PAYGATE_WECHATPAY_PRIVATE_KEY': 'file:keys/app.pem', 'PAYGATE_WECHATPAY_CERT_SERIAL': '5A0DB0C0001'}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A Paygate checkout of our own making, with an RSA key file."""
    from tests.alipay_sdk import KeyPair
    (tmp_path / 'keys').mkdir()
    (tmp_path / 'keys' / 'app.pem').write_text(KeyPair().private_pem)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_doctor_passes_a_sound_stage_and_lists_what_it_cannot_read(project):
    write_project(project, 'dev', HEALTHY)
    report = json.loads(paygate('--json', 'doctor', '--stage', 'dev').stdout)
    assert report['ok'] and all(not section['problems'] for section in report['sections'].values())
    assert report['sections']['alipay']['notes'] == [
        'PAYGATE_ALIPAY_PUBLIC_KEY is a reference (ssm:), not read here']
    assert report['sections']['codepay']['enabled'] is False


def test_doctor_says_per_provider_what_is_missing_or_malformed(project):
    write_project(project, 'dev', {
        **HEALTHY, 'PAYGATE_PUBLIC_URL': 'http://pay.example.com', 'PAYGATE_ALIPAY_APP_ID': '2021 0000 0001',
        'PAYGATE_ALIPAY_APP_PRIVATE_KEY': '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----',
        'PAYGATE_WECHATPAY_APIV3_KEY': 'too-short', 'PAYGATE_WECHATPAY_PRIVATE_KEY': 'file:keys/missing.pem',
        'PAYGATE_WECHATPAY_MCH_ID': ''})
    result = paygate('doctor', '--stage', 'dev', expect=1)
    assert result.stdout.splitlines()[1:] == [
        '✗ core',
        '    PAYGATE_PUBLIC_URL is not an https:// URL',
        '    (PAYGATE_SECRET_KEYS is a reference (ssm:), not read here)',
        '- codepay: not enabled',
        '✗ alipay',
        '    PAYGATE_ALIPAY_APP_ID has spaces',
        '    PAYGATE_ALIPAY_APP_PRIVATE_KEY is not an RSA private key (PEM or base64)',
        '    (PAYGATE_ALIPAY_PUBLIC_KEY is a reference (ssm:), not read here)',
        '✗ wechatpay',
        '    PAYGATE_WECHATPAY_MCH_ID is missing',
        '    PAYGATE_WECHATPAY_APIV3_KEY is not 32 bytes (the APIv3 key)',
        '    PAYGATE_WECHATPAY_PRIVATE_KEY: keys/missing.pem does not exist',
        '- midas: not enabled',
        '- cloudmarket: not enabled']


def test_doctor_allows_http_for_the_local_stage(project):
    write_project(project, 'local', {**HEALTHY, 'PAYGATE_PUBLIC_URL': 'http://127.0.0.1:8000'})
    assert paygate('doctor').stdout.splitlines()[1] == '✓ core'


def test_listen_verifies_each_delivery_and_answers_like_an_endpoint(signal_handlers_restored):
    port = free_port()
    body = json.dumps({'id': 'evt_0123456789abcdef01234567', 'type': 'order.paid', 'created_at': '2026-11-22T08:00:00Z',
                       'data': {'order': {'order_id': 'ord_listen', 'amount': 600}}}).encode()
    answers = []

    def deliver():
        wait_listening(port, 30)
        now = int(time.time())
        for secrets in (['whsec_listen'], ['whsec_other']):
            answers.append(requests.post(f'http://127.0.0.1:{port}/', data=body, timeout=10, headers={
                'Content-Type': 'application/json', 'Paygate-Signature': signature.header(body, secrets, now)}))

    sender = threading.Thread(target=deliver)
    sender.start()
    result = paygate('listen', '--port', str(port), '--secret', 'whsec_listen', '--count', '2')
    sender.join()
    assert [answer.status_code for answer in answers] == [200, 400]
    good, bad = result.stdout.splitlines()
    assert good.split()[1:] == ['✓', 'signature', 'order.paid', 'ord_listen', '600', 'fen',
                                'evt_0123456789abcdef01234567']
    assert bad.split()[1:4] == ['✗', 'bad', 'signature']


def test_errors_are_one_line_with_their_exit_code():
    closed = free_port()
    unreachable = paygate('--url', f'http://127.0.0.1:{closed}', 'orders', 'get', 'ord_1', expect=1)
    assert unreachable.stderr == (f'paygate: cannot reach Paygate at http://127.0.0.1:{closed} '
                                  '(is `make run` running? --url sets another)\n')
    missing = paygate('trigger', 'codepay', expect=2)
    assert missing.stderr.count('\n') == 1 and "Missing argument 'STATE'" in missing.stderr
    unknown = paygate('trigger', 'paypal', 'paid', 'ord_1', expect=2)
    assert unknown.stderr.count('\n') == 1 and "'paypal' is not one of" in unknown.stderr


def test_tamper_changes_one_field_a_little_or_to_the_value_given():
    fields = {'money': '6.00', 'amt': '600', 'total': 600, 'isTrial': False, 'sign': 'abcA', 'empty': ''}
    assert [altered(v) for v in fields.values()] == ['6.01', '601', 601, True, 'abcB', 'X']
    assert tampered(fields, 'money=9.99') == {**fields, 'money': '9.99'}
    with pytest.raises(UsageProblem, match='no such field'):
        tampered(fields, 'price')


def test_keys_from_p12_prints_the_pem_settings_paygate_reads(tmp_path, wechatpay_keys):
    """WeChat Pay issues apiclient_cert.p12 (password: the merchant id); Paygate reads PEM."""
    from tests.wechatpay_fixtures import MCH_ID, p12_settings, private_pem
    p12 = tmp_path / 'apiclient_cert.p12'
    p12.write_bytes(base64.b64decode(p12_settings(wechatpay_keys)['PAYGATE_WECHATPAY_CLIENT_P12']))
    settings = pasted(paygate('keys', 'from-p12', str(p12), '--mch-id', MCH_ID).stdout)
    assert settings['PAYGATE_WECHATPAY_CLIENT_CERT'].strip() == wechatpay_keys.platform_cert.strip()
    assert settings['PAYGATE_WECHATPAY_CLIENT_KEY'] == private_pem(wechatpay_keys.platform)
    wrong = paygate('keys', 'from-p12', str(p12), '--password', 'not-it', expect=1)
    assert wrong.output == 'paygate: the .p12 cannot be opened (wrong password?)\n'


DEPLOYED = 'https://pay.example.com/api'
ORDER = {'order_id': 'ord_cli', 'out_trade_no': 'pg20261202045925e286cf527f44', 'provider': 'codepay',
         'status': 'CREATED', 'amount': 600, 'currency': 'CNY', 'product_id': 'gold_60', 'quantity': 1,
         'created_at': '2026-12-02T04:59:25Z', 'client_params': {'money': 600}, 'metadata': {},
         'paid_at': None, 'refunded_amount': 0}


def keys_file(tmp_path, **settings):
    path = tmp_path / 'keys.json'
    path.write_text(json.dumps(settings))
    return str(path)


def deployed(tmp_path, *args, **kwargs):
    """`paygate` against a deployed stage's URL (with its /api), secret key and keys file given."""
    return paygate('--url', DEPLOYED, '--secret-key', 'sk_cli', '--api-key', 'pk_cli', '--keys',
                   keys_file(tmp_path, PAYGATE_CODEPAY_KEY='codepay-key-0123',
                             PAYGATE_MIDAS_APPID='1450000000', PAYGATE_MIDAS_APPKEY='midas-app_key-0123'),
                   *args, **kwargs)


def sent_form(call):
    return dict(parse_qsl(call.request.body.decode('utf-8'), keep_blank_values=True))


def test_explain_prints_what_the_signature_covers_naming_the_key_not_showing_it(http_mock, tmp_path):
    http_mock.get(f'{DEPLOYED}/orders/ord_cli', json=ORDER)
    http_mock.post(f'{DEPLOYED}/notify/codepay', body='success')
    http_mock.get(f'{DEPLOYED}/orders/ord_cli', json={**ORDER, 'status': 'PAID'})
    lines = deployed(tmp_path, 'trigger', 'codepay', 'paid', 'ord_cli', '--explain').stdout.splitlines()
    form = sent_form(http_mock.calls[1])
    unsigned = '&'.join(f'{k}={form[k]}' for k in sorted(form) if k != 'sign' and form[k])
    assert form['sign'] == hashlib.md5(f'{unsigned}codepay-key-0123'.encode()).hexdigest()
    assert f'  signed over: {unsigned}<PAYGATE_CODEPAY_KEY>' in lines
    assert lines[-2:] == ['✓ Paygate answered 200 success  (accepted)', 'order ord_cli is now PAID']
    assert 'codepay-key-0123' not in '\n'.join(lines)


def test_without_explain_the_signed_text_is_not_printed(http_mock, tmp_path):
    http_mock.get(f'{DEPLOYED}/orders/ord_cli', json=ORDER)
    http_mock.post(f'{DEPLOYED}/notify/codepay', body='success')
    http_mock.get(f'{DEPLOYED}/orders/ord_cli', json={**ORDER, 'status': 'PAID'})
    assert 'signed over' not in deployed(tmp_path, 'trigger', 'codepay', 'paid', 'ord_cli').stdout


def test_a_url_with_a_path_takes_every_call_and_is_what_midas_signs(http_mock, tmp_path):
    """A deployed stage's URL ends in /api: the API calls and the provider's request go under it, and
    Midas signs the delivery URL's path, /api/notify/midas (checked with the sandbox's own signer)."""
    order = {**ORDER, 'provider': 'midas', 'client_params': {'token': 'TOKEN-1', 'payitem': 'g001*60*1'}}
    http_mock.get(f'{DEPLOYED}/orders/ord_cli', json=order,
                  match=[matchers.header_matcher({'Authorization': 'Bearer sk_cli'})])
    http_mock.get(f'{DEPLOYED}/notify/midas', json={'ret': 0, 'msg': 'OK'})
    http_mock.get(f'{DEPLOYED}/orders/ord_cli', json={**order, 'status': 'PAID'})
    lines = deployed(tmp_path, 'trigger', 'midas', 'paid', 'ord_cli', '--explain').stdout.splitlines()
    notified = http_mock.calls[1].request
    assert notified.url.startswith('https://pay.example.com/api/notify/midas?')
    query = dict(parse_qsl(notified.url.partition('?')[2], keep_blank_values=True))
    assert query['sig'] == sandbox_midas.callback_sig('/api/notify/midas', query, 'midas-app_key-0123')
    assert any(line.startswith('  signed over: GET&%2Fapi%2Fnotify%2Fmidas&') for line in lines)


def test_statuses_are_coloured_on_a_terminal_and_plain_when_piped(http_mock, tmp_path):
    """click's runner stands for the terminal (color=True) and for a pipe (color=False)."""
    for _ in range(3):
        http_mock.get(f'{DEPLOYED}/orders/ord_cli', json={**ORDER, 'status': 'PAID'})
    terminal = deployed(tmp_path, 'orders', 'get', 'ord_cli', color=True).stdout
    piped = deployed(tmp_path, 'orders', 'get', 'ord_cli').stdout
    assert click.style('PAID', fg='green') in terminal
    assert '\x1b[' not in piped and dict(line.split(None, 1) for line in piped.splitlines())['status'] == 'PAID'
    assert click.unstyle(terminal) == piped
    assert '\x1b[' not in deployed(tmp_path, '--json', 'orders', 'get', 'ord_cli', color=True).stdout


@pytest.fixture
def signal_handlers_restored():
    """`paygate listen` installs its own SIGINT and SIGTERM handlers; give pytest its own back."""
    kept = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in kept.items():
        signal.signal(number, handler)


def event(number, event_type='order.paid'):
    return {'id': f'evt_{number:024d}', 'type': event_type, 'created_at': f'2026-12-02T05:00:0{number}Z',
            'data': {'order': {'order_id': 'ord_cli', 'amount': 600}}, 'delivery_status': 'delivered'}


def test_listen_poll_prints_only_the_events_made_after_it_started(http_mock, tmp_path, signal_handlers_restored):
    """Older events (over two pages) are skipped; new ones are printed as they appear, until --count."""
    url = f'{DEPLOYED}/events'
    first = matchers.query_param_matcher({'limit': '100', 'order_id': 'ord_cli'})
    following = matchers.query_param_matcher({'limit': '100', 'order_id': 'ord_cli', 'cursor': 'c1'})
    http_mock.get(url, match=[first], json={'data': [event(1)], 'next_cursor': 'c1', 'has_more': True})
    for page in ([event(2)], [event(2), event(3, 'order.refunded')], [event(2), event(3, 'order.refunded'), event(4)]):
        http_mock.get(url, match=[following], json={'data': page, 'next_cursor': None, 'has_more': False})
    result = deployed(tmp_path, 'listen', '--poll', '--order', 'ord_cli', '--interval', '0.2', '--count', '2')
    assert result.stderr == f'Following GET {url} every 0.2 s (Ctrl-C stops)\n'
    assert [line.split() for line in result.stdout.splitlines()] == [
        ['2026-12-02T05:00:03Z', 'order.refunded', 'ord_cli', '600', 'fen', event(3)['id'], 'delivery', 'delivered'],
        ['2026-12-02T05:00:04Z', 'order.paid', 'ord_cli', '600', 'fen', event(4)['id'], 'delivery', 'delivered']]
