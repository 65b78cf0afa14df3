"""POST /cloudmarket: the six actions, their answers, the instances and events in DynamoDB."""
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import requests

from localdev.server import BackgroundServer, create_server
from tests import table
from tests.cloudmarket_fixtures import (NOW, create_body, deliver, event_payloads, frozen,  # noqa: F401
                                        items, signed_query)
from tests.conftest import CLOUDMARKET_WEBSITE, PUBLIC_URL
from tests.helpers import FORM, PUBLISHABLE, SECRET, body_json, table_items

SUCCESS = b'{"success":"true"}'


def create(client, body=None):
    response = deliver(client, body or create_body())
    assert response.status_code == 200, response.body
    return body_json(response)['signId']


def action(name, sign_id, **fields):
    return {'action': name, 'signId': sign_id, 'openId': 'openid-123', 'productId': '1001',
            'requestId': 'req-2', **fields}


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.body
    assert response.headers['Content-Type'] == 'application/json'
    error = body_json(response)['error']
    assert error['code'] == code and error['message']
    if field:
        assert error['field'] == field


def test_verify_interface_echoes(client, frozen):
    response = deliver(client, {'action': 'verifyInterface', 'echoback': 'Tencent-Cloud-42'})
    assert response.status_code == 200
    assert body_json(response) == {'echoback': 'Tencent-Cloud-42'}
    assert response.headers['Content-Type'] == 'application/json'


def test_verify_interface_without_echoback(client, frozen):
    assert_error(deliver(client, {'action': 'verifyInterface'}), 400, 'invalid_request', 'echoback')


def test_create_instance(client, frozen):
    response = deliver(client, create_body())
    assert response.status_code == 200
    answer = body_json(response)
    assert set(answer) == {'signId', 'appInfo'} and set(answer['appInfo']) == {'website', 'authUrl'}
    sign_id = answer['signId']
    assert re.fullmatch(r'[0-9A-Za-z]{11,}', sign_id)
    assert answer['appInfo']['website'] == CLOUDMARKET_WEBSITE
    auth_url = answer['appInfo']['authUrl']
    assert auth_url.startswith(f'{PUBLIC_URL}/cloudmarket/login/')
    token = auth_url.rsplit('/', 1)[1]
    assert token != sign_id and len(token) > len(sign_id) + 40
    stored = table.instance(sign_id)
    assert stored['status'] == 'ACTIVE' and stored['trial'] is False
    assert (stored['order_id'], stored['open_id'], stored['product_id']) == ('MK20251122000001',
                                                                            'openid-123', '1001')
    assert stored['spec'] == 'standard' and stored['product_name'] == 'Paygate SaaS'
    assert stored['expires_at'] == '2025-12-22T02:53:20Z'
    assert table.instance_for_order('MK20251122000001')['sign_id'] == sign_id
    [event] = event_payloads()
    assert event['type'] == 'instance.created'
    assert event['data']['instance']['sign_id'] == sign_id
    assert event['data']['instance']['expires_at'] == '2025-12-22T02:53:20Z'


def test_sign_ids_are_unpredictable(client, frozen):
    first = create(client, create_body('order-a'))
    second = create(client, create_body('order-b'))
    assert first != second
    assert len(set(first) | set(second)) > 8


@pytest.mark.parametrize('is_trial, trial', [
    (True, True), ('true', True), ('TRUE', True), ('1', True), (1, True),
    (False, False), ('false', False), ('False', False), (0, False), (None, False),
])
def test_trial_or_formal_from_is_trial(client, frozen, is_trial, trial):
    body = create_body(isTrial=is_trial)
    if is_trial is None:
        del body['productInfo']['isTrial']
    assert table.instance(create(client, body))['trial'] is trial


@pytest.mark.parametrize('is_trial', ['yes', 'maybe', 2, [True], {'v': True}])
def test_an_unclear_is_trial_is_refused(client, frozen, is_trial):
    response = deliver(client, create_body(isTrial=is_trial))
    assert_error(response, 400, 'invalid_request', 'productInfo.isTrial')
    assert items('INSTANCE#') == []


def test_a_trial_of_seven_days(client, frozen):
    sign_id = create(client, create_body(isTrial='true', timeSpan='7', timeUnit='d'))
    assert table.instance(sign_id)['expires_at'] == '2025-11-29T02:53:20Z'


