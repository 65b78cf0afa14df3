"""POST /notify/wechatpay/v3 (API v3 JSON): what only v3 has (key choice by serial, certificate or public key,
the signed parts, the timestamp window, probes, refunds); the cases every notify route shares are in
tests/test_contract.py."""
import json
import logging
import time

import pytest

from chalicelib import aws, settings
from chalicelib.store import keys as key_store
from tests import table
from tests.helpers import SECRET, body_json, post_json
from tests.wechatpay_fixtures import (APIV3_KEY, OPENID, PLATFORM_SERIAL, PUB_KEY_ID, refund_resource,
                                      signed_headers, transaction, v3_notification)

ORDER = {'provider': 'wechatpay', 'product_id': 'gold_60', 'payer': {'openid': OPENID}}


@pytest.fixture
def order(wechat, client):
    wechat.jsapi()
    response = post_json(client, '/orders', ORDER)
    assert response.status_code == 201, response.body
    return body_json(response)


@pytest.fixture
def keys(wechatpay_keys):
    return wechatpay_keys


def notify(client, headers, body):
    return client.http.post('/notify/wechatpay/v3', headers=headers, body=body)


def paid_notification(keys, out_trade_no, timestamp=None, **change):
    return v3_notification(transaction(out_trade_no, **change), keys.wechat, PUB_KEY_ID,
                           timestamp or int(time.time()))


def items(prefix):
    found = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return [item for item in found if item['pk']['S'].startswith(prefix)]


def assert_fail(response):
    assert 400 <= response.status_code < 500
    assert body_json(response)['code'] == 'FAIL' and body_json(response)['message']


def assert_unchanged(order_id):
    stored = table.order(order_id)
    assert stored['status'] == 'CREATED' and stored['version'] == 1
    assert items('EVENT#') == []


def test_platform_certificate_and_public_key_both_verify(client, order, keys):
    """Mid-migration WeChat signs with either; a cached platform certificate is used by serial."""
    key_store.save('wechatpay', [(PLATFORM_SERIAL, keys.platform_cert, '2026-01-01T00:00:00+08:00',
                                  '2036-01-01T00:00:00+08:00')])
    key_store.forget()  # read it back from DynamoDB, as a new container would
    headers, body = v3_notification(transaction(order['out_trade_no']), keys.platform, PLATFORM_SERIAL,
                                    int(time.time()))
    assert notify(client, headers, body).status_code == 204
    assert table.order(order['order_id'])['status'] == 'PAID'
    headers, body = paid_notification(keys, order['out_trade_no'])
    assert notify(client, headers, body).status_code == 204


def test_unknown_serial_is_refused_without_downloading(client, order, keys):
    headers, body = v3_notification(transaction(order['out_trade_no']), keys.platform, PLATFORM_SERIAL,
                                    int(time.time()))
    assert_fail(notify(client, headers, body))  # http_mock fails the test on any unexpected request
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('serial', ['F' * 3000, '../../etc', 'PUB_KEY_ID_X'])
def test_odd_serials_are_refused_without_error(client, order, keys, serial):
    headers, body = v3_notification(transaction(order['out_trade_no']), keys.wechat, serial, int(time.time()))
    response = notify(client, headers, body)
    assert response.status_code == 400
    assert_unchanged(order['order_id'])


def test_expired_platform_certificate_is_refused(client, order, keys):
    key_store.save('wechatpay', [(PLATFORM_SERIAL, keys.platform_cert, '2020-01-01T00:00:00+08:00',
                                  '2025-01-01T00:00:00+08:00')])
    headers, body = v3_notification(transaction(order['out_trade_no']), keys.platform, PLATFORM_SERIAL,
                                    int(time.time()))
    assert_fail(notify(client, headers, body))
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('part', ['body', 'timestamp', 'nonce', 'signature', 'serial'])
def test_each_tampered_part_is_refused(client, order, keys, part):
    headers, body = paid_notification(keys, order['out_trade_no'])
    if part == 'body':
        body = body.replace(b'"summary": "', b'"summary": "x')
    elif part == 'timestamp':
        headers['Wechatpay-Timestamp'] = str(int(headers['Wechatpay-Timestamp']) - 1)
    elif part == 'nonce':
        headers['Wechatpay-Nonce'] = headers['Wechatpay-Nonce'][:-1] + 'X'
    elif part == 'signature':
        signature = headers['Wechatpay-Signature']
        headers['Wechatpay-Signature'] = signature[:10] + ('A' if signature[10] != 'A' else 'B') + signature[11:]
    else:
        headers['Wechatpay-Serial'] = PUB_KEY_ID[:-1] + '2'
    assert_fail(notify(client, headers, body))
    assert_unchanged(order['order_id'])


def test_reserialised_body_is_refused(client, order, keys):
    headers, body = paid_notification(keys, order['out_trade_no'])
    assert_fail(notify(client, headers, json.dumps(json.loads(body), separators=(',', ':')).encode()))
    assert_unchanged(order['order_id'])


