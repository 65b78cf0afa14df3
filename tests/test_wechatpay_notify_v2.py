"""POST /notify/wechatpay (API v2 XML): what only v2 has (its signed fields, sign types, hostile XML, refunds in
req_info); the cases every notify route shares are in tests/test_contract.py."""
import logging

import pytest

from chalicelib import aws, settings
from tests import table
from tests.helpers import SECRET, body_json, post_json
from tests.wechatpay_fixtures import (KEY, OPENID, SUCCESS_XML, payment_fields, private_pem,
                                      refund_notification, v2_fields, v2_xml)

XML = {'Content-Type': 'text/xml'}
ORDER = {'provider': 'wechatpay', 'product_id': 'gold_60', 'payer': {'openid': OPENID}}
FAIL_PREFIX = b'<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA['


def client_certificate(keys):
    """v2 refunds need the client certificate configured; any PEM pair does for the mock."""
    return {'PAYGATE_WECHATPAY_CLIENT_CERT': keys.platform_cert,
            'PAYGATE_WECHATPAY_CLIENT_KEY': private_pem(keys.platform)}


def create_order(client, wechat):
    wechat.unifiedorder()
    response = post_json(client, '/orders', ORDER)
    assert response.status_code == 201, response.body
    return body_json(response)


@pytest.fixture
def order(wechatpay_env, wechat, client):
    wechatpay_env(version='v2', **client_certificate(wechat.keys))
    return create_order(client, wechat)


def notify(client, body, headers=XML):
    return client.http.post('/notify/wechatpay', headers=headers, body=body)


def items(prefix):
    found = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return [item for item in found if item['pk']['S'].startswith(prefix)]


def assert_success(response):
    assert response.status_code == 200
    assert response.body == SUCCESS_XML.encode()


def assert_fail(response, reason=None):
    assert response.status_code in (400, 413)
    assert response.body.startswith(FAIL_PREFIX), response.body
    if reason:
        assert f'<return_msg><![CDATA[{reason}]]></return_msg>'.encode() in response.body


def assert_unchanged(order_id):
    stored = table.order(order_id)
    assert stored['status'] == 'CREATED' and stored['version'] == 1
    assert items('EVENT#') == []


def test_unknown_fields_are_signed_too(client, order):
    fields = payment_fields(order['out_trade_no'], coupon_fee='0', coupon_type_0='CASH', new_field_2027='x')
    assert_success(notify(client, v2_xml(fields)))
    added_after_signing = v2_xml(payment_fields(order['out_trade_no'])).replace(
        b'</xml>', b'<promotion_detail><![CDATA[x]]></promotion_detail></xml>')
    assert_fail(notify(client, added_after_signing), 'invalid signature')


@pytest.mark.parametrize('field', ['return_msg', 'appid', 'mch_id', 'nonce_str', 'openid', 'is_subscribe',
                                   'trade_type', 'bank_type', 'total_fee', 'fee_type', 'cash_fee',
                                   'transaction_id', 'out_trade_no', 'time_end', 'sign'])
def test_each_tampered_field_is_refused(client, order, field):
    fields = v2_fields(v2_xml(payment_fields(order['out_trade_no'])))
    fields[field] = fields[field][:-1] + ('1' if fields[field][-1] != '1' else '2')
    body = ('<xml>' + ''.join(f'<{k}><![CDATA[{v}]]></{k}>' for k, v in fields.items()) + '</xml>').encode()
    assert_fail(notify(client, body), 'invalid signature')
    assert_unchanged(order['order_id'])
    [record] = items('NOTIFY#')
    assert record['verdict']['S'] == 'rejected'


@pytest.mark.parametrize('total_fee', ['599', '601', '6', '60000', '6.00', '-600'])
def test_wrong_amount_is_refused(client, order, total_fee):
    body = v2_xml(payment_fields(order['out_trade_no'], total_fee=total_fee))
    assert_fail(notify(client, body))
    assert_unchanged(order['order_id'])


def test_another_appid_is_refused(client, order):
    """WeChat names the app beside the merchant (another mch_id: tests/test_contract.py, wrong_merchant)."""
    body = v2_xml(payment_fields(order['out_trade_no'], appid='wx0000000000000000'))
    assert_fail(notify(client, body), 'not our appid or mch_id')
    assert_unchanged(order['order_id'])


def test_unknown_order_is_refused(client, order):
    assert_fail(notify(client, v2_xml(payment_fields('pg-not-ours-000'))), 'unknown order')
    assert_unchanged(order['order_id'])


def test_a_failed_payment_is_acknowledged_and_changes_nothing(client, order):
    fields = payment_fields(order['out_trade_no'], result_code='FAIL', err_code='ORDERCLOSED',
                            transaction_id=None)
    assert_success(notify(client, v2_xml(fields)))
    assert_unchanged(order['order_id'])
    [record] = items('NOTIFY#')
    assert record['verdict']['S'] == 'ignored' and 'ORDERCLOSED' in record['reason']['S']


@pytest.mark.parametrize('order_type, sent_type', [('HMAC-SHA256', 'HMAC-SHA256'), ('MD5', 'HMAC-SHA256'),
                                                   ('HMAC-SHA256', 'MD5')])
def test_a_notification_without_sign_type_verifies_with_either_algorithm_under_our_key(
        wechatpay_env, wechat, client, order_type, sent_type):
    """WeChat may leave sign_type out even for an HMAC-SHA256 order: verification does not read the
    order, it tries the configured algorithm and then the other; each needs the API key."""
    wechatpay_env(version='v2', sign_type=order_type)
    order = create_order(client, wechat)
    assert_fail(notify(client, v2_xml(payment_fields(order['out_trade_no']), key='x' * 32,
                                      sign_type=sent_type)), 'invalid signature')
    assert_success(notify(client, v2_xml(payment_fields(order['out_trade_no']), sign_type=sent_type)))
    assert table.order(order['order_id'])['status'] == 'PAID'