def trial_body(**info):
    body = create_body(isTrial='true', **info)
    del body['productInfo']['timeSpan'], body['productInfo']['timeUnit']
    return body


def test_a_trial_without_a_period_gets_the_configured_trial_days(client, frozen, paygate_env):
    sign_id = create(client, trial_body())
    stored = table.instance(sign_id)
    assert (stored['trial'], stored['expires_at']) == (True, '2025-11-29T02:53:20Z')
    paygate_env.setenv('PAYGATE_CLOUDMARKET_TRIAL_DAYS', '14')
    from tests.conftest import reset_caches
    reset_caches()
    longer = create(client, trial_body() | {'orderId': 'MK20251122000002'})
    assert table.instance(longer)['expires_at'] == '2025-12-06T02:53:20Z'


def test_a_trial_with_an_expiry_from_the_marketplace_keeps_it(client, frozen):
    sign_id = create(client, trial_body(instanceExpireTime='2025-11-25 10:53:20'))
    assert table.instance(sign_id)['expires_at'] == '2025-11-25T02:53:20Z'
    top_level = create(client, {**trial_body(), 'orderId': 'MK2', 'instanceExpireTime': '1764039200'})
    assert table.instance(top_level)['expires_at'] == '2025-11-25T02:53:20Z'


def test_the_console_test_datas_is_trail_spelling_is_read(client, frozen, caplog):
    import logging
    body = trial_body()
    body['productInfo']['isTrail'] = body['productInfo'].pop('isTrial')
    with caplog.at_level(logging.INFO, logger='paygate.cloudmarket'):
        sign_id = create(client, body)
    assert table.instance(sign_id)['trial'] is True
    [read] = [record for record in caplog.records if 'isTrail' in record.getMessage()]
    assert (read.name, read.levelno) == ('paygate.cloudmarket', logging.INFO)


def test_a_trial_that_becomes_paid_gets_the_real_expiry(client, frozen):
    sign_id = create(client, trial_body())
    response = deliver(client, action('modifyInstance', sign_id, instanceExpireTime='2026-11-22 10:53:20'))
    assert response.body == SUCCESS
    stored = table.instance(sign_id)
    assert (stored['trial'], stored['expires_at']) == (False, '2026-11-22T02:53:20Z')


def test_a_trial_that_becomes_paid_for_a_period_runs_from_now(client, frozen):
    sign_id = create(client, trial_body())
    frozen.set(NOW + timedelta(days=3))
    query = signed_query(timestamp=int(frozen.moment.timestamp()))
    body = action('modifyInstance', sign_id, productInfo={'timeSpan': 1, 'timeUnit': 'y'})
    assert deliver(client, body, query).body == SUCCESS
    stored = table.instance(sign_id)
    assert (stored['trial'], stored['expires_at']) == (False, '2026-11-25T02:53:20Z')


def test_a_formal_purchase_still_needs_its_period(client, frozen):
    body = trial_body()
    body['productInfo']['isTrial'] = 'false'
    assert_error(deliver(client, body), 400, 'invalid_request', 'productInfo.timeUnit')


@pytest.mark.parametrize('unit', [[None], {}, 1])
def test_a_time_unit_that_is_not_a_string_is_a_400(client, frozen, unit):
    """Found by `make fuzz`: a list as timeUnit was a 500 (an unhashable key)."""
    assert_error(deliver(client, create_body(timeSpan=1, timeUnit=unit)), 400, 'invalid_request',
                 'productInfo.timeUnit')
    assert table_items('INSTANCE#') == []


def test_created_at_the_end_of_january_expires_at_the_end_of_february(client, frozen):
    frozen.set(datetime(2025, 1, 31, 2, 0, tzinfo=timezone.utc))     # 10:00 on Jan 31 in UTC+8
    query = signed_query(timestamp=int(frozen.moment.timestamp()))
    response = deliver(client, create_body(timeSpan=1, timeUnit='m'), query)
    assert table.instance(body_json(response)['signId'])['expires_at'] == '2025-02-28T02:00:00Z'


@pytest.mark.parametrize('remove, field', [
    ('orderId', 'orderId'), ('productId', 'productId'), ('productInfo', 'productInfo'),
    ('productInfo.timeSpan', 'productInfo.timeSpan'), ('productInfo.timeUnit', 'productInfo.timeUnit'),
])
def test_create_with_a_missing_field(client, frozen, remove, field):
    body = create_body()
    if '.' in remove:
        del body['productInfo'][remove.split('.')[1]]
    else:
        del body[remove]
    assert_error(deliver(client, body), 400, 'invalid_request', field)
    assert items('INSTANCE#') == [] and items('CMORDER#') == [] and items('EVENT#') == []


