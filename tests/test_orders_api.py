"""POST /orders and GET /orders/{id} through the routes, Codepay mocked at the transport."""
from datetime import datetime, timezone

import pytest

from chalicelib import clock
from tests import table
from tests.codepay_fixtures import expect_create
from tests.conftest import CODEPAY_ID
from tests.helpers import JSON, PUBLISHABLE, SECRET, body_json, codepay_sign, post_json

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
ORDER = {'provider': 'codepay', 'product_id': 'gold_60', 'quantity': 2,
         'payer': {'channel': 'wechat'}, 'metadata': {'player': 'p1'}}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, 'now', lambda: NOW)


def test_create_returns_the_qrcode_with_the_catalog_price(client, http_mock):
    calls = []
    expect_create(http_mock, calls=calls)
    response = post_json(client, '/orders', ORDER)
    assert response.status_code == 201
    order = body_json(response)
    assert order['amount'] == 1200 and order['currency'] == 'CNY' and order['status'] == 'CREATED'
    assert order['created_at'] == '2026-11-22T08:00:00Z'
    assert order['expires_at'] == '2026-11-22T08:06:00Z'
    assert order['client_params'] == {
        'qrcode': f'https://codepay.test/qr/{order["out_trade_no"]}.png', 'money': 1200,
        'pay_id': order['out_trade_no'], 'expires_at': '2026-11-22T08:06:00Z'}
    assert order['metadata'] == {'player': 'p1'}
    url, query = calls[0]
    assert query == {'id': CODEPAY_ID, 'type': '3', 'price': '12.00', 'pay_id': order['out_trade_no'],
                     'param': order['order_id'], 'notify_url': 'https://pay.test/notify/codepay',
                     'page': '4', 'outTime': '1800', 'sign': codepay_sign(query)}
    assert url.startswith('https://codepay.test/creat_order/?id=60905&type=3&price=12.00&pay_id=')
    assert 'notify_url=https%3A%2F%2Fpay.test%2Fnotify%2Fcodepay' in url


def test_created_order_is_readable_and_stored(client, http_mock):
    expect_create(http_mock)
    created = body_json(post_json(client, '/orders', ORDER))
    response = client.http.get(f'/orders/{created["order_id"]}', headers=PUBLISHABLE)
    assert response.status_code == 200
    assert body_json(response) == created
    stored = table.order(created['order_id'])
    assert stored['payer'] == {'channel': 'wechat'} and stored['version'] == 1
    assert table.order_id_of(created['out_trade_no']) == created['order_id']


def test_unknown_order_is_404(client):
    response = client.http.get('/orders/ord_nope', headers=PUBLISHABLE)
    assert response.status_code == 404
    assert body_json(response)['error']['code'] == 'not_found'


@pytest.mark.parametrize('change, field', [
    ({'provider': None}, 'provider'),
    ({'product_id': 7}, 'product_id'),
    ({'quantity': 0}, 'quantity'),
    ({'quantity': -1}, 'quantity'),
    ({'quantity': 1.5}, 'quantity'),
    ({'quantity': '2'}, 'quantity'),
    ({'quantity': True}, 'quantity'),
    ({'quantity': 1000}, 'quantity'),
    ({'out_trade_no': 'a b c d e f'}, 'out_trade_no'),
    ({'out_trade_no': 'x' * 101}, 'out_trade_no'),
    ({'out_trade_no': 'abc*def'}, 'out_trade_no'),
    ({'out_trade_no': ''}, 'out_trade_no'),
    ({'out_trade_no': 7}, 'out_trade_no'),
    ({'payer': {'channel': 'paypal'}}, 'payer.channel'),
    ({'payer': {}}, 'payer.channel'),
    ({'payer': 'alipay'}, 'payer'),
    ({'payer': {'channel': 3}}, 'payer.channel'),
    ({'client_ip': '999.1.1.1'}, 'client_ip'),
    ({'metadata': {'k': 1}}, 'metadata'),
    ({'metadata': []}, 'metadata'),
])
def test_bad_orders_get_a_400_naming_the_field_and_store_nothing(client, change, field):
    response = post_json(client, '/orders', {**ORDER, **change})
    assert response.status_code == 400
    error = body_json(response)['error']
    assert error['code'] == 'invalid_request' and error['field'] == field
    assert _table_is_empty()


PAYERS = {'codepay': {'channel': 'alipay'}, 'alipay': {}, 'wechatpay': {'openid': 'o-openid'},
          'midas': {'openid': 'o', 'openkey': 'k', 'pf': 'pf', 'pfkey': 'pk', 'login_type': 'qq'}}


@pytest.mark.parametrize('provider, out_trade_no, rule', [
    ('alipay', 'abc-123', '1-64 letters, digits or _'),
    ('alipay', 'a' * 65, '1-64 letters, digits or _'),
    ('alipay', 'abc|123', '1-64 letters, digits or _'),
    ('wechatpay', 'short', '6-32 letters, digits, _, -, | or *'),
    ('wechatpay', 'x' * 33, '6-32 letters, digits, _, -, | or *'),
    ('midas', 'abc*123', '1-64 letters, digits, _ or -'),
    ('midas', 'abc|123', '1-64 letters, digits, _ or -'),
    ('codepay', 'abc*123', '1-100 letters, digits, _ or -'),
])
def test_an_out_trade_no_the_provider_would_refuse_is_400_before_it_is_called(
        moto_table, every_provider_env, app_module, http_mock, provider, out_trade_no, rule):
    from chalice.test import Client
    with Client(app_module.app, stage_name='test') as client:
        response = post_json(client, '/orders', {'provider': provider, 'product_id': 'gold_60',
                                                 'payer': PAYERS[provider], 'out_trade_no': out_trade_no})
    assert response.status_code == 400, response.body
    error = body_json(response)['error']
    assert error['field'] == 'out_trade_no' and error['message'] == f'out_trade_no must be {rule} for {provider}'
    assert len(http_mock.calls) == 0 and _table_is_empty()


