"""Gateway answers: the signed `*_response` text is taken exactly as received, then verified."""
import json

import pytest

from chalicelib.errors import ProviderError
from chalicelib.providers.alipay import responses
from tests import alipay_sdk

QUERY = 'alipay.trade.query'

# Braces and quotes inside strings, escapes, nesting, unusual spacing and \u escapes:
# any re-serialisation would change these bytes and break the signature.
TRICKY = ('{ "code":"10000","msg":"Success","sub_msg":"a } b { \\"}\\" \\\\",'
          '"out_trade_no":"pg-1","fund_bill_list":[{"amount":"6.00","fundChannel":"ALIPAYACCOUNT"}],'
          '"nested":{"deeper":{"x":"}}}"}},"subject":"\\u91d1\\u5e01 }","total_amount":"6.00" }')


def test_nested_braces_and_escaped_quotes_are_cut_out_exactly(alipay_keys):
    text = alipay_sdk.answer(QUERY, TRICKY, alipay_keys.alipay)
    assert responses.raw_members(text)['alipay_trade_query_response'] == TRICKY
    answer = responses.verified(text, QUERY, alipay_keys.alipay.public_pem)
    assert answer.ok and answer.data['sub_msg'] == 'a } b { "}" \\'
    assert answer.data['nested'] == {'deeper': {'x': '}}}'}}
    assert answer.data['subject'] == '金币 }'


def test_the_node_name_inside_a_string_does_not_fool_the_cut(alipay_keys):
    inner = '{"code":"10000","msg":"\\"alipay_trade_query_response\\":{\\"code\\":\\"10000\\"}"}'
    text = '{"note":"alipay_trade_query_response {","alipay_trade_query_response":' + inner + \
        f',"sign":"{alipay_keys.alipay.sign(inner)}"}}'
    assert responses.verified(text, QUERY, alipay_keys.alipay.public_pem).data['msg'].startswith('"alipay')


def test_python_alipay_sdk_cuts_plain_answers_the_same_way(alipay_keys):
    from alipay import AliPay
    sdk = AliPay(appid='1', app_private_key_string=alipay_keys.app.private_pem,
                 alipay_public_key_string=alipay_keys.alipay.public_pem)
    plain = '{"code":"10000","msg":"Success","out_trade_no":"pg-1","trade_status":"TRADE_SUCCESS"}'
    text = alipay_sdk.answer(QUERY, plain, alipay_keys.alipay)
    assert sdk._verify_and_return_sync_response(text, 'alipay_trade_query_response') == json.loads(plain)
    assert responses.verified(text, QUERY, alipay_keys.alipay.public_pem).data == json.loads(plain)


@pytest.mark.parametrize('mangle', [
    lambda inner: inner.replace('"6.00"', '"0.01"'),          # a value changed
    lambda inner: json.dumps(json.loads(inner)),               # re-serialised: same data, other bytes
    lambda inner: inner.replace('}', ' }', 1),                 # whitespace added
])
def test_any_change_to_the_signed_text_is_refused(alipay_keys, mangle):
    text = alipay_sdk.answer(QUERY, TRICKY, alipay_keys.alipay)
    changed = text.replace(TRICKY, mangle(TRICKY))
    with pytest.raises(ProviderError) as refused:
        responses.verified(changed, QUERY, alipay_keys.alipay.public_pem)
    assert refused.value.retryable and refused.value.code == 'signature'


def test_signed_by_another_key_is_refused(alipay_keys):
    text = alipay_sdk.answer(QUERY, TRICKY, alipay_keys.app)
    with pytest.raises(ProviderError, match='signature'):
        responses.verified(text, QUERY, alipay_keys.alipay.public_pem)


def test_unsigned_answers_are_never_trusted(alipay_keys):
    text = '{"alipay_trade_query_response":{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS"}}'
    with pytest.raises(ProviderError, match='unsigned') as refused:
        responses.verified(text, QUERY, alipay_keys.alipay.public_pem)
    assert refused.value.retryable
    error = '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"},"sign":""}'
    with pytest.raises(ProviderError, match='unsigned') as refused:
        responses.verified(error, QUERY, alipay_keys.alipay.public_pem)
    assert refused.value.code == 'isv.invalid-app-id'


def test_signed_error_response_is_read(alipay_keys):
    inner = '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}'
    text = '{"error_response":' + inner + f',"sign":"{alipay_keys.alipay.sign(inner)}"}}'
    answer = responses.verified(text, QUERY, alipay_keys.alipay.public_pem)
    assert (answer.ok, answer.code, answer.sub_code) == (False, '40002', 'isv.invalid-signature')
    failure = answer.failure()
    assert not failure.retryable and failure.code == 'isv.invalid-signature'


@pytest.mark.parametrize('code, sub_code, retryable', [
    ('20000', 'isp.unknow-error', True), ('40004', 'ACQ.SYSTEM_ERROR', True),
    ('40004', 'ACQ.TRADE_STATUS_ERROR', False), ('40004', 'ACQ.SELLER_BALANCE_NOT_ENOUGH', False),
])
def test_which_failures_are_retried(alipay_keys, code, sub_code, retryable):
    text = alipay_sdk.answer_json(QUERY, {'code': code, 'msg': 'x', 'sub_code': sub_code}, alipay_keys.alipay)
    assert responses.verified(text, QUERY, alipay_keys.alipay.public_pem).failure().retryable is retryable


@pytest.mark.parametrize('text', [
    '', 'not json', '[]', '{"alipay_trade_query_response":"x","sign":"c2ln"}',
    '{"alipay_trade_close_response":{"code":"10000"},"sign":"c2ln"}',
    '{"alipay_trade_query_response":{"code":"10000"},"sign":"c2ln"} trailing',
    '{"alipay_trade_query_response":{"code":"10000"},"alipay_trade_query_response":{"code":"1"},"sign":"c2ln"}',
    '{"alipay_trade_query_response":{"code":"10000"', '<html>502 Bad Gateway</html>',
])
def test_unreadable_answers_are_retryable_errors(alipay_keys, text):
    with pytest.raises(ProviderError) as refused:
        responses.verified(text, QUERY, alipay_keys.alipay.public_pem)
    assert refused.value.retryable


def test_certificate_mode_checks_the_answers_certificate_sn(alipay_keys):
    text = alipay_sdk.answer(QUERY, TRICKY, alipay_keys.alipay, cert_sn='a' * 32)
    assert responses.verified(text, QUERY, alipay_keys.alipay.public_pem, cert_sn='a' * 32).ok
    with pytest.raises(ProviderError, match='certificate') as refused:
        responses.verified(text, QUERY, alipay_keys.alipay.public_pem, cert_sn='b' * 32)
    assert refused.value.code == 'cert_sn'
