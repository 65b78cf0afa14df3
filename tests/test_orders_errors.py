"""POST /orders refusals a newcomer meets: each says what is wrong and what would do, changes nothing,
and is an answer docs/openapi.yaml describes."""
import json

import pytest

from chalicelib import aws, settings
from localdev import PROJECT_ROOT
from tests.conftest import reset_caches
from tests.helpers import PUBLISHABLE, body_json
from tests.openapi_check import check_response

ORDER = {'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'}}
SAMPLE_IDS = [product['id'] for product in json.loads(
    (PROJECT_ROOT / 'chalicelib' / 'catalog.sample.json').read_text(encoding='utf-8'))]


def create(client, body, path='/orders'):
    data = body if isinstance(body, bytes) else json.dumps(body).encode('utf-8')
    return check_response('POST', path, client.http.post(path, headers=PUBLISHABLE, body=data))


def refused(response, status=400):
    assert response.status_code == status, response.body
    assert aws.client('dynamodb').scan(TableName=settings.get().table_name)['Count'] == 0
    return body_json(response)['error']


def test_an_unknown_product_lists_the_catalogs_ids(client):
    error = refused(create(client, {**ORDER, 'product_id': 'gold_6'}))
    assert (error['code'], error['field'], error['allowed']) == ('unknown_product', 'product_id', SAMPLE_IDS)
    assert error['message'] == f"unknown product 'gold_6'; the catalog has {', '.join(SAMPLE_IDS)}"


def test_a_large_catalog_is_listed_up_to_twenty_ids(client, paygate_env):
    products = [{'id': f'item_{n:02d}', 'name': f'Item {n}', 'price': 100 + n} for n in range(25)]
    paygate_env.setenv('PAYGATE_CATALOG', json.dumps(products))
    reset_caches()
    error = refused(create(client, {**ORDER, 'product_id': 'item_99'}))
    assert error['allowed'] == [f'item_{n:02d}' for n in range(20)]
    assert error['message'].endswith('item_18, item_19 and 5 more')


@pytest.mark.parametrize('provider', ['paypal', 'alipay'])
def test_a_provider_not_enabled_lists_the_enabled_ones(client, provider):
    """`alipay` is a provider Paygate has, but this stage does not enable it."""
    error = refused(create(client, {**ORDER, 'provider': provider}))
    assert (error['code'], error['field'], error['allowed']) == ('provider_not_enabled', 'provider', ['codepay'])
    assert error['message'] == f"provider '{provider}' is not enabled here; enabled: codepay"


@pytest.mark.parametrize('provider', [None, 7, ''])
def test_a_missing_provider_lists_the_enabled_ones(client, provider):
    body = {key: value for key, value in ORDER.items() if key != 'provider'}
    if provider is not None:
        body['provider'] = provider
    error = refused(create(client, body))
    assert (error['code'], error['field'], error['allowed']) == ('invalid_request', 'provider', ['codepay'])


@pytest.mark.parametrize('field', ['amount', 'price'])
def test_a_client_sent_price_is_refused_before_anything_else(client, http_mock, field):
    error = refused(create(client, {**ORDER, field: 1}))
    assert (error['code'], error['field']) == ('amount_not_allowed', field)
    assert 'prices come from the catalog' in error['message']
    assert len(http_mock.calls) == 0


def test_a_client_sent_price_is_refused_on_midas_payments_too(midas_env, client, http_mock):
    body = {'product_id': 'gold_60', 'amount': 1, 'payer': {
        'openid': 'o', 'openkey': 'k', 'pf': 'pf', 'pfkey': 'pk', 'login_type': 'qq'}}
    error = refused(create(client, body, '/midas/payments'))
    assert (error['code'], error['field']) == ('amount_not_allowed', 'amount')
    assert len(http_mock.calls) == 0


@pytest.mark.parametrize('payer, field', [
    ({}, 'payer.channel'),
    ({'channel': 'paypal'}, 'payer.channel'),
    ({'channel': 3}, 'payer.channel'),
    ({'channel': 'alipay', 'note': ['x']}, 'payer.note'),
])
def test_codepay_payer_errors_name_the_field(client, payer, field):
    error = refused(create(client, {**ORDER, 'payer': payer}))
    assert (error['code'], error['field']) == ('invalid_request', field)
    assert error['message'].startswith(field)


@pytest.mark.parametrize('payer, field', [
    ({}, 'payer.openid'),
    ({'openid': ''}, 'payer.openid'),
    ({'openid': 'o-1', 'js_code': 'c'}, 'payer.js_code'),
    ({'js_code': 'a\nb'}, 'payer.js_code'),
])
def test_wechatpay_payer_errors_name_the_field(wechatpay_env, moto_table, app_module, payer, field):
    from chalice.test import Client
    with Client(app_module.app, stage_name='test') as client:
        error = refused(create(client, {'provider': 'wechatpay', 'product_id': 'gold_60', 'payer': payer}))
    assert (error['code'], error['field']) == ('invalid_request', field)
    assert field in error['message']


@pytest.mark.parametrize('missing', ['openid', 'openkey', 'pf', 'pfkey', 'login_type'])
def test_midas_payer_errors_name_the_field(midas_env, client, missing):
    payer = {'openid': 'o', 'openkey': 'k', 'pf': 'pf', 'pfkey': 'pk', 'login_type': 'qq'}
    del payer[missing]
    error = refused(create(client, {'provider': 'midas', 'product_id': 'gold_60', 'payer': payer}))
    assert (error['code'], error['field']) == ('invalid_request', f'payer.{missing}')


def test_invalid_json_names_the_line_and_column(client):
    error = refused(create(client, b'{"provider": "codepay",\n  "product_id" "gold_60"}'))
    assert error['code'] == 'invalid_json'
    assert error['message'] == "the body is not valid JSON: Expecting ':' delimiter at line 2 column 16"
