"""Each function's role, checked against the AWS calls its code really makes.

The scenarios run each function's code paths under moto and record every call
the app makes through its boto3 clients (botocore's before-parameter-build event), as the
IAM action and resource the call needs: TransactWriteItems needs PutItem,
UpdateItem or DeleteItem per item, a Query on an index needs that index. The
secrets and the catalog are SSM references, as deployed, and each function
starts with nothing resolved, as a new container does. Every recorded call
must be granted by the function's generated policy, and everything the policy
grants must be used by some scenario, so no permission is there for nothing.
(The queue trigger's receive and delete are made by Lambda, not by our code;
logs by the runtime.)
"""
import json
import os
from datetime import timedelta

import pytest

from chalicelib import aws, catalog, clock, compensation, providers, settings, store
from chalicelib.webhooks import worker
from deploy import plan, policy
from localdev import PROJECT_ROOT
from tests import fakepay
from tests.codepay_fixtures import expect_create
from tests.conftest import CODEPAY_KEY, PK, SK
from tests.helpers import FORM, PUBLISHABLE, SECRET, body_json, codepay_notification, form_body, post_json
from tests.test_deploy_template import resource_token

HOOK = 'https://merchant.test/paygate'
RUNTIME_ONLY = {'logs:CreateLogStream', 'logs:PutLogEvents',
                'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'}
TRANSACT_ACTIONS = {'Put': 'PutItem', 'Update': 'UpdateItem', 'Delete': 'DeleteItem',
                    'ConditionCheck': 'ConditionCheckItem'}


class Recorder:
    """The (action, resource) pairs each function's code needed, while it ran."""

    def __init__(self):
        self.current = None
        self.needed = {}

    def __call__(self, model, params, **kwargs):
        if self.current:
            service = model.service_model.endpoint_prefix
            self.needed.setdefault(self.current, set()).update(needs(service, model.name, params))

    def running(self, function):
        """Record while `function`'s code runs, from a cold start (nothing resolved yet)."""
        recorder = self

        class Running:
            def __enter__(self):
                settings.reset()
                catalog.reset()
                recorder.current = function

            def __exit__(self, *exc):
                recorder.current = None
        return Running()


def needs(service, operation, params):
    if service == 'dynamodb':
        if operation == 'TransactWriteItems':
            return {(f'dynamodb:{TRANSACT_ACTIONS[kind]}', 'table')
                    for item in params['TransactItems'] for kind in item}
        if operation == 'Query':
            return {('dynamodb:Query', f'index/{params["IndexName"]}' if 'IndexName' in params else 'table')}
        return {(f'dynamodb:{operation}', 'table')}
    if service == 'sqs':
        return {(f'sqs:{operation}', 'webhook-queue')}
    if service == 'ssm':
        return {(f'ssm:{operation}', 'ssm:parameter/' + params['Name'].lstrip('/'))}
    return {(f'{service}:{operation}', 'unexpected')}


@pytest.fixture
def recorder(client, paygate_env, monkeypatch):
    url = aws.client('sqs').create_queue(QueueName='paygate-test-webhooks')['QueueUrl']
    paygate_env.setenv('PAYGATE_WEBHOOK_QUEUE_URL', url)
    for name, (path, value) in {
            'PAYGATE_PUBLISHABLE_KEYS': ('/paygate/test/publishable-keys', PK),
            'PAYGATE_SECRET_KEYS': ('/paygate/test/secret-keys', SK),
            'PAYGATE_CATALOG': ('/paygate/test/catalog', (PROJECT_ROOT / 'chalicelib' / 'catalog.sample.json').read_text()),
            'PAYGATE_WEBHOOKS': ('/paygate/test/webhooks',
                                 json.dumps([{'id': 'main', 'url': HOOK, 'secrets': ['whsec_1']}])),
            'PAYGATE_CODEPAY_KEY': ('/paygate/test/codepay/key', CODEPAY_KEY)}.items():
        aws.client('ssm').put_parameter(Name=path, Value=value, Type='SecureString')
        paygate_env.setenv(name, f'ssm:{path}')
    monkeypatch.setitem(providers.MODULES, 'fakepay', 'tests.fakepay')
    fakepay.calls.clear()
    fakepay.query_answer.clear()
    fakepay.behaviour.update(refund='succeeded', close='ok')
    record = Recorder()
    for service in ('dynamodb', 'sqs', 'ssm'):
        aws.client(service).meta.events.register('before-parameter-build.*.*', record)
    return record


