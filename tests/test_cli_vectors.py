"""The CLI's provider signers against the protocol reference's vectors and independent
implementations, so that the CLI and the gateway cannot agree on a shared mistake."""
import hashlib
import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import xmltodict
from cryptography.hazmat.primitives import serialization
from wechatpy.crypto import WeChatRefundCrypto
from wechatpayv3.utils import aes_decrypt, rsa_verify

from localdev.sandbox import midas as sandbox_midas
from paygate_cli import webhooks
from paygate_cli.signers import Options, alipay, cloudmarket, codepay, midas, wechatpay
from paygate_cli.stage import SANDBOX_ALIPAY_KEY, SANDBOX_WECHATPAY_KEY, Settings
from tests.alipay_sdk import KeyPair
from tests.wechatpay_fixtures import private_pem

NOW = datetime(2026, 11, 22, 8, 1, 2, tzinfo=timezone.utc)
ORDER = {'order_id': 'ord_vector', 'out_trade_no': 'pg20261122080102abcdef012345', 'provider': 'x',
         'amount': 600, 'quantity': 1, 'product_id': 'gold_60', 'refunded_amount': 0,
         'created_at': '2026-11-22T08:00:00Z', 'client_params': {}}


def settings(**values):
    return Settings(values, 'the test settings', '.')


def test_codepay_sign_matches_the_reference_vector():
    params = {'id': '60905', 'pay_id': '18040314555687237', 'type': '1', 'price': '0.01', 'param': '',
              'notify_url': 'https://example.com/notify', 'return_url': 'https://example.com/return',
              'page': '4', 'outTime': '360'}
    assert codepay.signed_text(params) == (
        'id=60905&notify_url=https://example.com/notify&outTime=360&page=4&pay_id=18040314555687237'
        '&price=0.01&return_url=https://example.com/return&type=1')
    assert codepay.sign(params, '5v4bRQhIB00NqjcuJPOmIGG49VMXpcPM') == '57fdbe610c7802bddabc4c1fa5ecc48c'


def test_codepay_notification_carries_price_and_the_quoted_money():
    order = {**ORDER, 'client_params': {'money': 599}}
    prepared = codepay.build(order, 'paid', settings(PAYGATE_CODEPAY_KEY='k3y'), Options(now=NOW))
    fields = dict(parse_qsl(prepared.render(prepared.fields).body.decode(), keep_blank_values=True))
    assert (fields['price'], fields['money'], fields['pay_id']) == ('6.00', '5.99', ORDER['out_trade_no'])
    unsigned = ''.join(f'{k}={fields[k]}&' for k in sorted(fields) if k != 'sign' and fields[k])[:-1]
    assert fields['sign'] == hashlib.md5(f'{unsigned}k3y'.encode()).hexdigest()


def test_alipay_signs_the_sorted_non_empty_fields_without_sign_type():
    fields = {'app_id': '2021000000000001', 'sign_type': 'RSA2', 'out_trade_no': 'T1', 'total_amount': '6.00',
              'trade_status': 'TRADE_SUCCESS', 'passback_params': '', 'notify_id': 'n1', 'subject': '金币'}
    assert alipay.signed_text(fields) == ('app_id=2021000000000001&notify_id=n1&out_trade_no=T1&subject=金币'
                                          '&total_amount=6.00&trade_status=TRADE_SUCCESS')


def test_alipay_notification_verifies_as_alipay_signed_it():
    """rsaCheckV1 written independently (tests/alipay_sdk.py, `cryptography`) over the form as sent."""
    key = KeyPair()
    config = settings(PAYGATE_ALIPAY_APP_ID='2021000000000001', **{SANDBOX_ALIPAY_KEY: key.private_pem})
    for state in ('paid', 'refunded', 'closed'):
        prepared = alipay.build(ORDER, state, config, Options(now=NOW, refund_no='rf-1'))
        sent = prepared.render(prepared.fields)
        form = dict(parse_qsl(sent.body.decode('utf-8'), keep_blank_values=True))
        content = '&'.join(f'{k}={form[k]}' for k in sorted(form) if k not in ('sign', 'sign_type') and form[k])
        assert key.verifies(content, form['sign']), state
    assert (form['trade_status'], 'refund_fee' in form) == ('TRADE_CLOSED', False)


