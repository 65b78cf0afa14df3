"""Each function's role, checked against the AWS calls its code really makes.

The scenarios drive every function's code paths under moto, through its routes
(or its handler), with every provider enabled and their APIs mocked at the
transport, and record every call the app makes through its boto3 clients
(botocore's before-parameter-build event) as the IAM action and resource the
call needs: TransactWriteItems needs PutItem, UpdateItem or DeleteItem per
item, a Query on an index needs that index. Every setting Paygate resolves is
an SSM reference, as deployed, and each function starts with nothing resolved
or cached, as a new container does. Every recorded call must be granted by the
function's generated policy, and everything the policy grants must be used by
some scenario, so no permission is there for nothing. The whole run is made
twice: Alipay with public keys, then Alipay with certificates (WeChat Pay's client
certificate as PEM both times).
(The queue trigger's receive and delete are made by Lambda, not by our code;
logs by the runtime.)
"""
import json
import os
import gzip
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import boto3
import pytest
import requests

from chalicelib import aws, catalog, clock, compensation, settings
from chalicelib.providers.bill import CHINA
from chalicelib.store import keys as key_store
from chalicelib.webhooks import worker
from deploy import plan, policy
from tests import alipay_sdk, table
from tests.alipay_fixtures import APP_ID, GATEWAY, SELLER_ID, TRADE_NO, expect_gateway, signed
from tests.bill_fixtures import alipay_texts, alipay_zip, bill_file, downloadbill, hashed, tradebill, wechat_text
from tests.certs import ca_name, issued_certificate
from tests.cloudmarket_fixtures import create_body, deliver, signed_query
from tests.codepay_fixtures import expect_create
from tests.conftest import PK, PUBLIC_URL, SK
from tests.helpers import (FORM, PUBLISHABLE, SECRET, body_json, codepay_notification, form_body, post_json,
                           settings_fields)
from tests.midas_fixtures import (CATALOG, PAYER, buy_goods_answer, delivery, expect, midas_environment,
                                  query_of)
from tests.midas_fixtures import URL as MIDAS_URL
from tests.reconciliation_fixtures import PAY_1
from tests.test_deploy_template import resource_token
from tests.wechatpay_fixtures import (APP_APPID, APPID, LOGIN_URL, MCH_ID, OPENID, PLATFORM_SERIAL, PUB_KEY_ID, WeChat,
                                      certificates_reply, environment, payment_fields,
                                      private_pem, refund_notification, refund_resource, transaction,
                                      v2_xml, v3_notification)

HOOK = 'https://merchant.test/paygate'
RUNTIME_ONLY = {'logs:CreateLogStream', 'logs:PutLogEvents',
                'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes',
                'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator',
                'dynamodb:ListStreams'}
# Lambda itself sends a failed asynchronous invocation to the function's failure queue.
RUNTIME_GRANTS = {('sqs:SendMessage', 'failure-queue')}
TRANSACT_ACTIONS = {'Put': 'PutItem', 'Update': 'UpdateItem', 'Delete': 'DeleteItem',
                    'ConditionCheck': 'ConditionCheckItem'}
# Every setting Paygate resolves (a settings.Secret, or the catalog): stored in SSM here.
REFERENCED = (
    'PAYGATE_PUBLISHABLE_KEYS', 'PAYGATE_SECRET_KEYS', 'PAYGATE_CATALOG', 'PAYGATE_WEBHOOKS',
    'PAYGATE_CODEPAY_KEY', 'PAYGATE_CLOUDMARKET_TOKEN', 'PAYGATE_CLOUDMARKET_LOGIN_SECRET',
    'PAYGATE_ALIPAY_APP_ID', 'PAYGATE_ALIPAY_SELLER_ID', 'PAYGATE_ALIPAY_APP_PRIVATE_KEY',
    'PAYGATE_ALIPAY_PUBLIC_KEY', 'PAYGATE_ALIPAY_PUBLIC_CERT', 'PAYGATE_ALIPAY_APP_CERT',
    'PAYGATE_ALIPAY_ROOT_CERT', 'PAYGATE_MIDAS_APPKEY', 'PAYGATE_WECHATPAY_APP_SECRET',
    'PAYGATE_WECHATPAY_KEY', 'PAYGATE_WECHATPAY_APIV3_KEY', 'PAYGATE_WECHATPAY_PRIVATE_KEY',
    'PAYGATE_WECHATPAY_PUBLIC_KEY', 'PAYGATE_WECHATPAY_CLIENT_CERT', 'PAYGATE_WECHATPAY_CLIENT_KEY')
