"""Codepay signing (the docs/providers/codepay.md#signing vector) and the create request on the wire."""
from chalicelib.providers.codepay import sign as codepay
from tests.helpers import codepay_sign

VECTOR_KEY = '5v4bRQhIB00NqjcuJPOmIGG49VMXpcPM'
VECTOR = {'id': '60905', 'pay_id': '18040314555687237', 'type': '1', 'price': '0.01', 'param': '',
          'notify_url': 'https://example.com/notify', 'return_url': 'https://example.com/return',
          'page': '4', 'outTime': '360'}


def test_providers_md_vector():
    assert codepay.sign(VECTOR, VECTOR_KEY) == '57fdbe610c7802bddabc4c1fa5ecc48c'


def test_string_to_sign_skips_empty_values_and_sign():
    from chalicelib import signing
    assert signing.sorted_pairs({**VECTOR, 'sign': 'x'}) == (
        'id=60905&notify_url=https://example.com/notify&outTime=360&page=4'
        '&pay_id=18040314555687237&price=0.01&return_url=https://example.com/return&type=1')


def test_sign_verify_round_trip_and_tampering():
    fields = {'pay_id': 'order-1', 'money': '6.00', 'pay_no': 'P1', 'param': '中文 参数', 'zero': '0'}
    fields['sign'] = codepay.sign(fields, 'k1')
    assert fields['sign'] == codepay_sign(fields, 'k1')
    assert codepay.sign(fields, 'k1') == fields['sign']
    assert codepay.sign({**fields, 'money': '6.01'}, 'k1') != fields['sign']
    assert codepay.sign(fields, 'k2') != fields['sign']
    assert codepay.sign({k: v for k, v in fields.items() if k != 'zero'}, 'k1') != fields['sign']