def test_wechatpay_v2_sign_matches_the_reference_vectors():
    fields = {'appid': 'wxd930ea5d5a258f4f', 'mch_id': '10000100', 'device_info': '1000', 'body': 'test',
              'nonce_str': 'ibuaiVcKdpRxkhJA'}
    key = '192006250b4c09247ec02edce69f6a2d'
    assert wechatpay.v2_sign(fields, key) == '9A0A8659F005D6984697E2CA0A9CF3B7'
    assert wechatpay.v2_sign(fields, key, 'HMAC-SHA256') == (
        '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6')
    pay = {'appId': 'wxd678efh567hg6787', 'nonceStr': '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
           'package': 'prepay_id=wx2017033010242291fcfe0db70013231072', 'signType': 'MD5',
           'timeStamp': '1490840662'}
    assert wechatpay.v2_sign(pay, 'qazwsxedcrfvtgbyhnujmikolp111111') == '22D9B4E54AB1950F51E0649E8810ACD6'


WECHAT = {'PAYGATE_WECHATPAY_APPID': 'wx8888888888888888', 'PAYGATE_WECHATPAY_MCH_ID': '1900000109',
          'PAYGATE_WECHATPAY_KEY': 'Kx9y2PqL0aZ7mN4bV6cX1sD3fG5hJ8kL',
          'PAYGATE_WECHATPAY_APIV3_KEY': 'A3v3Key0123456789abcdefghijklmno',
          'PAYGATE_WECHATPAY_PUBLIC_KEY_ID': 'PUB_KEY_ID_0119000001092026010100000000000001'}


def test_wechatpay_v2_refund_decrypts_with_wechatpy():
    prepared = wechatpay.build({**ORDER, 'provider_trade_no': '4200001'}, 'refunded', settings(**WECHAT),
                               Options(now=NOW, version='v2', amount=200, refund_no='rf-2'))
    sent = xmltodict.parse(prepared.render(prepared.fields).body)['xml']
    info = WeChatRefundCrypto(WECHAT['PAYGATE_WECHATPAY_KEY']).decrypt_message(
        dict(sent), WECHAT['PAYGATE_WECHATPAY_APPID'], WECHAT['PAYGATE_WECHATPAY_MCH_ID'])
    assert (info['out_trade_no'], info['out_refund_no'], info['refund_fee'], info['total_fee']) == (
        ORDER['out_trade_no'], 'rf-2', '200', '600')


def test_wechatpay_v3_verifies_and_decrypts_with_wechatpayv3(wechatpay_keys):
    config = settings(**WECHAT, **{SANDBOX_WECHATPAY_KEY: private_pem(wechatpay_keys.wechat)})
    public = wechatpay_keys.wechat.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for state in ('paid', 'refunded'):
        prepared = wechatpay.build(ORDER, state, config, Options(now=NOW, version='v3', refund_no='rf-3'))
        sent = prepared.render(prepared.fields)
        headers, body = sent.headers, sent.body.decode('utf-8')
        assert rsa_verify(headers['Wechatpay-Timestamp'], headers['Wechatpay-Nonce'], body,
                          headers['Wechatpay-Signature'], serialization.load_pem_public_key(public))
        resource = json.loads(body)['resource']
        plain = json.loads(aes_decrypt(resource['nonce'], resource['ciphertext'], resource['associated_data'],
                                       WECHAT['PAYGATE_WECHATPAY_APIV3_KEY']))
        assert (plain['out_trade_no'], plain['amount']['total']) == (ORDER['out_trade_no'], 600)


