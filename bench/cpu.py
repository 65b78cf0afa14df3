"""Warm CPU per notification, next to the provider's bare crypto primitive and peer SDKs, in one process.

For each provider, in a warm process (settings resolved, clients made):
- Paygate's whole notification: the Lambda entry point (app.app) given the API
  Gateway event of a valid paying notification, through Chalice's routing,
  verification, the transaction built and sent by botocore, the answer. The
  table is faked at botocore's HTTP layer (a `before-send` hook answers the one
  TransactWriteItems with DynamoDB's empty success), so botocore's own work,
  serialising and signing the request and parsing the answer, is counted, and
  the network and a database are not;
- Paygate's verification alone (the notifier's keys and parse_notification);
- the bare primitive a provider's signature costs (one MD5 or HMAC over the
  body, one RSA-SHA256 verify with pycryptodome, plus one AES-256-GCM decrypt
  for WeChat Pay v3), and the RSA verify alone with `cryptography` (OpenSSL),
  which the peer SDKs use;
- the peer SDKs given the same notification: python-alipay-sdk `verify` (after
  parsing the form), wechatpayv3 `WeChatPay.callback` (verify and decrypt),
  wechatpy `WeChatPay.parse_payment_result` (WeChat Pay v2).
CPU time is time.process_time over many calls; each figure is the median of
ROUNDS rounds. No target: the figures are shown side by side, for comparison.
Run: .venv/bin/python -m bench.cpu [--smoke]
"""
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager
from urllib.parse import parse_qsl

from bench import figures, kits

ROUNDS = 7
CALLS = {'notification': 200, 'verify': 400, 'primitive': 2000, 'sdk': 400}
TABLE = 'paygate-bench-cpu'
NOWHERE = 'http://127.0.0.1:9'     # nothing listens: a request the fake misses fails at once
# What a notification is built from; the fake table takes any order.
UNSAVED_ORDER = {'out_trade_no': 'pg20261122160100a1b2c3d4e5f6', 'client_params': {'token': 'BENCHTOKEN0001'}}


def per_call(function, calls, rounds):
    """Median CPU seconds of one call of `function`, over `rounds` rounds of `calls` calls."""
    function()
    seconds = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            function()
        seconds.append((time.process_time() - started) / calls)
    return statistics.median(seconds)


class Raw:
    """What botocore reads a response's body from."""

    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


class FakeTable:
    """DynamoDB's answer to a successful TransactWriteItems, given at botocore's HTTP layer."""

    def __init__(self):
        self.requests = []

    def install(self, client):
        client.meta.events.register('before-send.dynamodb', self.answer)

    def answer(self, request, **kwargs):
        from botocore.awsrequest import AWSResponse
        self.requests.append(request.headers.get('X-Amz-Target', b''))
        return AWSResponse(request.url, 200, {'Content-Type': 'application/x-amz-json-1.0'}, Raw(b'{}'))


@contextmanager
def quiet():
    """Send what the process writes (its log lines) to /dev/null while measuring."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def inbound_of(sent):
    from chalicelib.providers.contract import Inbound
    path, _, query = sent.path.partition('?')
    return Inbound(method=sent.method, path=path, headers={k.lower(): v for k, v in sent.headers.items()},
                   query=tuple(parse_qsl(query, keep_blank_values=True)), body=sent.body)


# ---- the bare primitives ---------------------------------------------------------------------

def _rsa_verify(public_pem, message, signature):
    from Crypto.Hash import SHA256
    from Crypto.PublicKey import RSA
    from Crypto.Signature import pkcs1_15
    verifier, raw = pkcs1_15.new(RSA.import_key(public_pem)), base64.b64decode(signature)
    return lambda: verifier.verify(SHA256.new(message), raw)


def _openssl_rsa_verify(public_pem, message, signature):
    """The same check with `cryptography` (OpenSSL), which the peer SDKs use; None when not installed."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:
        return None
    key, raw = serialization.load_pem_public_key(public_pem.encode()), base64.b64decode(signature)
    return lambda: key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())


