"""WeChat Pay signatures and ciphers: the vectors of docs/providers/wechatpay.md#signing, and agreement with wechatpy / wechatpayv3."""
import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpayv3 import utils as v3utils
from wechatpayv3.core import Core

from chalicelib.providers.contract import Rejected
from chalicelib.providers.wechatpay import crypto, sign, xmlfields
from tests.wechatpay_fixtures import (APIV3_KEY, CERT_SERIAL, MCH_ID, PUB_KEY_ID, authorization_fields, encrypt_resource,
                                      private_pem, public_pem, refund_notification, rsa_sign, rsa_verify,
                                      v2_fields, v2_sign)

VECTOR = {'appid': 'wxd930ea5d5a258f4f', 'mch_id': '10000100', 'device_info': '1000', 'body': 'test',
          'nonce_str': 'ibuaiVcKdpRxkhJA'}
VECTOR_KEY = '192006250b4c09247ec02edce69f6a2d'


def test_providers_md_md5_vector():
    assert sign.v2_sign(VECTOR, VECTOR_KEY, 'MD5') == '9A0A8659F005D6984697E2CA0A9CF3B7'


def test_providers_md_hmac_sha256_vector():
    assert sign.v2_sign(VECTOR, VECTOR_KEY, 'HMAC-SHA256') == \
        '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6'


def test_providers_md_pay_sign_vector():
    params = sign.v2_pay_params('wxd678efh567hg6787', 'wx2017033010242291fcfe0db70013231072',
                           'qazwsxedcrfvtgbyhnujmikolp111111', 'MD5', '1490840662',
                           '5K8264ILTKCH16CQ2502SI8ZNMTM67VS')
    assert params == {'appId': 'wxd678efh567hg6787', 'timeStamp': '1490840662',
                      'nonceStr': '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
                      'package': 'prepay_id=wx2017033010242291fcfe0db70013231072', 'signType': 'MD5',
                      'paySign': '22D9B4E54AB1950F51E0649E8810ACD6'}


@pytest.mark.parametrize('sign_type', ['MD5', 'HMAC-SHA256'])
def test_v2_sign_agrees_with_wechatpy_and_covers_every_field(sign_type):
    fields = {'appid': 'wx1', 'mch_id': '1', 'body': '60 金币 & <more>', 'attach': '', 'total_fee': '600',
              'zz_unknown': 'x=y&z', 'nonce_str': 'abc', 'sign_type': sign_type}
    signed = sign.v2_sign(fields, 'k' * 32, sign_type)
    assert signed == v2_sign(fields, 'k' * 32, sign_type)
    assert sign.v2_verify({**fields, 'sign': signed}, 'k' * 32, sign_type)
    for name in fields:
        if fields[name]:
            assert not sign.v2_verify({**fields, name: fields[name] + '1', 'sign': signed}, 'k' * 32, sign_type)
    assert not sign.v2_verify({**fields, 'sign': signed}, 'j' * 32, sign_type)
    assert not sign.v2_verify({**fields, 'sign': signed.lower()}, 'k' * 32, sign_type)


def test_v2_pay_sign_agrees_with_wechatpy_jsapi():
    from wechatpy.pay import WeChatPay
    client = WeChatPay(appid='wx8888888888888888', api_key='k' * 32, mch_id=MCH_ID)
    expected = client.jsapi.get_jsapi_signature('wx201410272009395522657a690389285100', '1763798400', 'N' * 32)
    params = sign.v2_pay_params('wx8888888888888888', 'wx201410272009395522657a690389285100', 'k' * 32, 'MD5',
                           '1763798400', 'N' * 32)
    assert params['paySign'] == expected


def test_v3_authorization_agrees_with_wechatpayv3(wechatpay_keys, monkeypatch):
    monkeypatch.setattr(v3utils.time, 'time', lambda: 1763798400.5)
    body = json.dumps({'appid': 'wx8888888888888888', 'description': '60 金币'}, ensure_ascii=False)
    expected = v3utils.build_authorization('/v3/pay/transactions/jsapi', 'POST', MCH_ID, CERT_SERIAL,
                                           wechatpay_keys.merchant, data=body, nonce_str='N0NCE')
    ours = sign.v3_authorization('POST', 'https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi',
                            body.encode('utf-8'), MCH_ID, CERT_SERIAL, private_pem(wechatpay_keys.merchant),
                            '1763798400', 'N0NCE')
    assert ours == expected


def test_v3_authorization_signs_path_and_query_and_empty_body(wechatpay_keys):
    header = sign.v3_authorization('GET', 'https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/o1?mchid=1',
                              b'', MCH_ID, CERT_SERIAL, private_pem(wechatpay_keys.merchant), '1', 'n')
    signature = authorization_fields(header)['signature']
    message = b'GET\n/v3/pay/transactions/out-trade-no/o1?mchid=1\n1\nn\n\n'
    assert rsa_verify(wechatpay_keys.merchant, message, signature)


def test_v3_pay_sign_agrees_with_wechatpayv3(wechatpay_keys):
    core = Core(MCH_ID, CERT_SERIAL, private_pem(wechatpay_keys.merchant), APIV3_KEY,
                public_key=public_pem(wechatpay_keys.wechat), public_key_id=PUB_KEY_ID)
    params = sign.v3_pay_params('wx8888888888888888', 'wx26112216010098765432101234567890',
                           private_pem(wechatpay_keys.merchant), '1763798400', 'N' * 32)
    assert params['paySign'] == core.sign(['wx8888888888888888', '1763798400', 'N' * 32,
                                           'prepay_id=wx26112216010098765432101234567890'])
    assert (params['signType'], params['package']) == ('RSA', 'prepay_id=wx26112216010098765432101234567890')


