"""The Cloud Marketplace sandbox drives a real Paygate server through every action and a login."""
import os

import pytest
import requests

from chalicelib import settings
from localdev.ports import free_port
from localdev.sandbox import Sandbox
from localdev.server import BackgroundServer, create_server
from tests.cloudmarket_fixtures import php_signature
from tests.conftest import CLOUDMARKET_TOKEN, SK


@pytest.fixture
def running(moto_table, http_mock, app_module, paygate_env):
    """Paygate on a real port, and the sandbox (marketplace + merchant website) beside it."""
    port, sandbox_port = free_port(), free_port()
    paygate_url = f'http://127.0.0.1:{port}'
    paygate_env.setenv('PAYGATE_PUBLIC_URL', paygate_url)
    paygate_env.setenv('PAYGATE_CLOUDMARKET_WEBSITE', f'http://127.0.0.1:{sandbox_port}/cloudmarket/merchant')
    settings.reset()
    with BackgroundServer(create_server('test', '127.0.0.1', port)) as paygate, \
            Sandbox(dict(os.environ), sandbox_port, paygate_url) as sandbox:
        yield paygate, sandbox


def send(sandbox, action, **overrides):
    reply = requests.post(f'{sandbox.base_url}/cloudmarket/send/{action}', json=overrides, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_every_action_and_a_login_through_the_sandbox(running):
    paygate, sandbox = running
    verified = send(sandbox, 'verifyInterface')
    assert verified['paygate_answer'] == {'echoback': verified['sent']['echoback']}
    query = verified['query']
    assert query['signature'] == php_signature(CLOUDMARKET_TOKEN, query['timestamp'], query['eventId'])

    created = send(sandbox, 'createInstance', productInfo={'isTrial': True, 'timeSpan': 7, 'timeUnit': 'd'})
    assert created['paygate_status'] == 200
    sign_id = created['paygate_answer']['signId']
    assert created['paygate_answer']['appInfo']['authUrl'].startswith(f'{paygate.url}/cloudmarket/login/')

    login = requests.get(f'{sandbox.base_url}/cloudmarket/open/{sign_id}', timeout=10)
    assert [r.status_code for r in login.history] == [302, 302]
    assert login.json() == {'logged_in': True, 'signId': sign_id}

    for action in ('modifyInstance', 'renewInstance', 'expireInstance'):
        done = send(sandbox, action)
        assert (done['paygate_status'], done['paygate_answer']) == (200, {'success': 'true'}), action
        assert done['sent']['signId'] == sign_id
    refused = requests.get(f'{sandbox.base_url}/cloudmarket/open/{sign_id}', timeout=10)
    assert refused.status_code == 403 and refused.json()['error']['code'] == 'instance_expired'

    assert send(sandbox, 'destroyInstance')['paygate_answer'] == {'success': 'true'}
    shown = requests.get(f'{paygate.url}/instances/{sign_id}', timeout=10,
                         headers={'Authorization': f'Bearer {SK}'}).json()
    assert shown['status'] == 'DESTROYED' and shown['trial'] is False


def test_the_sandbox_reports_paygate_refusals(running):
    _, sandbox = running
    unknown = send(sandbox, 'renewInstance', signId='cm-unknown')
    assert unknown['paygate_status'] == 404
    assert unknown['paygate_answer']['error']['code'] == 'not_found'
    assert requests.post(f'{sandbox.base_url}/cloudmarket/send/nothing', timeout=10).status_code == 404
    assert 'createInstance' in requests.get(f'{sandbox.base_url}/cloudmarket', timeout=10).text


def test_the_merchant_page_refuses_a_forged_assertion(running):
    _, sandbox = running
    forged = requests.get(f'{sandbox.base_url}/cloudmarket/merchant', timeout=10,
                          params={'signId': 'cm-x', 'expires': '9999999999', 'signature': '0' * 64})
    assert forged.status_code == 403 and forged.json()['logged_in'] is False