def _aes_gcm_decrypt(key, resource):
    from Crypto.Cipher import AES
    sealed = base64.b64decode(resource['ciphertext'])

    def decrypt():
        cipher = AES.new(key.encode(), AES.MODE_GCM, nonce=resource['nonce'].encode())
        cipher.update(resource['associated_data'].encode())
        return cipher.decrypt_and_verify(sealed[:-16], sealed[-16:])
    return decrypt


def primitive(stage, kit, sent):
    """(what it is, the call, the RSA verify alone with OpenSSL or None) for the signature check
    `kit`'s provider makes."""
    from tests import alipay_sdk, midas_fixtures, wechatpay_fixtures
    from tests.wechatpay_fixtures import public_pem
    if kit.route == 'alipay':
        fields = dict(parse_qsl(sent.body.decode('ascii')))
        message = alipay_sdk.sign_content(fields, ('sign', 'sign_type')).encode()
        pem = stage.alipay_keys.alipay.public_pem
        return ('one RSA-SHA256 verify', _rsa_verify(pem, message, fields['sign']),
                _openssl_rsa_verify(pem, message, fields['sign']))
    if kit.route == 'wechatpay/v3':
        headers = sent.headers
        message = f'{headers["Wechatpay-Timestamp"]}\n{headers["Wechatpay-Nonce"]}\n'.encode() + sent.body + b'\n'
        pem, signature = public_pem(stage.wechatpay_keys.wechat), headers['Wechatpay-Signature']
        verify = _rsa_verify(pem, message, signature)
        decrypt = _aes_gcm_decrypt(wechatpay_fixtures.APIV3_KEY, json.loads(sent.body)['resource'])
        return ('one RSA-SHA256 verify + one AES-256-GCM decrypt', lambda: (verify(), decrypt()),
                _openssl_rsa_verify(pem, message, signature))
    if kit.route == 'midas':
        key = (midas_fixtures.APPKEY + '&').encode()
        return 'one HMAC-SHA1 of the query', lambda: hmac.new(key, sent.path.encode(), hashlib.sha1).digest(), None
    return 'one MD5 of the body', lambda: hashlib.md5(sent.body).hexdigest(), None


# ---- the peer SDKs ---------------------------------------------------------------------------

def peer(stage, kit, sent):
    """(the SDK's name, the call or None when it is not installed), or None for no peer."""
    if kit.route == 'alipay':
        return 'python-alipay-sdk verify', _alipay_sdk(stage, sent)
    if kit.route == 'wechatpay/v3':
        return 'wechatpayv3 WeChatPay.callback', _wechatpayv3(stage, sent)
    if kit.route == 'wechatpay':
        return 'wechatpy parse_payment_result', _wechatpy(sent)
    return None


def _alipay_sdk(stage, sent):
    try:
        from alipay import AliPay
    except ImportError:
        return None
    from tests.alipay_fixtures import APP_ID
    sdk = AliPay(appid=APP_ID, app_private_key_string=stage.alipay_keys.app.private_pem,
                 alipay_public_key_string=stage.alipay_keys.alipay.public_pem)

    def verify():
        fields = dict(parse_qsl(sent.body.decode('ascii')))
        signature = fields.pop('sign')
        return sdk.verify(fields, signature)
    return _checked(verify)


def _wechatpayv3(stage, sent):
    try:
        from wechatpayv3 import WeChatPay, WeChatPayType
    except ImportError:
        return None
    from tests import wechatpay_fixtures as wx
    sdk = WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=wx.MCH_ID,
                    private_key=wx.private_pem(stage.wechatpay_keys.merchant), cert_serial_no=wx.CERT_SERIAL,
                    appid=wx.APPID, apiv3_key=wx.APIV3_KEY, public_key=wx.public_pem(stage.wechatpay_keys.wechat),
                    public_key_id=wx.PUB_KEY_ID)
    return _checked(lambda: sdk.callback(dict(sent.headers), sent.body))


def _wechatpy(sent):
    try:
        from wechatpy.pay import WeChatPay
    except ImportError:
        return None
    from tests import wechatpay_fixtures as wx
    sdk = WeChatPay(appid=wx.APPID, api_key=wx.KEY, mch_id=wx.MCH_ID)
    return _checked(lambda: sdk.parse_payment_result(sent.body))


def _checked(call):
    if not call():
        raise RuntimeError('the peer SDK refused a valid notification')
    return call