def test_a_notification_naming_its_sign_type_is_verified_with_that_one_only(wechatpay_env, wechat, client):
    wechatpay_env(version='v2', sign_type='MD5')
    order = create_order(client, wechat)
    fields = payment_fields(order['out_trade_no'], sign_type='HMAC-SHA256')
    assert_fail(notify(client, v2_xml(fields, sign_type='MD5')), 'invalid signature')
    assert_success(notify(client, v2_xml(fields, sign_type='HMAC-SHA256')))


XXE = b'''<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><return_code>SUCCESS</return_code><out_trade_no>&xxe;</out_trade_no></xml>'''
BILLION_LAUGHS = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b''.join(
    b'<!ENTITY lol%d "%s">' % (i, (b'&lol%d;' % (i - 1) if i > 1 else b'&lol;') * 10) for i in range(1, 10)
) + b']><xml><return_code>&lol9;</return_code></xml>'


@pytest.mark.parametrize('body', [XXE, BILLION_LAUGHS], ids=['xxe', 'billion_laughs'])
def test_hostile_xml_is_refused_without_expanding_entities(client, order, body):
    """Other malformed XML: tests/test_contract.py, the wechatpay kit's malformed bodies."""
    response = notify(client, body)
    assert_fail(response)
    assert b'root:' not in response.body
    assert_unchanged(order['order_id'])


def test_an_out_trade_no_that_cannot_be_ours_is_refused_without_error(client, order):
    response = notify(client, v2_xml(payment_fields('x' * 3000)))  # longer than a DynamoDB key may be
    assert response.status_code == 400
    assert_fail(response, 'unknown order')
    assert_unchanged(order['order_id'])


def test_oversized_body_is_413(client, order):
    body = v2_xml(payment_fields(order['out_trade_no'], attach='x' * 70000))
    response = notify(client, body)
    assert response.status_code == 413
    assert_fail(response)
    assert_unchanged(order['order_id'])


def paid_order_with_pending_refund(client, order, wechat, refund_no='refund-v2-0001', amount=600):
    assert_success(notify(client, v2_xml(payment_fields(order['out_trade_no']))))
    wechat.v2('/secapi/pay/refund', lambda sent: {'refund_id': '50000000382019052709732678859',
                                                  'out_refund_no': sent['out_refund_no']})
    response = post_json(client, f'/orders/{order["order_id"]}/refunds',
                         {'amount': amount, 'refund_no': refund_no}, SECRET)
    assert response.status_code == 202 and body_json(response)['status'] == 'PENDING'


def test_refund_notification_settles_the_refund(client, order, wechat):
    paid_order_with_pending_refund(client, order, wechat)
    body = refund_notification(order['out_trade_no'], 'refund-v2-0001')
    assert_success(notify(client, body))
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount'], stored['refund_pending_amount']) == ('REFUNDED', 600, 0)
    refund = table.refund(order['order_id'], 'refund-v2-0001')
    assert refund['refund_status'] == 'SUCCEEDED'
    assert refund['provider_refund_id'] == '50000000382019052709732678859'
    assert_success(notify(client, body))
    assert [e['type']['S'] for e in items('EVENT#')].count('order.refunded') == 1


def test_refund_closed_releases_the_pending_amount(client, order, wechat):
    paid_order_with_pending_refund(client, order, wechat, amount=200)
    assert_success(notify(client, refund_notification(order['out_trade_no'], 'refund-v2-0001',
                                                      refund_fee='200', status='REFUNDCLOSE')))
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount'], stored['refund_pending_amount']) == ('PAID', 0, 0)
    assert table.refund(order['order_id'], 'refund-v2-0001')['refund_status'] == 'FAILED'


@pytest.mark.parametrize('change', [{'key': '0' * 32}, {'appid': 'wx0000000000000000'},
                                    {'mch_id': '1900000999'}, {'total_fee': '601'}])
def test_forged_refund_notifications_are_refused(client, order, wechat, change):
    paid_order_with_pending_refund(client, order, wechat)
    before = table.order(order['order_id'])
    assert_fail(notify(client, refund_notification(order['out_trade_no'], 'refund-v2-0001', **change)))
    assert table.order(order['order_id']) == before
    assert table.refund(order['order_id'], 'refund-v2-0001')['refund_status'] == 'PENDING'


def test_refund_notification_with_damaged_req_info_is_refused(client, order, wechat):
    paid_order_with_pending_refund(client, order, wechat)
    fields = v2_fields(refund_notification(order['out_trade_no'], 'refund-v2-0001'))
    fields['req_info'] = fields['req_info'][:20] + ('A' if fields['req_info'][20] != 'A' else 'B') + \
        fields['req_info'][21:]
    body = ('<xml>' + ''.join(f'<{k}><![CDATA[{v}]]></{k}>' for k, v in fields.items()) + '</xml>').encode()
    assert_fail(notify(client, body))
    assert table.refund(order['order_id'], 'refund-v2-0001')['refund_status'] == 'PENDING'


def test_refused_notifications_are_logged_without_secrets(client, order, notify_log):
    notify(client, v2_xml(payment_fields(order['out_trade_no']), key='0' * 32))
    assert [r.levelno for r in notify_log.records] == [logging.WARNING], notify_log.text
    assert 'signature' in notify_log.text and KEY not in notify_log.text