@pytest.mark.parametrize('provider, out_trade_no', [
    ('alipay', 'A_' + 'b' * 62), ('wechatpay', 'ab|c*d-e_f'), ('midas', 'm'), ('codepay', 'c' * 100),
])
def test_an_out_trade_no_the_provider_accepts_is_kept(every_provider_env, provider, out_trade_no):
    from chalicelib import providers
    assert providers.load(provider).OUT_TRADE_NO.allows(out_trade_no)


@pytest.mark.parametrize('body, headers, status', [
    (b'{"provider": "codepay"', PUBLISHABLE, 400),
    (b'\xff\xfe', PUBLISHABLE, 400),
    (b'[1, 2]', PUBLISHABLE, 400),
    (b'provider=codepay', {**PUBLISHABLE, 'Content-Type': 'application/x-www-form-urlencoded'}, 415),
    (b'{}', {'X-Api-Key': PUBLISHABLE['X-Api-Key']}, 415),
    (b'[' * 100000 + b']' * 100000, PUBLISHABLE, 413),
    (b'[' * 5000 + b']' * 5000, PUBLISHABLE, 400),
    (b'{"provider": "codepay", "metadata": {"k": "' + b'x' * 70000 + b'"}}', PUBLISHABLE, 413),
])
def test_malformed_bodies_are_4xx(client, body, headers, status):
    response = client.http.post('/orders', headers=headers, body=body)
    assert response.status_code == status
    assert 'error' in body_json(response)
    assert _table_is_empty()


def test_same_out_trade_no_and_body_returns_the_same_order(client, http_mock):
    expect_create(http_mock)
    body = {**ORDER, 'out_trade_no': 'merchant-0001'}
    first = post_json(client, '/orders', body)
    again = post_json(client, '/orders', body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert body_json(again) == body_json(first)
    assert body_json(first)['out_trade_no'] == 'merchant-0001'
    different = post_json(client, '/orders', {**body, 'quantity': 3})
    assert different.status_code == 409
    assert body_json(different)['error']['code'] == 'idempotency_conflict'


def test_idempotency_key_returns_the_same_order(client, http_mock):
    expect_create(http_mock)
    headers = {**PUBLISHABLE, 'Idempotency-Key': 'retry-7f3a'}
    first = post_json(client, '/orders', ORDER, headers)
    again = post_json(client, '/orders', ORDER, headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert body_json(again)['order_id'] == body_json(first)['order_id']
    assert post_json(client, '/orders', {**ORDER, 'quantity': 1}, headers).status_code == 409
    bad_key = post_json(client, '/orders', ORDER, {**PUBLISHABLE, 'Idempotency-Key': 'with space'})
    assert bad_key.status_code == 400


def test_provider_refusal_is_502_and_the_order_can_be_retried(client, http_mock):
    expect_create(http_mock, status=-2)
    body = {**ORDER, 'out_trade_no': 'merchant-0002'}
    refused = post_json(client, '/orders', body)
    assert refused.status_code == 502
    assert body_json(refused)['error']['code'] == 'provider_error'
    assert _table_is_empty()
    http_mock.reset()
    expect_create(http_mock)
    assert post_json(client, '/orders', body).status_code == 201


def test_provider_unreachable_is_502_and_nothing_is_kept(client, http_mock):
    import requests
    http_mock.add('GET', 'https://codepay.test/creat_order/', body=requests.ConnectionError('down'))
    response = post_json(client, '/orders', ORDER)
    assert response.status_code == 502
    assert _table_is_empty()


@pytest.mark.parametrize('headers, status', [
    (JSON, 401),
    ({**JSON, 'X-Api-Key': 'pk_wrong'}, 401),
    ({**JSON, 'X-Api-Key': 'pk_test_unit '}, 201),
    ({**JSON, 'X-Api-Key': 'pk_test_old'}, 201),
    ({**JSON, 'Authorization': 'Bearer sk_wrong'}, 401),
    ({**JSON, 'Authorization': 'Bearer pk_test_unit'}, 401),
    (SECRET, 201),
])
def test_order_creation_needs_a_valid_key(client, http_mock, headers, status):
    if status == 201:
        expect_create(http_mock)
    response = post_json(client, '/orders', ORDER, headers)
    assert response.status_code == status
    if status == 401:
        assert body_json(response)['error']['code'] == 'unauthorized'


def test_secret_routes_refuse_the_publishable_key(client):
    for path in ('/orders/ord_x/close', '/orders/ord_x/refunds'):
        assert post_json(client, path, {'amount': 1}, PUBLISHABLE).status_code == 403
        assert post_json(client, path, {'amount': 1}, JSON).status_code == 401


def test_unknown_routes_are_not_served(client):
    assert client.http.get('/admin', headers=PUBLISHABLE).status_code in (403, 404)


def _table_is_empty():
    from chalicelib import aws, settings
    return aws.client('dynamodb').scan(TableName=settings.get().table_name)['Count'] == 0