# ---- Paygate ---------------------------------------------------------------------------------

def paygate_calls(stage, kit):
    """(the whole notification, its verification alone, the notification sent) in this warm process."""
    from chalicelib import aws, clock, providers
    stage.apply(kit, TABLE)
    os.environ.update({'PAYGATE_DYNAMODB_ENDPOINT': NOWHERE, 'AWS_LAMBDA_FUNCTION_NAME': f'paygate-bench-{kit.name}'})
    fake = FakeTable()
    fake.install(aws.client('dynamodb'))
    import app
    sent = stage.notification(kit, UNSAVED_ORDER)
    event = kits.lambda_event(sent)
    with quiet():
        response = app.app(event, None)
    if response['statusCode'] >= 300 or [target for target in fake.requests] != [b'DynamoDB_20120810.TransactWriteItems']:
        raise RuntimeError(f'{kit.route}: not one paying TransactWriteItems: {response} {fake.requests}')
    notifier, inbound = providers.load_notify(kit.route), inbound_of(sent)
    return (lambda: app.app(event, None),
            lambda: notifier.parse_notification(inbound, notifier.notification_keys(inbound), clock.now()),
            sent)


def measure(smoke=False):
    rounds = 1 if smoke else ROUNDS
    calls = {name: 3 if smoke else count for name, count in CALLS.items()}
    stage = kits.Stage()
    results = []
    for label, kit in kits.KITS:
        whole, verify, sent = paygate_calls(stage, kit)
        what, bare, openssl = primitive(stage, kit, sent)
        with quiet():
            row = {'notification': per_call(whole, calls['notification'], rounds),
                   'verify': per_call(verify, calls['verify'], rounds),
                   'primitive': per_call(bare, calls['primitive'], rounds)}
            if openssl:
                row['openssl'] = per_call(openssl, calls['primitive'], rounds)
            found = peer(stage, kit, sent)
            if found and found[1]:
                row['sdk'] = per_call(found[1], calls['sdk'], rounds)
        results.append((label, what, found and found[0], row))
    return _report(results)


def _us(seconds):
    micro = seconds * 1e6
    return f'{micro:.2f} us' if micro < 10 else f'{micro:,.0f} us'


def _report(results):
    found = []
    for label, what, sdk, row in results:
        bare = row['primitive']
        print(f'{label}:')
        print(f'  Paygate, whole notification (fake table): {_us(row["notification"]):>10}  '
              f'{row["notification"] / bare:6.1f}x the primitive')
        print(f'  Paygate, verification alone:              {_us(row["verify"]):>10}  '
              f'{row["verify"] / bare:6.1f}x the primitive  ({row["verify"] / row["notification"]:.0%} of the whole)')
        print(f'  bare primitive, {what + ":":<42}{_us(bare):>10}')
        if 'openssl' in row:
            print(f'  the RSA verify alone with cryptography (OpenSSL): {_us(row["openssl"]):>10}')
        found.append(figures.info(f'{label}: warm CPU, whole notification', f'{_us(row["notification"])} '
                                  f'({row["notification"] / bare:.0f}x primitive)'))
        found.append(figures.info(f'{label}: warm CPU, Paygate verification', f'{_us(row["verify"])} '
                                  f'({row["verify"] / bare:.1f}x primitive)'))
        found.append(figures.info(f'{label}: warm CPU, {what}', _us(bare)))
        if 'openssl' in row:
            found.append(figures.info(f'{label}: warm CPU, the RSA verify with OpenSSL', _us(row['openssl'])))
        if sdk and 'sdk' in row:
            print(f'  peer SDK, {sdk + ":":<48}{_us(row["sdk"]):>10}  {row["sdk"] / bare:6.1f}x the primitive')
            found.append(figures.info(f'{label}: warm CPU, {sdk}', f'{_us(row["sdk"])} '
                                      f'({row["sdk"] / bare:.1f}x primitive)'))
        elif sdk:
            print(f'  peer SDK, {sdk}: not installed')
            found.append(figures.absent(f'{label}: warm CPU, {sdk}', sdk.split()[0]))
    return found


if __name__ == '__main__':
    figures.run(measure, __doc__.split('\n')[0])