def test_create_is_idempotent_per_order_id(client, frozen):
    first = deliver(client, create_body())
    again = deliver(client, {**create_body(), 'requestId': 'retry'})
    assert body_json(first) == body_json(again)
    assert len(items('INSTANCE#')) == 1 and len(event_payloads()) == 1
    other = create(client, create_body('MK-another-order'))
    assert other != body_json(first)['signId']


def test_create_from_a_form_body(client, frozen):
    nested = {'action': 'createInstance', 'orderId': 'form-1', 'productId': '1001',
              'productInfo[isTrial]': 'true', 'productInfo[timeSpan]': '1', 'productInfo[timeUnit]': 'y'}
    response = deliver(client, None, headers=FORM, raw=urlencode(nested).encode())
    assert response.status_code == 200, response.body
    stored = table.instance(body_json(response)['signId'])
    assert stored['trial'] is True and stored['expires_at'] == '2026-11-22T02:53:20Z'
    as_text = {'action': 'createInstance', 'orderId': 'form-2', 'productId': '1001',
               'productInfo': json.dumps({'isTrial': False, 'timeSpan': 2, 'timeUnit': 'm'})}
    response = deliver(client, None, headers=FORM, raw=urlencode(as_text).encode())
    assert table.instance(body_json(response)['signId'])['expires_at'] == '2026-01-22T02:53:20Z'


def test_renew_sets_the_expiry(client, frozen):
    sign_id = create(client)
    response = deliver(client, action('renewInstance', sign_id, orderId='MK-renew-1',
                                      instanceExpireTime='2026-12-22 10:53:20'))
    assert response.status_code == 200 and response.body == SUCCESS
    stored = table.instance(sign_id)
    assert stored['expires_at'] == '2026-12-22T02:53:20Z' and stored['version'] == 2
    assert [e['type'] for e in event_payloads()].count('instance.renewed') == 1


@pytest.mark.parametrize('name', ['renewInstance', 'modifyInstance'])
@pytest.mark.parametrize('remove', ['signId', 'instanceExpireTime'])
def test_renew_and_modify_with_a_missing_field(client, frozen, name, remove):
    sign_id = create(client)
    body = action(name, sign_id, instanceExpireTime='2026-12-22 10:53:20')
    del body[remove]
    assert_error(deliver(client, body), 400, 'invalid_request', remove)
    assert table.instance(sign_id)['version'] == 1 and len(event_payloads()) == 1


@pytest.mark.parametrize('name', ['expireInstance', 'destroyInstance'])
def test_expire_and_destroy_without_sign_id(client, frozen, name):
    create(client)
    body = action(name, 'x')
    del body['signId']
    assert_error(deliver(client, body), 400, 'invalid_request', 'signId')
    assert len(event_payloads()) == 1


@pytest.mark.parametrize('name', ['renewInstance', 'modifyInstance', 'expireInstance', 'destroyInstance'])
def test_an_unknown_sign_id_is_an_error_and_changes_nothing(client, frozen, name):
    sign_id = create(client)
    response = deliver(client, action(name, 'cm-not-ours-000', instanceExpireTime='2026-12-22 10:53:20'))
    assert_error(response, 404, 'not_found')
    assert 'cm-not-ours-000' in body_json(response)['error']['message']
    assert table.instance(sign_id)['version'] == 1 and len(event_payloads()) == 1
    assert items('INSTANCE#')[0]['sign_id']['S'] == sign_id and len(items('INSTANCE#')) == 1


def test_modify_turns_a_trial_into_formal(client, frozen):
    sign_id = create(client, create_body(isTrial=True, timeSpan=7, timeUnit='d'))
    response = deliver(client, action('modifyInstance', sign_id, spec='premium', timeSpan=1, timeUnit='y',
                                      instanceExpireTime='2026-11-22T02:53:20Z'))
    assert response.body == SUCCESS
    stored = table.instance(sign_id)
    assert stored['trial'] is False and stored['spec'] == 'premium'
    assert stored['expires_at'] == '2026-11-22T02:53:20Z'
    modified = [e for e in event_payloads() if e['type'] == 'instance.modified']
    assert len(modified) == 1 and modified[0]['data']['instance']['trial'] is False


