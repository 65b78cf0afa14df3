"""OpenAPI V3 signatures: the vectors of docs/providers/midas.md#signing, Tencent's own delivery-callback example,
the callback's special value encoding, and round trips against an independent implementation."""
import pytest

from chalicelib.providers.midas import sign
from localdev.sandbox import midas as sandbox
from tests.helpers import midas_callback_sig, midas_callback_value, midas_sig

OFFICIAL = ('GET', '/v3/user/get_info', '228bf094169a40a3bd188ba37ebe8723',
            {'openid': '11111111111111111', 'openkey': '2222222222222222', 'appid': '123456',
             'pf': 'qzone', 'format': 'json', 'userip': '112.90.139.30'})
BUY_GOODS = ('GET', '/v3/r/mpay/buy_goods_m', 'SANDBOXAPPKEY0000000000000000000',
             {'openid': 'OPENID0000000000000000000000001', 'openkey': 'PAYTOKEN00000000000000000000001',
              'appid': '1450000000', 'ts': '1700000000', 'pf': 'desktop_m_qq-2001-android-2011-ysdk',
              'pfkey': 'pfkey', 'zoneid': '1', 'payitem': 'g001*60*1', 'goodsmeta': '金币*60Q点金币',
              'goodsurl': '', 'appmode': '1', 'app_metadata': 'ord_20231115_0001', 'format': 'json'})
# Tencent's worked example on wiki.open.qq.com "回调发货URL的协议说明_V3" (reproduced in the official
# C++ SDK sample and in many public integrations): GET /cgi-bin/temp.py, appkey 12345f9a..54321.
CALLBACK_KEY = '12345f9a47df4d1eaeb3bad9a7e54321'
CALLBACK_PATH = '/cgi-bin/temp.py'
CALLBACK = {'openid': 'test001', 'appid': '33758', 'ts': '1328855301', 'payitem': '323003*8*1',
            'token': '53227955F80B805B50FFB511E5AD51E025360',
            'billno': '-APPDJT18700-20120210-1428215572', 'version': 'v3', 'zoneid': '1',
            'providetype': '0', 'amt': '80', 'payamt_coins': '20', 'pubacct_payamt_coins': '10'}
CALLBACK_SIG = 'VvKwcaMqUNpKhx0XfCvOqPRiAnU='


def test_official_openapi_v3_vector():
    method, path, key, params = OFFICIAL
    assert sign.source(method, path, params) == (
        'GET&%2Fv3%2Fuser%2Fget_info&appid%3D123456%26format%3Djson%26openid%3D11111111111111111'
        '%26openkey%3D2222222222222222%26pf%3Dqzone%26userip%3D112.90.139.30')
    assert sign.sign(method, path, params, key) == 'FdJkiDYwMj5Aj1UG2RUPc83iokk='


def test_buy_goods_m_vector_keeps_the_empty_goodsurl():
    method, path, key, params = BUY_GOODS
    assert '%26goodsurl%3D%26' in sign.source(method, path, params)
    assert sign.sign(method, path, params, key) == 'uENdwBb3GzjZfY7X7yz9ksioT9E='
    assert sign.sign(method, path, {k: v for k, v in params.items() if k != 'goodsurl'}, key) \
        != 'uENdwBb3GzjZfY7X7yz9ksioT9E='


def test_the_signature_covers_the_method_the_path_and_the_key():
    method, path, key, params = BUY_GOODS
    signed = sign.sign(method, path, params, key)
    assert sign.sign('POST', path, params, key) != signed
    assert sign.sign(method, '/mpay/buy_goods_m', params, key) != signed
    assert sign.sign(method, path, params, key + 'x') != signed
    assert sign.sign('get', path, params, key) == signed


@pytest.mark.parametrize('vector', [OFFICIAL, BUY_GOODS])
def test_the_independent_helper_and_the_sandbox_reproduce_the_vectors(vector):
    method, path, key, params = vector
    assert midas_sig(method, path, params, key) == sign.sign(method, path, params, key)
    assert sandbox.make_sig(method, path, params, key) == sign.sign(method, path, params, key)


# An appkey with '-' and '_': Tencent's official PHP SDK signs with strtr($secret, '-_', '+/'), so
# the key is 'Sandbox+Midas/AppKey+0000/00000000&'. Vectors computed with the Java-style helper in
# tests/helpers.py given that transformed key.
URLSAFE_KEY = 'Sandbox-Midas_AppKey-0000_00000000'


