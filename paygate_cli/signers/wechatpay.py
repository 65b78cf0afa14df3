"""WeChat Pay's payment and refund notifications, API v2 and v3, as WeChat Pay sends them.

v2, XML to /notify/wechatpay: a payment's `sign` covers every other non-empty
field, sorted, k=v joined by &, then `&key=<API v2 key>`: upper-case hex MD5,
or HMAC-SHA256 keyed with the API key, whichever the order was made with. A
refund is not signed: its fields travel in `req_info`, AES-256-ECB (PKCS#7)
under the lower-case hex MD5 of the API key.
v3, JSON to /notify/wechatpay/v3: the resource is AES-256-GCM under the APIv3
key; WeChat Pay's private key signs "timestamp\\nnonce\\nbody\\n" (SHA256withRSA)
into the Wechatpay-* headers, naming its key by Wechatpay-Serial.
Every scene's notification has the same form; an APP order's carries the
mobile app's appid (PAYGATE_WECHATPAY_APP_APPID), and trade_type names the scene.
"""
import base64
import hashlib
import hmac
import json
import uuid

from paygate_cli import crypto
from paygate_cli.client import Outgoing
from paygate_cli.fields import flatten, unflatten
from paygate_cli.signers import Prepared, china_time, digits, refund_amounts
from paygate_cli.stage import SANDBOX_WECHATPAY_KEY

NAME = 'wechatpay'
SUBJECT = 'order'
STATES = ('paid', 'refunded')
VERSIONS = ('v2', 'v3')
V2_PATH, V3_PATH = '/notify/wechatpay', '/notify/wechatpay/v3'
V2_KEY, V3_KEY = 'PAYGATE_WECHATPAY_KEY', 'PAYGATE_WECHATPAY_APIV3_KEY'
HEADER_PREFIX = 'Wechatpay-'
V2_SUCCESS = '<return_code><![CDATA[SUCCESS]]></return_code>'
TRADE_TYPES = {'jsapi': 'JSAPI', 'app': 'APP', 'native': 'NATIVE', 'h5': 'MWEB'}
V2_SIGN_LENGTHS = {32: 'MD5', 64: 'HMAC-SHA256'}


def v2_signed_text(fields):
    return '&'.join(f'{k}={fields[k]}' for k in sorted(fields) if k != 'sign' and fields[k] != '')


def v2_sign(fields, key, sign_type='MD5'):
    text = f'{v2_signed_text(fields)}&key={key}'.encode('utf-8')
    if sign_type == 'HMAC-SHA256':
        return hmac.new(key.encode('utf-8'), text, hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text).hexdigest().upper()


def v3_message(timestamp, nonce, body):
    return f'{timestamp}\n{nonce}\n'.encode('utf-8') + body + b'\n'


def v3_sign(private_key, timestamp, nonce, body):
    """Wechatpay-Signature: WeChat Pay's SHA256withRSA over the raw body with its timestamp and nonce."""
    return crypto.rsa_sign(private_key, v3_message(timestamp, nonce, body))


def version_of(order, options, settings):
    """The API version the order was made with, unless --version says: its client_params' signType
    (JSAPI) or the form of their sign (APP: hex for v2, RSA Base64 for v3); Native and H5 orders
    carry no signature, so the stage's version."""
    if options.version:
        return options.version
    params = order.get('client_params', {})
    if params.get('signType'):
        return 'v3' if params['signType'] == 'RSA' else 'v2'
    if params.get('sign'):
        return 'v2' if len(params['sign']) in V2_SIGN_LENGTHS else 'v3'
    return settings.get('PAYGATE_WECHATPAY_API_VERSION', 'v3')


def build(order, state, settings, options):
    version = version_of(order, options, settings)
    facts = _facts(order, state, settings, options)
    facts['description'] = f'WeChat Pay {version} {state} notification for order {order["order_id"]}'
    if version == 'v3':
        return _v3(state, facts, settings, options)
    return _v2_payment(order, facts, settings) if state == 'paid' else _v2_refund(facts, settings)


