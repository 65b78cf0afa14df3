"""The fixtures the kit-driven suites share (tests/test_contract.py, tests/test_exactly_once.py).

`env` asks for a `store` fixture, which each suite defines: moto for the
contract and the faults, DynamoDB Local (a real server, real concurrency) for
exactly-once.
"""
import json

import pytest

from tests.contract_kits import KITS, Env
from tests.helpers import post_json


@pytest.fixture(params=KITS, ids=str)
def kit(request):
    return request.param


@pytest.fixture
def env(kit, every_provider_env, wechatpay_keys, alipay_keys, store, http_mock):
    env = Env(http_mock, alipay_keys, wechatpay_keys, every_provider_env)
    if kit.version:
        env.configure(PAYGATE_WECHATPAY_API_VERSION=kit.version)
    return env


@pytest.fixture
def client(env, app_module):
    from chalice.test import Client
    with Client(app_module.app, stage_name='test') as test_client:
        yield test_client


@pytest.fixture
def order(kit, env, client):
    kit.create(env)
    response = post_json(client, '/orders', {'provider': kit.name, 'product_id': 'gold_60', 'payer': kit.payer})
    assert response.status_code == 201, response.body
    created = json.loads(response.body)
    assert set(created['client_params']) == kit.client_params
    return created


def send(client, sent):
    """Send a kit's request (contract_kits.Sent) through the route client."""
    return client.http.request(sent.method, sent.path, headers=sent.headers, body=sent.body)