def test_midas_make_sig_matches_the_reference_vectors():
    official = {'openid': '11111111111111111', 'openkey': '2222222222222222', 'appid': '123456', 'pf': 'qzone',
                'format': 'json', 'userip': '112.90.139.30'}
    assert midas.source('GET', '/v3/user/get_info', official) == (
        'GET&%2Fv3%2Fuser%2Fget_info&appid%3D123456%26format%3Djson%26openid%3D11111111111111111'
        '%26openkey%3D2222222222222222%26pf%3Dqzone%26userip%3D112.90.139.30')
    assert midas.make_sig('GET', '/v3/user/get_info', official,
                          '228bf094169a40a3bd188ba37ebe8723') == 'FdJkiDYwMj5Aj1UG2RUPc83iokk='
    buy = {'openid': 'OPENID0000000000000000000000001', 'openkey': 'PAYTOKEN00000000000000000000001',
           'appid': '1450000000', 'ts': '1700000000', 'pf': 'desktop_m_qq-2001-android-2011-ysdk',
           'pfkey': 'pfkey', 'zoneid': '1', 'payitem': 'g001*60*1', 'goodsmeta': '金币*60Q点金币', 'goodsurl': '',
           'appmode': '1', 'app_metadata': 'ord_20231115_0001', 'format': 'json'}
    assert midas.make_sig('GET', '/v3/r/mpay/buy_goods_m', buy,
                          'SANDBOXAPPKEY0000000000000000000') == 'uENdwBb3GzjZfY7X7yz9ksioT9E='
    # The official PHP SDK's strtr($secret, '-_', '+/'): HMAC key 'Sandbox+Midas/AppKey+0000/00000000&'.
    assert midas.make_sig('GET', '/v3/r/mpay/buy_goods_m', buy,
                          'Sandbox-Midas_AppKey-0000_00000000') == '9aix1R8OprRI93aB5LLsMkrDVgU='


def test_midas_callback_encoding_follows_encode_value():
    assert midas.encode_value('a-b_c.d e*(!)~金') == 'a%2Db%5Fc%2Ed%20e*(!)%7E%E9%87%91'
    params = {'openid': 'OPEN-ID_1', 'billno': '-APPDJSX1-20261122-1', 'payitem': 'g001*60*1',
              'pubacct_payamt_coins': '', 'appmeta': 'pg1*qdqb*qq', 'goodsmeta': '金币 x1'}
    assert midas.callback_sig('/notify/midas', params, 'appkey-1') == \
        sandbox_midas.callback_sig('/notify/midas', params, 'appkey-1')


def test_cloudmarket_signature_sorts_as_strings():
    assert cloudmarket.ordered('paygate-test-token', '1700000000', '123') == [
        '123', '1700000000', 'paygate-test-token']
    assert cloudmarket.signature('paygate-test-token', '1700000000', '123') == (
        'c86052ff48db62423d04df47733072168b3c0e575c5b3f63417cc29e3d3e7105')


def test_webhook_signature_vector_and_rotation():
    header = 't=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925'
    body = b'{"id":"evt_1"}'
    assert webhooks.verify(body, header, ['whsec_test'], now=1700000100)
    assert webhooks.verify(body, 't=1700000000,v1=00,' + header[13:], ['whsec_old', 'whsec_test'], now=1700000000)
    assert not webhooks.verify(body + b' ', header, ['whsec_test'], now=1700000100)
    assert not webhooks.verify(body, header, ['whsec_test'], now=1700000301)
    assert not webhooks.verify(body, header, ['whsec_other'], now=1700000100)


def test_a_tampered_v3_field_changes_the_body_but_not_the_signature(wechatpay_keys):
    config = settings(**WECHAT, **{SANDBOX_WECHATPAY_KEY: private_pem(wechatpay_keys.wechat)})
    prepared = wechatpay.build(ORDER, 'paid', config, Options(now=NOW, version='v3'))
    original = prepared.render(prepared.fields)
    headers = original.headers
    assert prepared.signed_over == (f'{headers["Wechatpay-Timestamp"]}\\n{headers["Wechatpay-Nonce"]}\\n'
                                    f'{original.body.decode()}\\n')
    changed = prepared.render({**prepared.fields, 'summary': 'x'})
    assert changed.headers['Wechatpay-Signature'] == original.headers['Wechatpay-Signature']
    assert json.loads(changed.body)['summary'] == 'x' and changed.body != original.body