NEXT_SERIAL = '4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F'
BALANCE = {'ret': 0, 'balance': 150, 'gen_balance': 30, 'first_save': 0, 'save_amt': 500}
XML = {'Content-Type': 'text/xml'}
ALIPAY_SUCCESS = {'code': '10000', 'msg': 'Success'}
TRADE_NOT_EXIST = {'code': '40004', 'msg': 'Business Failed', 'sub_code': 'ACQ.TRADE_NOT_EXIST',
                   'sub_msg': '交易不存在'}
ROOT_CERT = (Path(__file__).parent / 'data' / 'alipay_root_cert.crt').read_text()


class Recorder:
    """The (action, resource) pairs each function's code needed, while it ran."""

    def __init__(self, plan_functions):
        self.current = None
        self.needed = {}
        self.plan = {function.name: function for function in plan_functions}

    def __call__(self, model, params, **kwargs):
        if self.current:
            service = model.service_model.endpoint_prefix
            self.needed[self.current].update(needs(service, model.name, params))

    def running(self, function):
        """Record while `function`'s code runs, from a cold start (nothing resolved or cached), with
        the PAYGATE_PREFETCH its packaged environment has."""
        recorder = self

        class Running:
            def __enter__(self):
                settings.reset()
                catalog.reset()
                key_store.forget()
                os.environ['PAYGATE_PREFETCH'] = ','.join(policy.settings_read(recorder.plan[function], env()))
                recorder.needed.setdefault(function, set())
                recorder.current = function

            def __exit__(self, *exc):
                recorder.current = None
                del os.environ['PAYGATE_PREFETCH']
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
        names = params.get('Names') or [params['Name']]
        return {(f'ssm:{operation}', 'ssm:parameter/' + name.lstrip('/')) for name in names}
    return {(f'{service}:{operation}', 'unexpected')}


def stage_settings(credentials, alipay_keys, wechatpay_keys):
    """Every provider and Cloud Marketplace enabled; plain values, before they become references."""
    values = {
        **midas_environment(), **environment(wechatpay_keys),
        'PAYGATE_PROVIDERS': 'codepay,alipay,midas,wechatpay',
        'PAYGATE_PUBLISHABLE_KEYS': PK, 'PAYGATE_SECRET_KEYS': SK,
        'PAYGATE_CATALOG': json.dumps(CATALOG, ensure_ascii=False),
        'PAYGATE_WEBHOOKS': json.dumps([{'id': 'main', 'url': HOOK, 'secrets': ['whsec_1']}]),
        'PAYGATE_ALIPAY_APP_ID': APP_ID, 'PAYGATE_ALIPAY_SELLER_ID': SELLER_ID,
        'PAYGATE_ALIPAY_GATEWAY': GATEWAY, 'PAYGATE_ALIPAY_APP_PRIVATE_KEY': alipay_keys.app.private_pem,
        'PAYGATE_WECHATPAY_CLIENT_CERT': wechatpay_keys.platform_cert,
        'PAYGATE_WECHATPAY_CLIENT_KEY': private_pem(wechatpay_keys.platform),
    }
    if credentials == 'keys':
        return {**values, 'PAYGATE_ALIPAY_PUBLIC_KEY': alipay_keys.alipay.public_pem}
    issuer, authority = alipay_keys.alipay.private, 'Ant Financial Certification Authority Class {} R1'
    return {
        **values, 'PAYGATE_ALIPAY_SIGN_MODE': 'cert', 'PAYGATE_ALIPAY_ROOT_CERT': ROOT_CERT,
        'PAYGATE_ALIPAY_APP_CERT': issued_certificate(alipay_keys.app.public, ca_name('app'), issuer,
                                                      ca_name(authority.format(1)), serial=77),
        'PAYGATE_ALIPAY_PUBLIC_CERT': issued_certificate(alipay_keys.alipay.public, ca_name('alipay'), issuer,
                                                         ca_name(authority.format(2)), serial=78),
    }