def _facts(order, state, settings, options):
    """What both versions say about the payment or the refund."""
    scene = order.get('scene') or 'jsapi'
    facts = {'appid': settings.require('PAYGATE_WECHATPAY_APP_APPID' if scene == 'app' else 'PAYGATE_WECHATPAY_APPID'),
             'trade_type': TRADE_TYPES.get(scene, 'JSAPI'),
             'mch_id': settings.require('PAYGATE_WECHATPAY_MCH_ID'),
             'out_trade_no': order['out_trade_no'], 'total': order['amount'],
             'transaction_id': order.get('provider_trade_no') or '42000' + digits(23),
             'openid': 'oPaygateCli' + digits(17), 'now': options.now}
    if state == 'paid':
        facts['paid'] = order['amount'] if options.amount is None else options.amount
    else:
        facts.update(refund=refund_amounts(order, options)[0], out_refund_no=options.refund_no,
                     refund_id='50' + digits(27))
    return facts


def _v2_payment(order, facts, settings):
    params = order.get('client_params', {})
    client_sign_type = params.get('signType') or V2_SIGN_LENGTHS.get(len(params.get('sign', '')))
    sign_type = (client_sign_type if client_sign_type in ('MD5', 'HMAC-SHA256')
                 else settings.get('PAYGATE_WECHATPAY_SIGN_TYPE', 'MD5'))
    fields = {'return_code': 'SUCCESS', 'return_msg': 'OK', 'appid': facts['appid'],
              'mch_id': facts['mch_id'], 'nonce_str': crypto.random_text(32), 'result_code': 'SUCCESS',
              'openid': facts['openid'], 'trade_type': facts['trade_type'], 'bank_type': 'OTHERS',
              'total_fee': str(facts['paid']), 'cash_fee': str(facts['paid']), 'fee_type': 'CNY',
              'transaction_id': facts['transaction_id'], 'out_trade_no': facts['out_trade_no'],
              'time_end': china_time(facts['now'], '%Y%m%d%H%M%S')}
    if sign_type != 'MD5':
        fields['sign_type'] = sign_type
    fields['sign'] = v2_sign(fields, settings.require(V2_KEY), sign_type)
    signed_over = f'{v2_signed_text(fields)}&key=<{V2_KEY}>  ({sign_type})'
    return Prepared(facts['description'], fields, signed_over, _v2_render)


def _v2_refund(facts, settings):
    info = {'transaction_id': facts['transaction_id'], 'out_trade_no': facts['out_trade_no'],
            'refund_id': facts['refund_id'], 'out_refund_no': facts['out_refund_no'],
            'total_fee': str(facts['total']), 'refund_fee': str(facts['refund']),
            'settlement_total_fee': str(facts['total']), 'settlement_refund_fee': str(facts['refund']),
            'refund_status': 'SUCCESS', 'success_time': china_time(facts['now']),
            'refund_recv_accout': '支付用户零钱', 'refund_account': 'REFUND_SOURCE_RECHARGE_FUNDS',
            'refund_request_source': 'API'}
    cipher_key = hashlib.md5(settings.require(V2_KEY).encode('utf-8')).hexdigest().encode('ascii')
    sealed = crypto.aes_ecb_pkcs7(cipher_key, _xml(info, 'root').encode('utf-8'))
    fields = {'return_code': 'SUCCESS', 'appid': facts['appid'], 'mch_id': facts['mch_id'],
              'nonce_str': crypto.random_text(32), 'req_info': base64.b64encode(sealed).decode('ascii')}
    signed_over = f'not signed: req_info is AES-256-ECB under the hex MD5 of <{V2_KEY}>'
    return Prepared(facts['description'], fields, signed_over, _v2_render, encrypted=info)