def test_expire_then_destroy_keeps_the_instance(client, frozen):
    sign_id = create(client)
    assert deliver(client, action('expireInstance', sign_id)).body == SUCCESS
    assert table.instance(sign_id)['status'] == 'EXPIRED'
    assert deliver(client, action('expireInstance', sign_id)).body == SUCCESS   # a repeat: nothing new
    assert deliver(client, action('destroyInstance', sign_id)).body == SUCCESS
    stored = table.instance(sign_id)
    assert stored['status'] == 'DESTROYED' and stored['expired_at'] and stored['destroyed_at']
    assert deliver(client, action('destroyInstance', sign_id)).body == SUCCESS
    assert sorted(e['type'] for e in event_payloads()) == ['instance.created', 'instance.destroyed',
                                                          'instance.expired']


def test_a_renewal_reactivates_an_expired_instance(client, frozen):
    sign_id = create(client)
    deliver(client, action('expireInstance', sign_id))
    deliver(client, action('renewInstance', sign_id, instanceExpireTime=1800000000))
    stored = table.instance(sign_id)
    assert stored['status'] == 'ACTIVE' and stored['expires_at'] == '2027-01-15T08:00:00Z'


def test_a_destroyed_instance_cannot_be_renewed(client, frozen):
    sign_id = create(client)
    deliver(client, action('destroyInstance', sign_id))
    response = deliver(client, action('renewInstance', sign_id, instanceExpireTime='2026-12-22 10:53:20'))
    assert_error(response, 409, 'instance_destroyed')
    assert table.instance(sign_id)['status'] == 'DESTROYED'


@pytest.mark.parametrize('body', [{'action': 'deleteEverything'}, {'action': ''}, {'echoback': 'x'},
                                  {'action': ['createInstance']}])
def test_an_unknown_action_is_a_clear_error(client, frozen, body):
    response = deliver(client, body)
    assert_error(response, 400, 'invalid_request', 'action')
    assert 'createInstance' in body_json(response)['error']['message']


@pytest.mark.parametrize('raw, headers, status', [
    (b'not json', {'Content-Type': 'application/json'}, 400),
    (b'[1, 2]', {'Content-Type': 'application/json'}, 400),
    (b'\xff\xfe', {'Content-Type': 'application/json'}, 400),
    (b'', {}, 400),
    (b'action=a&action=b', FORM, 400),
    (b'productInfo=%7Bbad&action=createInstance', FORM, 400),
    (b'<xml><action>verifyInterface</action></xml>', {'Content-Type': 'text/xml'}, 400),
    (b'[' * 60000, {'Content-Type': 'application/json'}, 400),
    (b'productInfo=1&productInfo[timeSpan]=1&action=createInstance', FORM, 400),
    (b'{"action": "verifyInterface", "echoback": "' + b'x' * 70000 + b'"}', {}, 413),
])
def test_malformed_bodies_are_refused(client, frozen, raw, headers, status):
    response = deliver(client, None, raw=raw, headers=headers)
    assert response.status_code == status
    assert 'error' in body_json(response)
    assert items('INSTANCE#') == []


def test_a_replayed_event_id_with_another_body_is_refused(client, frozen):
    query = signed_query(event_id='777000111')
    first = deliver(client, create_body(), query)
    assert first.status_code == 200
    replay = deliver(client, create_body('MK-someone-else'), query)
    assert_error(replay, 409, 'replayed_event')
    assert len(items('INSTANCE#')) == 1 and table.instance_for_order('MK-someone-else') is None


def test_the_same_event_again_gets_the_same_answer(client, frozen):
    sign_id = create(client)
    query = signed_query(event_id='777000222')
    renew = action('renewInstance', sign_id, instanceExpireTime='2026-12-22 10:53:20')
    assert deliver(client, renew, query).body == SUCCESS
    deliver(client, action('renewInstance', sign_id, instanceExpireTime='2027-12-22 10:53:20'))
    again = deliver(client, dict(reversed(list(renew.items()))), query)   # same content, other key order
    assert again.status_code == 200 and again.body == SUCCESS
    assert table.instance(sign_id)['expires_at'] == '2027-12-22T02:53:20Z'
    assert len(event_payloads()) == 3
    record = table.marketplace_delivery('777000222')
    assert record['answer'] == '{"success":"true"}' and record['sign_id'] == sign_id
    assert json.loads(record['body'])['instanceExpireTime'] == '2026-12-22 10:53:20'