def test_rsa_round_trips_with_cryptography(wechatpay_keys):
    """Our verification accepts what `cryptography` signs; `cryptography` accepts what we sign."""
    message = b'1763798400\nnonce\n{"id":"x"}\n'
    headers = {'wechatpay-signature': rsa_sign(wechatpay_keys.wechat, message),
               'wechatpay-timestamp': '1763798400', 'wechatpay-nonce': 'nonce', 'wechatpay-serial': 'S'}
    sign.v3_check(headers, b'{"id":"x"}', public_pem(wechatpay_keys.wechat))
    with pytest.raises(Rejected):
        sign.v3_check(headers, b'{"id":"y"}', public_pem(wechatpay_keys.wechat))
    with pytest.raises(Rejected):
        sign.v3_check(headers, b'{"id":"x"}', public_pem(wechatpay_keys.merchant))
    header = sign.v3_authorization('POST', 'https://h/p', b'{}', '1', 'S', private_pem(wechatpay_keys.merchant), 't', 'n')
    assert rsa_verify(wechatpay_keys.merchant, b'POST\n/p\nt\nn\n{}\n', authorization_fields(header)['signature'])


def test_aes_gcm_round_trip_and_wechatpayv3_agreement():
    resource = encrypt_resource('{"out_trade_no":"o1","中文":"值"}')
    plain = crypto.decrypt_gcm(APIV3_KEY, resource['nonce'], resource['associated_data'], resource['ciphertext'])
    assert plain.decode('utf-8') == '{"out_trade_no":"o1","中文":"值"}'
    assert v3utils.aes_decrypt(resource['nonce'], resource['ciphertext'], resource['associated_data'],
                               APIV3_KEY) == plain.decode('utf-8')
    for change in ({'associated_data': 'refund'}, {'nonce': resource['nonce'][::-1]},
                   {'ciphertext': base64.b64encode(base64.b64decode(resource['ciphertext'])[:-1] + b'\0').decode()}):
        damaged = {**resource, **change}
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt_gcm(APIV3_KEY, damaged['nonce'], damaged['associated_data'], damaged['ciphertext'])
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt_gcm(APIV3_KEY[::-1], resource['nonce'], resource['associated_data'], resource['ciphertext'])


def test_refund_req_info_decrypts_like_wechatpy():
    from wechatpy.crypto import WeChatRefundCrypto
    body = refund_notification('pg1', 'rf1', key='k' * 32)
    req_info = v2_fields(body)['req_info']
    ours = xmlfields.parse(crypto.decrypt_refund_info('k' * 32, req_info), root='root')
    theirs = WeChatRefundCrypto('k' * 32).decrypt_message(body.decode(), v2_fields(body)['appid'],
                                                          v2_fields(body)['mch_id'])
    assert ours == dict(theirs)
    assert ours['out_refund_no'] == 'rf1'


def test_refund_req_info_with_standard_16_byte_pkcs7():
    """WeChat's Java side pads to 16-byte blocks (wechatpy to 32); both decrypt."""
    key = hashlib.md5(b'k' * 32).hexdigest().encode()
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(b'<root><refund_status>SUCCESS</refund_status></root>') + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    req_info = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
    assert crypto.decrypt_refund_info('k' * 32, req_info) == b'<root><refund_status>SUCCESS</refund_status></root>'
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt_refund_info('j' * 32, req_info)


def test_xml_reply_is_exactly_what_wechat_expects():
    from chalicelib.providers.wechatpay import notify_v2
    assert notify_v2.SUCCESS.body == ('<xml><return_code><![CDATA[SUCCESS]]></return_code>'
                                      '<return_msg><![CDATA[OK]]></return_msg></xml>')
    assert xmlfields.parse(xmlfields.build({'a': 'x]]>y<', 'b': '中文'}).encode()) == {'a': 'x]]>y<', 'b': '中文'}


def test_test_notifications_and_the_sandbox_are_what_wechatpayv3_accepts(wechatpay_keys):
    """The notifications the tests and the sandbox send verify and decrypt with wechatpayv3."""
    import time
    from localdev.sandbox import wechatpay as sandbox
    from tests.wechatpay_fixtures import transaction, v3_notification
    core = Core(MCH_ID, CERT_SERIAL, private_pem(wechatpay_keys.merchant), APIV3_KEY,
                public_key=public_pem(wechatpay_keys.wechat), public_key_id=PUB_KEY_ID)
    headers, body = v3_notification(transaction('pg-order-1'), wechatpay_keys.wechat, PUB_KEY_ID, int(time.time()))
    assert core.callback(headers, body)['resource']['out_trade_no'] == 'pg-order-1'
    emulator = sandbox.Emulator({sandbox.SANDBOX_KEY: private_pem(wechatpay_keys.wechat),
                                 'PAYGATE_WECHATPAY_APIV3_KEY': APIV3_KEY,
                                 'PAYGATE_WECHATPAY_PUBLIC_KEY_ID': PUB_KEY_ID}, 'http://sandbox', 'http://paygate')
    body = json.dumps({'resource_type': 'encrypt-resource',
                       'resource': emulator._encrypted({'out_trade_no': 'pg-order-2'}, 'transaction')}).encode()
    assert core.callback(emulator._signed_headers(body), body)['resource'] == {'out_trade_no': 'pg-order-2'}
    fields = {'appid': 'wx1', 'body': '金币', 'total_fee': '1', 'empty': ''}
    for sign_type in ('MD5', 'HMAC-SHA256'):
        assert sandbox.v2_sign(fields, 'k' * 32, sign_type) == v2_sign(fields, 'k' * 32, sign_type)