def _v3(state, facts, settings, options):
    if state == 'paid':
        event_type, summary, kind = 'TRANSACTION.SUCCESS', '支付成功', 'transaction'
        resource = {'mchid': facts['mch_id'], 'appid': facts['appid'], 'out_trade_no': facts['out_trade_no'],
                    'transaction_id': facts['transaction_id'], 'trade_type': facts['trade_type'],
                    'trade_state': 'SUCCESS', 'trade_state_desc': '支付成功', 'bank_type': 'OTHERS',
                    'attach': '', 'success_time': _rfc3339(facts['now']),
                    'payer': {'openid': facts['openid']},
                    'amount': {'total': facts['paid'], 'payer_total': facts['paid'], 'currency': 'CNY',
                               'payer_currency': 'CNY'}}
    else:
        event_type, summary, kind = 'REFUND.SUCCESS', '退款成功', 'refund'
        resource = {'mchid': facts['mch_id'], 'out_trade_no': facts['out_trade_no'],
                    'transaction_id': facts['transaction_id'], 'out_refund_no': facts['out_refund_no'],
                    'refund_id': facts['refund_id'], 'refund_status': 'SUCCESS',
                    'success_time': _rfc3339(facts['now']), 'user_received_account': '支付用户零钱',
                    'amount': {'total': facts['total'], 'refund': facts['refund'],
                               'payer_total': facts['total'], 'payer_refund': facts['refund']}}
    body = {'id': str(uuid.uuid4()), 'create_time': _rfc3339(facts['now']),
            'resource_type': 'encrypt-resource', 'event_type': event_type, 'summary': summary,
            'resource': seal(resource, kind, settings.require(V3_KEY), crypto.random_text(12))}
    raw = _json(body)
    timestamp, nonce = str(int(options.now.timestamp())), crypto.random_text(32)
    key = crypto.private_key(settings.require(SANDBOX_WECHATPAY_KEY))
    headers = {'Wechatpay-Timestamp': timestamp, 'Wechatpay-Nonce': nonce,
               'Wechatpay-Serial': settings.require('PAYGATE_WECHATPAY_PUBLIC_KEY_ID'),
               'Wechatpay-Signature': v3_sign(key, timestamp, nonce, raw),
               'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048'}
    signed_over = v3_message(timestamp, nonce, raw).decode('utf-8').replace('\n', '\\n')
    return Prepared(facts['description'], {**flatten(body), **headers}, signed_over, v3_render,
                    encrypted=resource)


def seal(resource, kind, apiv3_key, nonce):
    """The notification's `resource`: `resource` (a dict) as compact JSON, AES-256-GCM under the
    APIv3 key with `nonce` (12 characters) and `kind` as the associated data."""
    sealed = crypto.aes_gcm_seal(apiv3_key.encode('utf-8'), nonce.encode('ascii'),
                                 _json(resource), kind.encode('ascii'))
    return {'original_type': kind, 'algorithm': 'AEAD_AES_256_GCM',
            'ciphertext': base64.b64encode(sealed).decode('ascii'), 'associated_data': kind, 'nonce': nonce}


def _json(data):
    return json.dumps(data, ensure_ascii=False, separators=(',', ':')).encode('utf-8')


def _rfc3339(moment):
    return china_time(moment, '%Y-%m-%dT%H:%M:%S+08:00')


def _xml(fields, root='xml'):
    return f'<{root}>' + ''.join(f'<{k}><![CDATA[{v}]]></{k}>' for k, v in fields.items()) + f'</{root}>'


def _v2_render(fields):
    return Outgoing('POST', V2_PATH, headers={'Content-Type': 'text/xml'}, body=_xml(fields).encode('utf-8'))


def v3_render(fields):
    headers = {k: v for k, v in fields.items() if k.startswith(HEADER_PREFIX)}
    body = unflatten({k: v for k, v in fields.items() if not k.startswith(HEADER_PREFIX)})
    return Outgoing('POST', V3_PATH, headers={'Content-Type': 'application/json', **headers},
                    body=_json(body))


def accepted(answer):
    """v3: any 2xx; v2: the SUCCESS return_code."""
    return 200 <= answer.status < 300 and (not answer.body or V2_SUCCESS in answer.body)
