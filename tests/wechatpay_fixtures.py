"""WeChat Pay as the tests see it: keys, settings, and WeChat's side of every exchange.

Everything WeChat would compute is computed here independently of chalicelib:
v2 signatures and refund encryption with wechatpy, v3 signatures and AES-GCM
with `cryptography` (chalicelib uses pycryptodome), XML with xmltodict.
"""
import base64
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import xmltodict
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpy.crypto import RefundCrypto, WeChatRefundCrypto
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac, dict_to_xml

APPID = 'wx8888888888888888'
APP_APPID = 'wxd930ea5d5a258f4f'     # the mobile app's (open platform), for APP orders
MCH_ID = '1900000109'
KEY = 'Kx9y2PqL0aZ7mN4bV6cX1sD3fG5hJ8kL'
APIV3_KEY = 'A3v3Key0123456789abcdefghijklmno'
APP_SECRET = 'app-secret-0123456789abcdef'
CERT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1'
PUB_KEY_ID = 'PUB_KEY_ID_0119000001092026010100000000000001'
PLATFORM_SERIAL = '3A2B1C0D4E5F60718293A4B5C6D7E8F901234567'
WX_URL = 'https://wxpay.test'
LOGIN_URL = 'https://wxlogin.test'
OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'
SUCCESS_XML = ('<xml><return_code><![CDATA[SUCCESS]]></return_code>'
               '<return_msg><![CDATA[OK]]></return_msg></xml>')


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode('ascii')


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')


@dataclass
class Keys:
    merchant: object     # the merchant's API private key (signs our requests and paySign)
    wechat: object       # WeChat Pay's public-key-mode key (PUB_KEY_ID_...)
    platform: object     # WeChat Pay's platform certificate key (hex serial)
    platform_cert: str   # PEM of the platform certificate

    @classmethod
    def generate(cls):
        from Crypto.PublicKey import RSA
        from tests.certs import self_signed_certificate
        platform = new_key()
        cert = self_signed_certificate(RSA.import_key(private_pem(platform)), 'Tenpay.com Root CA test',
                                       int(PLATFORM_SERIAL, 16))
        return cls(new_key(), new_key(), platform, cert)


def environment(keys, version='v3', sign_type='MD5'):
    return {
        'PAYGATE_PROVIDERS': 'codepay,wechatpay',
        'PAYGATE_WECHATPAY_APPID': APPID,
        'PAYGATE_WECHATPAY_APP_APPID': APP_APPID,
        'PAYGATE_WECHATPAY_APP_SECRET': APP_SECRET,
        'PAYGATE_WECHATPAY_MCH_ID': MCH_ID,
        'PAYGATE_WECHATPAY_API_VERSION': version,
        'PAYGATE_WECHATPAY_KEY': KEY,
        'PAYGATE_WECHATPAY_SIGN_TYPE': sign_type,
        'PAYGATE_WECHATPAY_APIV3_KEY': APIV3_KEY,
        'PAYGATE_WECHATPAY_PRIVATE_KEY': private_pem(keys.merchant),
        'PAYGATE_WECHATPAY_CERT_SERIAL': CERT_SERIAL,
        'PAYGATE_WECHATPAY_PUBLIC_KEY': public_pem(keys.wechat),
        'PAYGATE_WECHATPAY_PUBLIC_KEY_ID': PUB_KEY_ID,
        'PAYGATE_WECHATPAY_URL': WX_URL,
        'PAYGATE_WECHATPAY_LOGIN_URL': LOGIN_URL,
    }


# ---- API v2, as wechatpy computes it ------------------------------------------------------

def v2_sign(fields, key=KEY, sign_type='MD5'):
    unsigned = {k: v for k, v in fields.items() if k != 'sign'}
    if sign_type == 'HMAC-SHA256':
        return calculate_signature_hmac(unsigned, key)
    return calculate_signature(unsigned, key)


def v2_xml(fields, key=KEY, sign_type='MD5'):
    """Signed v2 XML as WeChat sends it (wechatpy's dict_to_xml)."""
    return dict_to_xml(fields, v2_sign(fields, key, sign_type)).encode('utf-8')


def v2_fields(body):
    return dict(xmltodict.parse(body)['xml'])