@pytest.fixture(params=['keys', 'certificates'])
def recorder(request, client, paygate_env, alipay_keys, wechatpay_keys):
    url = aws.client('sqs').create_queue(QueueName='paygate-test-webhooks')['QueueUrl']
    paygate_env.setenv('PAYGATE_WEBHOOK_QUEUE_URL', url)
    for name, value in stage_settings(request.param, alipay_keys, wechatpay_keys).items():
        paygate_env.setenv(name, value)
    for name in set(REFERENCED) & set(os.environ):
        path = '/paygate/test/' + name.removeprefix('PAYGATE_').lower().replace('_', '-')
        value = os.environ[name]
        boto3.client('ssm').put_parameter(Name=path, Value=value, Type='SecureString',
                                        Tier='Advanced' if len(value) > 4096 else 'Standard')
        paygate_env.setenv(name, f'ssm:{path}')
    settings.reset()
    assert unresolved(settings.get()) == []
    from app import app
    record = Recorder(plan.build(app))
    for service in ('dynamodb', 'sqs', 'ssm'):
        aws.client(service).meta.events.register('before-parameter-build.*.*', record)
    return record


def unresolved(loaded):
    """Names of the settings.Secret fields that are not references (they would resolve unseen)."""
    return [name for name, value in settings_fields(loaded)
            if isinstance(value, settings.Secret) and not value._ref.startswith('ssm:')]


def created(client, body, expected=201):
    response = post_json(client, '/orders', body)
    assert response.status_code == expected, response.body
    return body_json(response)


def order_for(provider, out_trade_no, **payer):
    return {'provider': provider, 'product_id': 'gold_60', 'out_trade_no': out_trade_no, 'payer': payer}


def create_orders(client, http_mock, recorder, wechat, paygate_env, alipay_answers):
    """POST /orders at every provider and scene, valid and refused; the orders the other scenarios use."""
    codepay = order_for('codepay', 'perm-codepay', channel='alipay')
    orders = {}
    expect_create(http_mock, status=-1)
    with recorder.running('orders'):
        assert post_json(client, '/orders', codepay).status_code == 502     # refused: deleted again
    expect_create(http_mock)
    expect_create(http_mock)
    wechat.jsapi()
    wechat.v3('POST', '/v3/pay/transactions/app', body={'prepay_id': 'wx26112216010000000000000000000app'})
    alipay_answers['alipay.trade.precreate'] = {'code': '10000', 'msg': 'Success', 'qr_code': 'https://qr.alipay.com/p'}
    expect(http_mock, 'buy_goods_m', {'ret': 1001, 'msg': '参数错误'})
    expect(http_mock, 'buy_goods_m', buy_goods_answer)
    with recorder.running('orders'):
        assert client.http.get('/').status_code == 200                          # the index
        orders['codepay'] = created(client, codepay)
        assert created(client, codepay, 200) == orders['codepay']                # idempotent repeat
        assert client.http.get(f'/orders/{orders["codepay"]["order_id"]}', headers=SECRET).status_code == 200
        orders['codepay-open'] = created(client, order_for('codepay', 'perm-codepay-open', channel='wechat'))
        for name in ('alipay', 'alipay-close', 'alipay-query', 'alipay-expired'):
            orders[name] = created(client, order_for('alipay', f'perm_{name.replace("-", "_")}'))
        created(client, order_for('midas', 'perm-midas-refused', **PAYER), 400)
        for name in ('midas', 'midas-expired'):
            orders[name] = created(client, order_for('midas', f'perm-{name}', **PAYER))
        for name in ('wx3', 'wx3-cert', 'wx3-close'):
            orders[name] = created(client, order_for('wechatpay', f'perm-{name}', openid=OPENID))
        # The scenes that call out differently: APP (its own appid) and Alipay's precreate (a verified answer).
        orders['wx3-app'] = created(client, {**order_for('wechatpay', 'perm-wx3-app'), 'scene': 'app'})
        orders['alipay-qr'] = created(client, {**order_for('alipay', 'perm_alipay_qr'), 'scene': 'qr'})
    login = json.dumps({'openid': 'oFromLogin123', 'session_key': 'not-kept'})
    http_mock.add('GET', f'{LOGIN_URL}/sns/jscode2session', body=login)
    with recorder.running('orders'):
        orders['wx3-open'] = created(client, order_for('wechatpay', 'perm-wx3-open', js_code='081xYz000abc'))
    paygate_env.setenv('PAYGATE_WECHATPAY_API_VERSION', 'v2')
    wechat.unifiedorder()
    with recorder.running('orders'):
        for name in ('wx2', 'wx2-close', 'wx2-query'):
            orders[name] = created(client, order_for('wechatpay', f'perm-{name}', openid=OPENID))
    paygate_env.setenv('PAYGATE_WECHATPAY_API_VERSION', 'v3')
    return orders