def test_an_appkey_with_dash_and_underscore_is_mapped_as_the_php_sdk_does():
    method, path, _, params = BUY_GOODS
    assert sign.hmac_key(URLSAFE_KEY) == b'Sandbox+Midas/AppKey+0000/00000000&'
    assert sign.sign(method, path, params, URLSAFE_KEY) == '9aix1R8OprRI93aB5LLsMkrDVgU='
    assert sign.sign(method, path, params, URLSAFE_KEY) != midas_sig(method, path, params, URLSAFE_KEY)
    assert sandbox.make_sig(method, path, params, URLSAFE_KEY) == '9aix1R8OprRI93aB5LLsMkrDVgU='
    assert sign.callback_sign('GET', CALLBACK_PATH, CALLBACK, URLSAFE_KEY) == 'puOuIoeTQfpjyrUV4apCGMuN6ps='
    assert sandbox.callback_sig(CALLBACK_PATH, CALLBACK, URLSAFE_KEY) == 'puOuIoeTQfpjyrUV4apCGMuN6ps='


def test_tilde_is_encoded_like_php():
    assert sign.encode('a~b c*d/é') == 'a%7Eb%20c%2Ad%2F%C3%A9'
    params = {'openid': 'x~y', 'z': 'a b'}
    assert sign.sign('GET', '/v3/r/p', params, 'k') == midas_sig('GET', '/v3/r/p', params, 'k')


def test_tencents_delivery_callback_example():
    assert sign.source('GET', CALLBACK_PATH, {k: sign.callback_value(v) for k, v in CALLBACK.items()}) == (
        'GET&%2Fcgi-bin%2Ftemp.py&amt%3D80%26appid%3D33758%26billno%3D%252DAPPDJT18700%252D20120210'
        '%252D1428215572%26openid%3Dtest001%26payamt_coins%3D20%26payitem%3D323003%2A8%2A1'
        '%26providetype%3D0%26pubacct_payamt_coins%3D10%26token%3D53227955F80B805B50FFB511E5AD51E025360'
        '%26ts%3D1328855301%26version%3Dv3%26zoneid%3D1')
    assert sign.callback_sign('GET', CALLBACK_PATH, CALLBACK, CALLBACK_KEY) == CALLBACK_SIG
    assert midas_callback_sig(CALLBACK_PATH, CALLBACK, CALLBACK_KEY) == CALLBACK_SIG
    assert sandbox.callback_sig(CALLBACK_PATH, CALLBACK, CALLBACK_KEY) == CALLBACK_SIG


def test_without_the_special_encoding_the_example_does_not_verify():
    assert sign.sign('GET', CALLBACK_PATH, CALLBACK, CALLBACK_KEY) != CALLBACK_SIG


@pytest.mark.parametrize('value, encoded', [
    ('-', '%2D'), ('_', '%5F'), ('.', '%2E'), ('*', '*'), (' ', '%20'), ('%', '%25'),
    ('!()', '!()'), ('~', '%7E'), ('+', '%2B'), ('/', '%2F'), ('=', '%3D'), ('&', '%26'),
    ('金币', '%E9%87%91%E5%B8%81'), ('aZ09', 'aZ09'), ('', ''),
    ('-APPDJT18700-2012', '%2DAPPDJT18700%2D2012'), ('id106*2880*1', 'id106*2880*1'),
    ('10000189 0132', '10000189%200132'), ('ord_1*qdqb*qq', 'ord%5F1*qdqb*qq'), ('é', '%C3%A9'),
])
def test_callback_value_encoding(value, encoded):
    assert sign.callback_value(value) == encoded
    assert midas_callback_value(value) == encoded
    assert sandbox.encode_value(value) == encoded


def test_callback_round_trip_with_empty_unknown_and_non_ascii_values():
    params = {**CALLBACK, 'pubacct_payamt_coins': '', 'appmeta': 'pg2025*qdqb*qq', 'cftid': '1000 018%',
              'zoneid': '1_角色.7', 'ebazinga': '', 'new_field-2': 'x~y'}
    signed = sign.callback_sign('GET', '/notify/midas', params, CALLBACK_KEY)
    assert signed == midas_callback_sig('/notify/midas', params, CALLBACK_KEY)
    assert sign.callback_sign('GET', '/notify/midas', {k: v for k, v in params.items() if k != 'ebazinga'},
                              CALLBACK_KEY) != signed
    assert sign.callback_sign('GET', '/api/notify/midas', params, CALLBACK_KEY) != signed