def fake_order(out_trade_no, paid=False):
    """A fakepay order stored directly (a provider with close, refund and query)."""
    now = clock.now()
    order = {'order_id': f'ord_{out_trade_no}', 'out_trade_no': out_trade_no, 'provider': 'fakepay',
             'product_id': 'gold_60', 'quantity': 1, 'amount': 600, 'currency': 'CNY',
             'status': 'CREATED', 'created_at': clock.rfc3339(now),
             'expires_at': clock.rfc3339(now + timedelta(minutes=30)), 'payer': {}, 'metadata': {},
             'client_params': {'x': '1'}, 'refunded_amount': 0, 'refund_pending_amount': 0,
             'version': 1, 'work_pk': 'OPEN_ORDER', 'work_at': clock.rfc3339(now)}
    store.insert_order(order, 'hash')
    if paid:
        store.commit_change(order['order_id'], 1, {'status': 'PAID', 'work_pk': None, 'work_at': None})
    return order['order_id']


def run_scenarios(client, http_mock, recorder):
    create = {'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'}}
    expect_create(http_mock, status=-1)
    expect_create(http_mock)
    with recorder.running('orders'):
        assert post_json(client, '/orders', create).status_code == 502     # refused: deleted again
        created = body_json(post_json(client, '/orders', {**create, 'out_trade_no': 'perm-1'}))
        assert post_json(client, '/orders', {**create, 'out_trade_no': 'perm-1'}).status_code == 200
        assert client.http.get(f'/orders/{created["order_id"]}', headers=PUBLISHABLE).status_code == 200
        assert client.http.get(f'/orders/{created["order_id"]}', headers=SECRET).status_code == 200

    with recorder.running('notify_codepay'):
        paid = codepay_notification('perm-1')
        for fields in (paid, paid, {**paid, 'money': '0.01'}):
            client.http.post('/notify/codepay', headers=FORM, body=form_body(fields))
    assert store.get_order(created['order_id'])['status'] == 'PAID'

    open_id, paid_id = fake_order('perm-open'), fake_order('perm-paid', paid=True)
    with recorder.running('admin'):
        assert client.http.get('/events', headers=PUBLISHABLE).status_code == 403
        assert client.http.post(f'/orders/{open_id}/close', headers=SECRET).status_code == 200
        assert post_json(client, f'/orders/{paid_id}/refunds', {'amount': 100}, SECRET).status_code == 200
        listed = body_json(client.http.get('/events', headers=SECRET))['data']
        assert client.http.get(f'/events?order_id={paid_id}', headers=SECRET).status_code == 200
        assert client.http.get(f'/events/{listed[0]["id"]}', headers=SECRET).status_code == 200
        assert client.http.post(f'/events/{listed[0]["id"]}/resend', headers=SECRET).status_code == 202

    http_mock.add('POST', HOOK, status=500)
    with recorder.running('deliver_webhooks'):
        assert worker.handle_message(json.dumps({'event_id': listed[0]['id'], 'endpoint_id': 'main'}))
    with recorder.running('sweep_webhooks'):
        assert worker.sweep(clock.now() + timedelta(hours=1)) > 0

    fakepay.query_answer['perm-query'] = 'FT-1'
    fake_order('perm-query'), fake_order('perm-expired')
    with recorder.running('compensate'):
        settings.get().providers.setdefault('fakepay', None)
        done = compensation.run(clock.now() + timedelta(hours=1))
    assert (done['paid'], done['closed']) == (1, 1)       # perm-query paid, perm-expired closed


def granted(function):
    env = {name: value for name, value in os.environ.items() if name.startswith('PAYGATE_')}
    stage = plan.Stage('paygate', 'test', env, 'python3.11', 'x86_64', 'PassThrough', {})
    return {(action, resource_token(resource))
            for statement in policy.document(function, stage)['Statement']
            for action in statement['Action'] for resource in statement['Resource']}


def test_every_call_is_granted_and_every_grant_is_used(client, http_mock, recorder, app_module):
    run_scenarios(client, http_mock, recorder)
    functions = {f.name: f for f in plan.build(app_module.app)}
    assert set(recorder.needed) <= set(functions)
    for name, needed in recorder.needed.items():
        allowed = granted(functions[name])
        assert needed <= allowed, (name, needed - allowed)
        assert {(a, r) for a, r in allowed if a not in RUNTIME_ONLY} == needed, name