def refresh_certificates(client, recorder, wechat, keys):
    """The schedule caches the platform certificate from a reply signed with the public key; a
    reply signed by a certificate cached before, no longer in its list, verifies with the cached one."""
    event = client.events.generate_cw_event('aws.events', 'Scheduled Event', {}, [])
    for signer, serial, listed in (('wechat', PUB_KEY_ID, PLATFORM_SERIAL),
                                   ('platform', PLATFORM_SERIAL, NEXT_SERIAL)):
        body, key, serial = certificates_reply(keys, signer, serial, listed)
        wechat.v3('GET', '/v3/certificates', body=body, key=key, serial=serial)
        with recorder.running('refresh_certificates'):
            answer = client.lambda_.invoke('refresh_certificates', event).payload
        assert answer == {'wechatpay': [listed]}


def notify(client, recorder, orders, alipay_keys, keys):
    """Every notify route: a valid notification, its duplicate, and a forged one."""
    def sent(route, bodies, headers=FORM):
        return [client.http.post(route, headers=headers, body=body).status_code for body in bodies]

    with recorder.running('notify_codepay'):
        paid = form_body(codepay_notification('perm-codepay'))
        forged = form_body(codepay_notification('perm-codepay', key='not-the-key'))
        assert sent('/notify/codepay', (paid, paid, forged)) == [200, 200, 400]
    with recorder.running('notify_alipay'):
        paid = alipay_sdk.form_body(signed(alipay_keys, orders['alipay']))
        forged = alipay_sdk.form_body(signed(alipay_keys, orders['alipay'], key=alipay_keys.app))
        refunded = alipay_sdk.form_body(signed(alipay_keys, orders['alipay'], notify_id='perm-refunded',
                                               refund_fee='0.50', out_biz_no='perm-console-refund'))
        assert sent('/notify/alipay', (paid, paid, forged, refunded)) == [200, 200, 400, 200]
    with recorder.running('notify_midas'):
        # The duplicate comes without appmeta: it is found by its token (a lookup).
        answers = [client.http.get('/notify/midas?' + query_of(fields)).status_code
                   for fields in (delivery(orders['midas']), delivery(orders['midas'], appmeta=None),
                                  delivery(orders['midas'], appkey='not-the-appkey'))]
        assert answers == [200, 200, 400]
    with recorder.running('notify_wechatpay'):
        fields = payment_fields('perm-wx2', '600', transaction_id='42000000000000002')
        assert sent('/notify/wechatpay', (v2_xml(fields), v2_xml(fields), v2_xml(fields, 'not-the-key')),
                    XML) == [200, 200, 400]
        # Signed with the public key, with the platform certificate the refresh cached, and forged.
        for name, signer, serial, expected in (('wx3', keys.wechat, PUB_KEY_ID, 204),
                                               ('wx3-cert', keys.platform, PLATFORM_SERIAL, 204),
                                               ('wx3-app', keys.wechat, PUB_KEY_ID, 204),
                                               ('wx3', keys.merchant, PUB_KEY_ID, 400)):
            resource = transaction(f'perm-{name}', total=600, transaction_id=f'4200000000-{name}',
                                   appid=APP_APPID if name == 'wx3-app' else APPID)
            headers, body = v3_notification(resource, signer, serial, int(time.time()), notification_id=name)
            response = client.http.post('/notify/wechatpay/v3', headers=headers, body=body)
            assert response.status_code == expected, name
    for name in ('codepay', 'alipay', 'midas', 'wx2', 'wx3', 'wx3-cert', 'wx3-app'):
        assert table.order(orders[name]['order_id'])['status'] == 'PAID', name