def test_resource_encrypted_with_another_apiv3_key_is_refused(client, order, keys):
    headers, body = v3_notification(transaction(order['out_trade_no']), keys.wechat, PUB_KEY_ID,
                                    int(time.time()), apiv3_key=APIV3_KEY[::-1])
    assert_fail(notify(client, headers, body))
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('change', [{'amount': {'total': 599, 'payer_total': 599, 'currency': 'CNY'}},
                                    {'amount': {'total': 60000}}, {'amount': {'total': '600'}},
                                    {'appid': 'wx0000000000000000'},
                                    {'trade_state': 'NOTPAY'}, {'out_trade_no': 'pg-not-ours-000'}])
def test_wrong_business_fields_are_refused(client, order, keys, change):
    change = dict(change)
    headers, body = paid_notification(keys, change.pop('out_trade_no', order['out_trade_no']), **change)
    assert_fail(notify(client, headers, body))
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('age', [301, 3600, -301])
def test_stale_or_future_timestamps_are_refused(client, order, keys, age):
    headers, body = paid_notification(keys, order['out_trade_no'], timestamp=int(time.time()) - age)
    assert_fail(notify(client, headers, body))
    assert_unchanged(order['order_id'])


def test_probe_signature_is_refused_quietly(client, order, keys, notify_log):
    headers, body = paid_notification(keys, order['out_trade_no'])
    headers['Wechatpay-Signature'] = 'WECHATPAY/SIGNTEST/' + headers['Wechatpay-Signature']
    response = notify(client, headers, body)
    assert_fail(response)
    assert_unchanged(order['order_id'])
    assert [r.levelno for r in notify_log.records] == [logging.INFO]
    assert 'probe' in notify_log.text


@pytest.mark.parametrize('body', [
    b'not json', b'{"resource": "x"}', b'[]',
    b'{"event_type": "TRANSACTION.SUCCESS", "resource": {"algorithm": "AEAD_AES_256_GCM", '
    b'"ciphertext": "!!", "nonce": "n", "associated_data": ""}}',
])
def test_signed_but_malformed_notifications_are_refused(client, order, keys, body):
    """Signed by WeChat Pay, unreadable after (unsigned ones: tests/test_contract.py, the wechatpay/v3 kit)."""
    headers = {**signed_headers(body, keys.wechat, PUB_KEY_ID, int(time.time())), 'Content-Type': 'application/json'}
    assert_fail(notify(client, headers, body))
    assert_unchanged(order['order_id'])


def test_refund_notifications_settle_or_release_refunds(client, order, keys, wechat):
    assert notify(client, *paid_notification(keys, order['out_trade_no'])).status_code == 204
    for refund_no, amount in (('refund-v3-0001', 100), ('refund-v3-0002', 200)):
        wechat.v3('POST', '/v3/refund/domestic/refunds',
                  body={'refund_id': f'503{refund_no}', 'out_refund_no': refund_no, 'status': 'PROCESSING'})
        response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                             {'amount': amount, 'refund_no': refund_no}, SECRET)
        assert response.status_code == 202
    now = int(time.time())
    done = v3_notification(refund_resource(order['out_trade_no'], 'refund-v3-0001', refund=100), keys.wechat,
                           PUB_KEY_ID, now, event_type='REFUND.SUCCESS', notification_id='EV-R1')
    closed = v3_notification(refund_resource(order['out_trade_no'], 'refund-v3-0002', refund=200,
                                             status='CLOSED'), keys.wechat, PUB_KEY_ID, now,
                             event_type='REFUND.CLOSED', notification_id='EV-R2')
    assert notify(client, *done).status_code == 204
    assert notify(client, *closed).status_code == 204
    assert notify(client, *done).status_code == 204
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount'], stored['refund_pending_amount']) == ('PAID', 100, 0)
    assert table.refund(order['order_id'], 'refund-v3-0001')['refund_status'] == 'SUCCEEDED'
    assert table.refund(order['order_id'], 'refund-v3-0002')['refund_status'] == 'FAILED'
    types = [e['type']['S'] for e in items('EVENT#')]
    assert sorted(types) == ['order.paid', 'order.refunded']


def test_refund_notification_for_another_merchant_is_refused(client, order, keys):
    assert notify(client, *paid_notification(keys, order['out_trade_no'])).status_code == 204
    resource = {**refund_resource(order['out_trade_no'], 'console-1'), 'mchid': '1900000999'}
    assert_fail(notify(client, *v3_notification(resource, keys.wechat, PUB_KEY_ID, int(time.time()),
                                                event_type='REFUND.SUCCESS')))
    assert table.order(order['order_id'])['refunded_amount'] == 0


def test_v2_route_still_serves_orders_made_with_v2_after_switching_to_v3(wechatpay_env, wechat, client):
    from tests.wechatpay_fixtures import payment_fields, v2_xml
    wechatpay_env(version='v2')
    wechat.unifiedorder()
    order = body_json(post_json(client, '/orders', ORDER))
    wechatpay_env(version='v3')
    response = client.http.post('/notify/wechatpay', headers={'Content-Type': 'text/xml'},
                                body=v2_xml(payment_fields(order['out_trade_no'])))
    assert response.status_code == 200
    assert table.order(order['order_id'])['status'] == 'PAID'