def test_an_error_is_answered_afresh_when_the_same_event_comes_again(client, frozen):
    """An error is not stored as the answer: a repeat after the cause is gone succeeds."""
    query = signed_query(event_id='777000333')
    renew = action('renewInstance', 'cm-later', instanceExpireTime='2026-12-22 10:53:20')
    assert deliver(client, renew, query).status_code == 404
    assert table.marketplace_delivery('777000333')['verdict'].startswith('not_found')
    assert_error(deliver(client, {**renew, 'signId': 'cm-other'}, query), 409, 'replayed_event')


def test_cloudmarket_disabled(client, frozen, paygate_env):
    from chalicelib import settings
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'false')
    settings.reset()
    assert_error(deliver(client, {'action': 'verifyInterface', 'echoback': 'x'}), 404, 'not_found')


def test_get_instance_for_the_merchant(client, frozen):
    sign_id = create(client, create_body(isTrial=True, timeSpan=7, timeUnit='d'))
    response = client.http.get(f'/instances/{sign_id}', headers=SECRET)
    assert response.status_code == 200
    shown = body_json(response)
    assert shown == {'sign_id': sign_id, 'order_id': 'MK20251122000001', 'open_id': 'openid-123',
                     'product_id': '1001', 'product_name': 'Paygate SaaS', 'spec': 'standard',
                     'trial': True, 'status': 'ACTIVE', 'active': True,
                     'created_at': '2025-11-22T02:53:20Z', 'expires_at': '2025-11-29T02:53:20Z',
                     'updated_at': '2025-11-22T02:53:20Z', 'expired_at': None, 'destroyed_at': None}
    frozen.set(NOW + timedelta(days=8))
    assert body_json(client.http.get(f'/instances/{sign_id}', headers=SECRET))['active'] is False
    assert client.http.get(f'/instances/{sign_id}', headers=PUBLISHABLE).status_code == 403
    assert client.http.get(f'/instances/{sign_id}').status_code == 401
    assert_error(client.http.get('/instances/cm-nothing', headers=SECRET), 404, 'not_found')


@pytest.mark.parametrize('backend', ['moto_table', 'local_table'])
def test_concurrent_creates_for_one_order_make_one_instance(request, backend, frozen):
    """20 creates for one orderId at once (10 with their own eventIds, 10 copies of one event),
    through a real HTTP server: one instance, one event, one signId in every answer."""
    request.getfixturevalue(backend)
    request.getfixturevalue('app_module')
    body = json.dumps(create_body('MK-concurrent')).encode()
    shared = signed_query(event_id='555000555')
    queries = [signed_query() for _ in range(10)] + [shared] * 10
    server = create_server('test', '127.0.0.1', 0)
    server.port = server.server.server_address[1]
    with BackgroundServer(server) as running, requests.Session() as session:
        session.mount('http://', requests.adapters.HTTPAdapter(pool_maxsize=20))

        def send(query):
            reply = session.post(f'{running.url}/cloudmarket?{urlencode(query)}', data=body,
                                 headers={'Content-Type': 'application/json'}, timeout=60)
            return reply.status_code, reply.text

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(send, queries))
    assert {status for status, _ in answers} == {200}
    assert len({json.loads(text)['signId'] for _, text in answers}) == 1
    assert len(items('INSTANCE#')) == 1 and len(items('CMORDER#')) == 1
    assert [e['type'] for e in event_payloads()] == ['instance.created']
    assert len(set(text for _, text in answers)) == 1


def test_instance_events_reach_the_merchant_webhooks(client, frozen, paygate_env):
    import json as json_lib
    from chalicelib import settings
    from chalicelib.webhooks import delivery
    from tests.helpers import SECRET
    paygate_env.setenv('PAYGATE_WEBHOOKS', json_lib.dumps(
        [{'id': 'saas', 'url': 'https://merchant.test/hooks', 'secrets': ['s'], 'events': ['instance.*']}]))
    settings.reset()
    sign_id = create(client)
    listed = body_json(client.http.get(f'/events?instance_id={sign_id}', headers=SECRET))['data']
    assert [(e['type'], e['delivery_status']) for e in listed] == [('instance.created', 'pending')]
    assert listed[0]['data']['instance']['sign_id'] == sign_id
    assert delivery.due(frozen.moment) == [(listed[0]['id'], 'saas')]