def coins(client, http_mock, recorder):
    """The Midas game-coin routes; returns the ids of a paid coin order and of one whose pay_m is unknown."""
    login = {f'X-Midas-{name.replace("_", "-").title()}': value for name, value in PAYER.items()}
    expect(http_mock, 'get_balance_m', BALANCE)
    expect(http_mock, 'pay_m', lambda params: {'ret': 0, 'billno': params['billno'], 'balance': 90,
                                               'gen_balance': 0, 'used_gen_amt': 30})
    expect(http_mock, 'present_m', {'ret': 0, 'balance': 100, 'gen_balance': 10})

    def pay(out_trade_no, product_id='gold_60'):
        body = {'product_id': product_id, 'payer': PAYER, 'out_trade_no': out_trade_no}
        return post_json(client, '/midas/payments', body)

    with recorder.running('midas'):
        assert client.http.get('/midas/balance', headers={**PUBLISHABLE, **login}).status_code == 200
        assert client.http.get('/midas/balance', headers={**login, 'X-Api-Key': 'pk_no'}).status_code == 401
        assert pay('perm-coins').status_code == 201
        assert pay('perm-coins-odd', 'odd_15').status_code == 422          # not whole coins: deleted again
        http_mock.add('POST', f'{MIDAS_URL}/mpay/pay_m', body=requests.exceptions.ReadTimeout())
        assert pay('perm-coins-unknown').status_code == 502               # marked, left open
        present = {'payer': PAYER, 'coins': 10, 'billno': 'perm-present-1'}
        assert post_json(client, '/midas/presents', present, SECRET).status_code == 200
        assert post_json(client, '/midas/presents', present).status_code == 403
    return tuple(table.order_id_of(name) for name in ('perm-coins', 'perm-coins-unknown'))


def settle(client, http_mock, recorder):
    expect(http_mock, 'get_balance_m', {**BALANCE, 'save_amt': 600})
    with recorder.running('midas_settle'):
        settled = client.lambda_.invoke('midas_settle', {'payer': PAYER, 'save_amt': 500}).payload
        refused = client.lambda_.invoke('midas_settle', {'payer': PAYER}).payload
    assert settled['settled'] is True and refused['error']['field'] == 'save_amt'


def cloudmarket(client, recorder):
    """Every delivery action, a forged and a repeated delivery, the login link, the instance lookup."""
    def sent(body, query=None):
        response = deliver(client, body, query or signed_query(int(time.time())))
        return response.status_code, body_json(response)

    with recorder.running('cloudmarket'):
        assert sent({'action': 'verifyInterface', 'echoback': 'ok'})[0] == 200
        assert sent(create_body('MK-perm'), signed_query(int(time.time()), token='not-the-token'))[0] == 401
        query = signed_query(int(time.time()))
        status, answer = sent(create_body('MK-perm'), query)
        assert status == 200 and sent(create_body('MK-perm'), query) == (200, answer)
        sign_id, login = answer['signId'], answer['appInfo']['authUrl'][len(PUBLIC_URL):]
        assert client.http.get(login).status_code == 302
        assert client.http.get(login + 'x').status_code == 403
        assert client.http.get(f'/instances/{sign_id}', headers=SECRET).status_code == 200
        assert client.http.get(f'/instances/{sign_id}', headers=PUBLISHABLE).status_code == 403
        for action, fields in (('renewInstance', {'instanceExpireTime': 1900000000}),
                               ('modifyInstance', {'instanceExpireTime': 1900000000, 'spec': 'premium'}),
                               ('expireInstance', {}), ('destroyInstance', {})):
            assert sent({'action': action, 'signId': sign_id, **fields})[0] == 200, action