def payment_fields(out_trade_no, total_fee='600', **extra):
    fields = {'return_code': 'SUCCESS', 'return_msg': 'OK', 'appid': APPID, 'mch_id': MCH_ID,
              'nonce_str': '5d2b6c2a8db53831f7eda20af46e531c', 'result_code': 'SUCCESS',
              'openid': OPENID, 'is_subscribe': 'N', 'trade_type': 'JSAPI', 'bank_type': 'CMC',
              'total_fee': total_fee, 'fee_type': 'CNY', 'cash_fee': total_fee,
              'transaction_id': '4200001234202611220000000001', 'out_trade_no': out_trade_no,
              'time_end': '20261122160102', **extra}
    return {k: v for k, v in fields.items() if v is not None}


def refund_notification(out_trade_no, out_refund_no, refund_fee='600', total_fee='600',
                        status='SUCCESS', key=KEY, appid=APPID, mch_id=MCH_ID):
    """A v2 refund notification: req_info encrypted by wechatpy's RefundCrypto."""
    info = {'transaction_id': '4200001234202611220000000001', 'out_trade_no': out_trade_no,
            'refund_id': '50000000382019052709732678859', 'out_refund_no': out_refund_no,
            'total_fee': total_fee, 'refund_fee': refund_fee, 'settlement_refund_fee': refund_fee,
            'refund_status': status, 'success_time': '2026-11-22 16:30:00',
            'refund_recv_accout': '支付用户零钱', 'refund_account': 'REFUND_SOURCE_RECHARGE_FUNDS',
            'refund_request_source': 'API'}
    root = '<root>' + ''.join(f'<{k}><![CDATA[{v}]]></{k}>' for k, v in info.items()) + '</root>'
    req_info = RefundCrypto(WeChatRefundCrypto(key).key).encrypt(root).decode('ascii')
    return dict_to_xml({'return_code': 'SUCCESS', 'appid': appid, 'mch_id': mch_id,
                        'nonce_str': 'TeqClE3i0mvn3DrK', 'req_info': req_info}).encode('utf-8')


# ---- API v3, with `cryptography` ------------------------------------------------------------

def rsa_sign(key, message):
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode('ascii')


def rsa_verify(key, message, signature):
    from cryptography.exceptions import InvalidSignature
    try:
        key.public_key().verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def encrypt_resource(plain, key=APIV3_KEY, associated_data='transaction', original_type='transaction'):
    nonce = secrets.token_hex(6)
    sealed = AESGCM(key.encode()).encrypt(nonce.encode(), plain.encode('utf-8'), associated_data.encode())
    return {'original_type': original_type, 'algorithm': 'AEAD_AES_256_GCM',
            'ciphertext': base64.b64encode(sealed).decode('ascii'),
            'associated_data': associated_data, 'nonce': nonce}


def signed_headers(body, key, serial, timestamp, nonce='5K8264ILTKCH16CQ2502SI8ZNMTM67VS', signature=None):
    message = f'{timestamp}\n{nonce}\n'.encode() + body + b'\n'
    return {'Wechatpay-Timestamp': str(timestamp), 'Wechatpay-Nonce': nonce, 'Wechatpay-Serial': serial,
            'Wechatpay-Signature': signature or rsa_sign(key, message),
            'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048'}


def transaction(out_trade_no, total=600, **change):
    resource = {'mchid': MCH_ID, 'appid': APPID, 'out_trade_no': out_trade_no,
                'transaction_id': '4200001234202611220000000002', 'trade_type': 'JSAPI',
                'trade_state': 'SUCCESS', 'trade_state_desc': '支付成功', 'bank_type': 'CMC',
                'attach': '', 'success_time': '2026-11-22T16:01:02+08:00', 'payer': {'openid': OPENID},
                'amount': {'total': total, 'payer_total': total, 'currency': 'CNY', 'payer_currency': 'CNY'}}
    resource.update(change)
    return resource


def refund_resource(out_trade_no, out_refund_no, refund=600, total=600, status='SUCCESS'):
    return {'mchid': MCH_ID, 'out_trade_no': out_trade_no, 'transaction_id': '4200001234202611220000000002',
            'out_refund_no': out_refund_no, 'refund_id': '50300000012026112200000000001',
            'refund_status': status, 'success_time': '2026-11-22T16:30:00+08:00',
            'user_received_account': '支付用户零钱',
            'amount': {'total': total, 'refund': refund, 'payer_total': total, 'payer_refund': refund}}


