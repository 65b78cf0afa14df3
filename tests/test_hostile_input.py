"""Hostile input that once produced a 500: each case answers a clear 4xx and changes nothing."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib.webhooks import signature
from tests import alipay_fixtures, alipay_sdk, fakepay, table
from tests.alipay_fixtures import ORDER as ALIPAY_ORDER
from tests.cloudmarket_fixtures import deliver, frozen  # noqa: F401 (fixture)
from tests.helpers import FORM, JSON, PUBLISHABLE, SECRET, body_json, post_json, served, table_items
from tests.test_alipay_api import refund_answer
from tests.test_refunds_and_close import fake_provider, make_order  # noqa: F401 (fixture)
from tests.wechatpay_fixtures import PUB_KEY_ID, transaction, v3_notification

LONG_ID = 'ord_' + 'x' * 3000
SURROGATE = b'"\\ud800"'
WAIT = 10           # seconds a held request waits for the other before going on regardless


@pytest.fixture
def local_client(local_table, app_module):
    """The route client over DynamoDB Local, for what moto does not check as DynamoDB does."""
    from chalice.test import Client
    with Client(app_module.app, stage_name='test') as client:
        yield client


def post_raw(client, path, raw, headers=PUBLISHABLE):
    return client.http.post(path, headers=headers, body=raw)


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.body
    error = body_json(response)['error']
    assert code is None or error['code'] == code
    assert field is None or error.get('field') == field


def test_a_v3_timestamp_of_unicode_digits_is_refused(client, wechatpay_env, wechatpay_keys):
    for stamp in ('²', '1' * 5000):
        headers, body = v3_notification(transaction('pg0000000000001'), wechatpay_keys.wechat, PUB_KEY_ID,
                                        int(time.time()))
        response = client.http.post('/notify/wechatpay/v3', headers={**headers, 'Wechatpay-Timestamp': stamp},
                                    body=body)
        assert response.status_code == 400
        assert body_json(response)['code'] == 'FAIL'


@pytest.mark.parametrize('declared', ['GBK', 'nonsense', 'UTF-16'])
def test_v2_xml_in_an_encoding_the_parser_cannot_read_is_refused(client, wechatpay_env, declared):
    wechatpay_env(version='v2')
    body = f'<?xml version="1.0" encoding="{declared}"?><xml/>'.encode('ascii')
    response = client.http.post('/notify/wechatpay', headers={'Content-Type': 'text/xml'}, body=body)
    assert response.status_code == 400
    assert response.body.startswith(b'<xml><return_code><![CDATA[FAIL]]></return_code>')
    assert table_items('EVENT#') == []


@pytest.mark.parametrize('provider', [[], {}, 1, True])
def test_a_provider_that_is_not_a_string_is_refused(client, provider):
    response = post_json(client, '/orders', {'provider': provider, 'product_id': 'gold_60'})
    assert_error(response, 400, 'invalid_request', 'provider')


@pytest.mark.parametrize('path, raw, headers', [
    ('/orders', b'{"provider": "codepay", "product_id": "gold_60", "payer": {"channel": "alipay"},'
                b' "metadata": {"k": ' + SURROGATE + b'}}', PUBLISHABLE),
    ('/orders', b'{"provider": ' + SURROGATE + b'}', PUBLISHABLE),
    ('/orders', b'{' + SURROGATE + b': 1}', PUBLISHABLE),
    ('/midas/payments', b'{"product_id": "gold_60", "payer": {"openid": ' + SURROGATE + b'}}', PUBLISHABLE),
    ('/midas/presents', b'{"coins": 1, "payer": {"openid": ' + SURROGATE + b'}}', SECRET),
])
def test_a_lone_surrogate_in_json_is_refused(client, midas_env, path, raw, headers):
    response = post_raw(client, path, raw, headers)
    assert_error(response, 400, 'invalid_json')
    assert 'surrogate' in body_json(response)['error']['message']
    assert table_items('ORDER#') == []


def test_a_lone_surrogate_in_a_marketplace_delivery_is_refused(client, frozen):
    response = deliver(client, None, raw=b'{"action": "verifyInterface", "echoback": ' + SURROGATE + b'}')
    assert_error(response, 400, 'invalid_json')


def test_a_refund_reason_with_a_lone_surrogate_reserves_nothing(client):
    order = make_order()
    raw = b'{"amount": 100, "refund_no": "refund-surrogate", "reason": ' + SURROGATE + b'}'
    response = post_raw(client, f'/orders/{order["order_id"]}/refunds', raw, SECRET)
    assert_error(response, 400, 'invalid_json')
    stored = table.order(order['order_id'])
    assert stored['refund_pending_amount'] == 0
    assert table.refund(order['order_id'], 'refund-surrogate') is None
    assert fakepay.calls == []


def test_an_alipay_refund_reason_with_a_lone_surrogate_reserves_nothing_and_a_valid_retry_refunds(
        alipay_env, local_client, http_mock):
    """Alipay signs the refund's reason: a surrogate there once raised in the signing after the
    refund was reserved, leaving it PENDING and its amount held, every retry another 500. On
    DynamoDB Local, which stores the surrogate as DynamoDB did (moto refuses it, and the reserve
    with it, so the signing is never reached)."""
    order = body_json(post_json(local_client, '/orders', ALIPAY_ORDER))
    paid = local_client.http.post('/notify/alipay', headers=FORM,
                                  body=alipay_sdk.form_body(alipay_fixtures.signed(alipay_env, order)))
    assert paid.body == b'success'
    path = f'/orders/{order["order_id"]}/refunds'
    raw = b'{"amount": 200, "refund_no": "refund-surrogate", "reason": ' + SURROGATE + b'}'
    assert_error(post_raw(local_client, path, raw, SECRET), 400, 'invalid_json')
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored.get('refund_pending_amount', 0)) == (0, 0)
    assert table.refund(order['order_id'], 'refund-surrogate') is None
    calls = []
    alipay_fixtures.expect_gateway(http_mock, alipay_env, {'alipay.trade.refund': refund_answer(order)}, calls)
    retried = post_json(local_client, path, {'amount': 200, 'refund_no': 'refund-surrogate', 'reason': '退一件'},
                        SECRET)
    assert retried.status_code == 200 and body_json(retried)['status'] == 'SUCCEEDED', retried.body
    [call] = calls
    assert call['biz']['out_request_no'] == 'refund-surrogate' and call['biz']['refund_reason'] == '退一件'
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored['refund_pending_amount']) == (200, 0)


@pytest.mark.parametrize('raw, where', [
    (b'{"a": NaN}', 'NaN'), (b'{"a": 1e999}', 'out of range'), (b'{"a": }', 'line 1 column 7'),
])
def test_json_that_python_would_accept_or_that_is_broken_says_why(client, raw, where):
    response = post_raw(client, '/orders', raw)
    assert_error(response, 400, 'invalid_json')
    assert where in body_json(response)['error']['message']


def test_an_empty_metadata_key_is_refused(client):
    response = post_json(client, '/orders', {'provider': 'codepay', 'product_id': 'gold_60',
                                             'payer': {'channel': 'alipay'}, 'metadata': {'': 'v'}})
    assert_error(response, 400, 'invalid_request', 'metadata')


@pytest.mark.parametrize('method, path, headers', [
    ('GET', f'/orders/{LONG_ID}', PUBLISHABLE),
    ('POST', f'/orders/{LONG_ID}/close', SECRET),
    ('POST', f'/orders/{LONG_ID}/refunds', SECRET),
    ('GET', '/instances/cm' + 'x' * 3000, SECRET),
])
def test_a_path_id_too_long_to_be_ours_is_not_found(local_client, method, path, headers):
    """DynamoDB refuses keys over 2,048 bytes (moto does not check: DynamoDB Local does)."""
    body = b'{"amount": 1}' if method == 'POST' else None
    response = local_client.http.request(method, path, headers=headers, body=body)
    assert_error(response, 404, 'not_found')


@pytest.mark.parametrize('limit', ['²', '٣', '1' * 5000, '0', '101', '-1'])
def test_an_events_limit_that_is_not_a_small_ascii_number_is_refused(client, limit):
    response = client.http.get(f'/events?limit={limit}', headers=SECRET)
    assert_error(response, 400, 'invalid_request', 'limit')


def test_a_refund_refused_to_two_requests_at_once_is_a_refusal_for_both(moto_table, app_module, monkeypatch):
    """Defect 8, its interleaving forced: two requests of one refund_no find the refund PENDING and
    ask the provider, which refuses; the second hears the refusal only once the first has marked
    the refund FAILED, so its own write to FAILED finds it done."""
    fakepay.behaviour['refund'] = 'refused'
    first_asked, second_asked, first_answered = threading.Event(), threading.Event(), threading.Event()

    def hold():
        if not first_asked.is_set():
            first_asked.set()
            second_asked.wait(WAIT)
        else:
            second_asked.set()
            first_answered.wait(WAIT)

    monkeypatch.setitem(fakepay.behaviour, 'before_refund_answer', hold)
    order = make_order()
    url_path, raw = f'/orders/{order["order_id"]}/refunds', b'{"amount": 100, "refund_no": "refund-refused"}'
    with served() as url, ThreadPoolExecutor(max_workers=2) as pool:
        def post():
            return requests.post(url + url_path, data=raw, headers=SECRET, timeout=30)
        first = pool.submit(post)
        first_asked.wait(WAIT)
        second = pool.submit(post)
        answers = [first.result()]
        first_answered.set()
        answers.append(second.result())
    assert len([call for call in fakepay.calls if call[0] == 'refund']) == 2
    for answer in answers:
        assert answer.status_code == 502 and answer.json()['error']['code'] == 'provider_error', answer.text
    stored = table.order(order['order_id'])
    assert stored['refund_pending_amount'] == 0 and stored['refunded_amount'] == 0
    assert table.refund(order['order_id'], 'refund-refused')['refund_status'] == 'FAILED'


@pytest.mark.parametrize('header', ['t=²,v1=00', 't=' + '9' * 5000 + ',v1=00', 't=,v1=', 't=1.5,v1=00'])
def test_the_merchants_signature_check_says_false_for_any_header(header):
    assert signature.verify(b'{}', header, 'whsec_x', now=1) is False


def test_form_and_json_routes_keep_their_content_types(client):
    """The strict JSON reader is not applied to provider forms."""
    response = client.http.post('/notify/codepay', headers=FORM, body=b'pay_id=%ED%A0%80')
    assert response.status_code == 400 and response.body == b'fail'
    response = post_raw(client, '/orders', b'{}', JSON)
    assert_error(response, 401)