def manage(client, http_mock, recorder, orders, coin_orders, alipay_answers, wechat):
    """The secret-key routes: close and refund at every provider that has them (a Midas coin order
    rolled back with the payer's login), the events API."""
    paid_coins, unknown_coins = coin_orders
    alipay_answers['alipay.trade.close'] = {**ALIPAY_SUCCESS, 'out_trade_no': 'perm_alipay_close'}
    alipay_answers['alipay.trade.refund'] = {**ALIPAY_SUCCESS, 'out_trade_no': 'perm_alipay',
                                             'trade_no': TRADE_NO, 'fund_change': 'Y', 'refund_fee': '1.00'}
    wechat.v3('POST', '/v3/pay/transactions/out-trade-no/perm-wx3-close/close', status=204)
    wechat.v2('/pay/closeorder', lambda request: {})
    wechat.v3('POST', '/v3/refund/domestic/refunds',
              body={'refund_id': '50300000012026', 'out_refund_no': 'refund-wx3', 'status': 'PROCESSING'})
    wechat.v2('/secapi/pay/refund', lambda request: {'refund_id': '5000000038',
                                                     'out_refund_no': request['out_refund_no']})
    expect(http_mock, 'cancel_pay_m', lambda params: {'ret': 0, 'billno': params['billno'], 'balance': 150})
    payer = {'payer': {'openkey': PAYER['openkey'], 'pfkey': PAYER['pfkey']}}

    def posted(path, body, expected=200):
        response = post_json(client, path, body, SECRET)
        assert response.status_code == expected, (path, response.body)

    with recorder.running('admin'):
        assert client.http.get('/events', headers=PUBLISHABLE).status_code == 403
        later = clock.now() + timedelta(minutes=6)   # WeChat Pay closes orders 5 minutes old
        with mock.patch.object(clock, 'now', lambda: later):
            for name in ('alipay-close', 'wx3-close', 'wx2-close'):
                posted(f'/orders/{orders[name]["order_id"]}/close', {})
        posted(f'/orders/{unknown_coins}/close', payer)
        for name, amount, expected in (('alipay', 100, 200), ('wx3', 600, 202), ('wx2', 300, 202)):
            refund = {'amount': amount, 'refund_no': f'refund-{name}'}
            posted(f'/orders/{orders[name]["order_id"]}/refunds', refund, expected)
        posted(f'/orders/{paid_coins}/refunds', {'amount': 600, **payer})
        listed = body_json(client.http.get('/events', headers=SECRET))['data']
        assert client.http.get(f'/events?order_id={paid_coins}', headers=SECRET).status_code == 200
        assert client.http.get(f'/events/{listed[0]["id"]}', headers=SECRET).status_code == 200
        assert client.http.post(f'/events/{listed[0]["id"]}/resend', headers=SECRET).status_code == 202
    return listed[0]['id']


def refund_notifications(client, recorder, keys):
    """WeChat Pay's outcome of the refunds admin asked for: v2 (req_info encrypted) and v3."""
    v2 = refund_notification('perm-wx2', 'refund-wx2', refund_fee='300')
    headers, v3 = v3_notification(refund_resource('perm-wx3', 'refund-wx3'), keys.wechat, PUB_KEY_ID,
                                  int(time.time()), event_type='REFUND.SUCCESS', notification_id='refund')
    with recorder.running('notify_wechatpay'):
        assert client.http.post('/notify/wechatpay', headers=XML, body=v2).status_code == 200
        assert client.http.post('/notify/wechatpay/v3', headers=headers, body=v3).status_code == 204