def v3_notification(resource, key, serial, timestamp, event_type='TRANSACTION.SUCCESS', apiv3_key=APIV3_KEY,
                    notification_id='EV-2026112216010200001'):
    """(headers, body) of a v3 notification: resource encrypted, body signed."""
    original = 'refund' if event_type.startswith('REFUND.') else 'transaction'
    body = json.dumps({
        'id': notification_id, 'create_time': '2026-11-22T16:01:03+08:00', 'resource_type': 'encrypt-resource',
        'event_type': event_type, 'summary': '支付成功',
        'resource': encrypt_resource(json.dumps(resource, ensure_ascii=False), apiv3_key, original, original),
    }, ensure_ascii=False).encode('utf-8')
    return {**signed_headers(body, key, serial, timestamp), 'Content-Type': 'application/json'}, body


def authorization_fields(header):
    scheme, _, rest = header.partition(' ')
    assert scheme == 'WECHATPAY2-SHA256-RSA2048'
    return {k: v.strip('"') for k, v in (part.split('=', 1) for part in rest.split(','))}


def check_authorization(request, merchant_key):
    """What WeChat checks on a v3 request: the Authorization signature over the exact bytes sent."""
    fields = authorization_fields(request.headers['Authorization'])
    url = urlsplit(request.url)
    body = request.body or b''
    body = body.encode() if isinstance(body, str) else body
    message = (f'{request.method}\n{url.path}{"?" + url.query if url.query else ""}\n'
               f'{fields["timestamp"]}\n{fields["nonce_str"]}\n').encode() + body + b'\n'
    assert fields['mchid'] == MCH_ID and fields['serial_no'] == CERT_SERIAL
    assert rsa_verify(merchant_key, message, fields['signature']), 'Authorization signature'
    return fields


class WeChat:
    """WeChat Pay's API behind `responses`: checks our signatures, answers signed."""

    def __init__(self, http_mock, keys):
        self.http, self.keys = http_mock, keys
        self.requests = []

    def v3(self, method, path, status=200, body=None, serial=PUB_KEY_ID, key=None):
        def answer(request):
            check_authorization(request, self.keys.merchant)
            self.requests.append(request)
            raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b''
            headers = signed_headers(raw, key or self.keys.wechat, serial, int(time.time()),
                                     nonce=secrets.token_hex(16))
            if raw:
                headers['Content-Type'] = 'application/json'
            return status, headers, raw
        self.http.add_callback(method, WX_URL + path, callback=answer)

    def v2(self, path, answer_fields, key=KEY):
        def answer(request):
            sent = v2_fields(request.body)
            assert sent['sign'] == v2_sign(sent, KEY, sent.get('sign_type', 'MD5')), 'request sign'
            self.requests.append((request, sent))
            fields = {'return_code': 'SUCCESS', 'return_msg': 'OK', 'appid': sent['appid'], 'mch_id': MCH_ID,
                      'nonce_str': secrets.token_hex(8), 'result_code': 'SUCCESS', **answer_fields(sent)}
            return 200, {'Content-Type': 'text/xml'}, v2_xml(fields, key, sent.get('sign_type', 'MD5'))
        self.http.add_callback('POST', WX_URL + path, callback=answer)

    def unifiedorder(self, prepay_id='wx2026112216010012345678901234567890', **kwargs):
        self.v2('/pay/unifiedorder', lambda sent: {'trade_type': 'JSAPI', 'prepay_id': prepay_id}, **kwargs)

    def jsapi(self, prepay_id='wx26112216010098765432101234567890'):
        self.v3('POST', '/v3/pay/transactions/jsapi', body={'prepay_id': prepay_id})


def p12_settings(keys, password=MCH_ID):
    """The merchant's client certificate as WeChat Pay issues it: a .p12, Base64 in the setting."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    cert = x509.load_pem_x509_certificate(keys.platform_cert.encode())
    p12 = pkcs12.serialize_key_and_certificates(b'apiclient', keys.platform, cert, None,
                                                BestAvailableEncryption(password.encode()))
    return {'PAYGATE_WECHATPAY_CLIENT_P12': base64.b64encode(p12).decode()}


def certificates_reply(keys, signer, serial, listed=PLATFORM_SERIAL):
    """GET /v3/certificates's answer (the platform certificate listed as `listed`), the key that
    signs it (a Keys field) and the serial the signature names."""
    plain = keys.platform_cert
    body = {'data': [{'serial_no': listed, 'effective_time': '2026-01-01T00:00:00+08:00',
                      'expire_time': '2031-01-01T00:00:00+08:00',
                      'encrypt_certificate': encrypt_resource(plain, associated_data='certificate',
                                                              original_type='certificate')}]}
    return body, getattr(keys, signer), serial