def webhooks(http_mock, recorder, event_id):
    http_mock.add('POST', HOOK, status=500)
    with recorder.running('deliver_new_events'):
        worker.handle_stream([{'pk': {'S': f'EVENT#{event_id}'}, 'sk': {'S': 'DELIVERY#main'}}])
    with recorder.running('deliver_webhooks'):
        assert worker.handle_message(json.dumps({'event_id': event_id, 'endpoint_id': 'main'}),
                                     clock.now() + timedelta(minutes=5))
    with recorder.running('sweep_webhooks'):
        assert worker.sweep(clock.now() + timedelta(hours=1)) > 0


def compensate(recorder, alipay_answers, alipay_keys, wechat):
    """Open orders an hour later: queried where the provider can be (two were paid), the rest closed."""
    def alipay_query(params):
        out_trade_no = json.loads(params['biz_content'])['out_trade_no']
        paid = {**ALIPAY_SUCCESS, 'out_trade_no': out_trade_no, 'trade_no': TRADE_NO + '9',
                'trade_status': 'TRADE_SUCCESS', 'total_amount': '6.00'}
        answer = paid if out_trade_no == 'perm_alipay_query' else TRADE_NOT_EXIST
        return alipay_sdk.answer_json(params['method'], answer, alipay_keys.alipay)

    alipay_answers.update({'alipay.trade.query': alipay_query, 'alipay.trade.close': TRADE_NOT_EXIST})
    wechat.v3('GET', f'/v3/pay/transactions/out-trade-no/perm-wx3-open?mchid={MCH_ID}',
              body={'trade_state': 'NOTPAY', 'out_trade_no': 'perm-wx3-open', 'mchid': MCH_ID})
    wechat.v3('POST', '/v3/pay/transactions/out-trade-no/perm-wx3-open/close', status=204)
    wechat.v2('/pay/orderquery', lambda request: {
        'trade_state': 'SUCCESS', 'out_trade_no': request['out_trade_no'], 'total_fee': '600',
        'transaction_id': '4200000000000000000000000029'})
    with recorder.running('compensate'):
        later = clock.now() + timedelta(hours=1)
        with mock.patch.object(clock, 'now', lambda: later):
            done = compensation.run()
    # paid: perm_alipay_query, perm-wx2-query; closed: perm-codepay-open, perm_alipay_expired,
    # perm_alipay_qr, perm-midas-expired (nothing to close at Midas), perm-wx3-open
    assert done == {'checked': 7, 'paid': 2, 'closed': 5, 'errors': 0}


def reconcile(client, recorder, http_mock, alipay_answers, alipay_keys, wechat, paygate_env):
    """A day reconciled on demand and by the morning schedule: the bills downloaded (WeChat Pay through
    v2, and v3 with a reply signed by the cached platform certificate), a closed order the provider
    says was paid is paid, the report read back."""
    today = clock.now().astimezone(CHINA).date().isoformat()
    bill_url = 'https://dwbillcenter.alipay.com/downloadBillFile.resource?fileId=perm'
    alipay_answers['alipay.data.dataservice.bill.downloadurl.query'] = {**ALIPAY_SUCCESS, 'bill_download_url': bill_url}

    def alipay_query(params):
        out_trade_no = json.loads(params['biz_content'])['out_trade_no']
        return alipay_sdk.answer_json(params['method'], {
            **ALIPAY_SUCCESS, 'out_trade_no': out_trade_no, 'trade_no': f'{TRADE_NO}-{out_trade_no}',
            'trade_status': 'TRADE_SUCCESS', 'total_amount': '6.00'}, alipay_keys.alipay)
    alipay_answers['alipay.trade.query'] = alipay_query
    http_mock.add('GET', bill_url, body=alipay_zip(detail=alipay_texts()[0].replace(PAY_1, 'perm_alipay_expired')))
    http_mock.add('GET', bill_url, body=alipay_zip(detail=alipay_texts()[0].replace(PAY_1, 'perm_alipay_close')))
    wechat.v3('GET', f'/v3/pay/transactions/out-trade-no/perm-wx3-close?mchid={MCH_ID}', body={
        'trade_state': 'SUCCESS', 'out_trade_no': 'perm-wx3-close', 'mchid': MCH_ID, 'appid': APPID,
        'transaction_id': '4200000000-wx3-close', 'amount': {'total': 600, 'payer_total': 600, 'currency': 'CNY'}})
    downloadbill(wechat, gzip.compress(wechat_text().replace(PAY_1, 'perm-wx3-close').encode()))
    paygate_env.setenv('PAYGATE_WECHATPAY_API_VERSION', 'v2')
    with recorder.running('reconcile'):
        for provider in ('alipay', 'wechatpay', 'codepay'):
            response = post_json(client, '/reconciliations', {'provider': provider, 'date': today}, SECRET)
            assert response.status_code == 200, response.body
        assert client.http.get(f'/reconciliations/alipay/{today}', headers=SECRET).status_code == 200
    paygate_env.setenv('PAYGATE_WECHATPAY_API_VERSION', 'v3')
    tradebill(wechat, hashed(wechat_text()), key=wechat.keys.platform, serial=PLATFORM_SERIAL)
    bill_file(wechat, gzip.compress(wechat_text().encode()))
    tomorrow = clock.now() + timedelta(days=1)
    with recorder.running('reconcile_yesterday'), mock.patch.object(clock, 'now', lambda: tomorrow):
        event = client.events.generate_cw_event('aws.events', 'Scheduled Event', {}, [])
        client.lambda_.invoke('reconcile_yesterday', event)
    for name in ('perm_alipay_expired', 'perm_alipay_close', 'perm-wx3-close'):
        assert table.order_by_trade_no(name)['status'] == 'PAID', name


def env():
    return {name: value for name, value in os.environ.items() if name.startswith('PAYGATE_')}


def granted(function):
    stage = plan.Stage('paygate', 'test', env(), 'python3.11', 'x86_64', 'PassThrough', {})
    return {(action, resource_token(resource))
            for statement in policy.document(function, stage)['Statement']
            for action in statement['Action'] for resource in statement['Resource']}


def test_every_call_is_granted_and_every_grant_is_used(client, http_mock, recorder, app_module, paygate_env,
                                                       alipay_keys, wechatpay_keys):
    wechat = WeChat(http_mock, wechatpay_keys)
    alipay_answers = {}
    expect_gateway(http_mock, alipay_keys, alipay_answers)
    orders = create_orders(client, http_mock, recorder, wechat, paygate_env, alipay_answers)
    refresh_certificates(client, recorder, wechat, wechatpay_keys)
    notify(client, recorder, orders, alipay_keys, wechatpay_keys)
    coin_orders = coins(client, http_mock, recorder)
    settle(client, http_mock, recorder)
    cloudmarket(client, recorder)
    event_id = manage(client, http_mock, recorder, orders, coin_orders, alipay_answers, wechat)
    refund_notifications(client, recorder, wechatpay_keys)
    webhooks(http_mock, recorder, event_id)
    compensate(recorder, alipay_answers, alipay_keys, wechat)
    reconcile(client, recorder, http_mock, alipay_answers, alipay_keys, wechat, paygate_env)

    functions = {f.name: f for f in plan.build(app_module.app)}
    assert set(recorder.needed) == set(functions)
    problems = {}
    for name, needed in recorder.needed.items():
        allowed = granted(functions[name])
        unused = {(a, r) for a, r in allowed if a not in RUNTIME_ONLY} - RUNTIME_GRANTS - needed
        if needed - allowed or unused:
            problems[name] = {'not granted': needed - allowed, 'never used': unused}
    assert problems == {}
