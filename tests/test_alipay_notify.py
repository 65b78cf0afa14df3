"""POST /notify/alipay: what only Alipay has (its signing and encodings, GBK, seller_id, trade statuses,
cumulative refund_fee); the cases every notify route shares are in tests/test_contract.py."""
from urllib.parse import quote_plus

import pytest

from chalicelib import settings
from tests import alipay_sdk, table
from tests.alipay_fixtures import APP_ID, NOTIFY_ID, ORDER, expect_gateway, fields_for, signed
from tests.helpers import FORM, SECRET, assert_text_answer, assert_unchanged, body_json, post_json, table_items


@pytest.fixture
def order(alipay_env, client):
    created = post_json(client, '/orders', ORDER)
    assert created.status_code == 201, created.body
    return body_json(created)


def notify(client, fields=None, body=None, charset='utf-8'):
    if body is None:
        body = alipay_sdk.form_body(fields, charset)
    return client.http.post('/notify/alipay', headers=FORM, body=body)


def event_types():
    return sorted(e['type']['S'] for e in table_items('EVENT#'))


def test_every_signed_field_is_covered(client, order, alipay_keys):
    """Change any one field after signing (sign_type too: it must be RSA2): refused, nothing changes."""
    fields = signed(alipay_keys, order)
    for name in fields:
        tampered = dict(fields)
        tampered[name] = fields[name][:-1] + ('1' if fields[name][-1:] != '1' else '2')
        response = notify(client, tampered)
        assert response.status_code == 400, name
        assert_text_answer(response, 'fail')
    for name in ('sign', 'sign_type', 'notify_id', 'out_trade_no', 'total_amount', 'app_id', 'seller_id',
                 'trade_status', 'subject'):
        assert_text_answer(notify(client, {k: v for k, v in fields.items() if k != name}), 'fail')
    assert_text_answer(notify(client, {**fields, 'refund_fee': '6.00'}), 'fail')
    assert_unchanged(order['order_id'])
    assert {item['verdict']['S'] for item in table_items('NOTIFY#')} == {'rejected'}


def test_sign_with_plus_and_slash_survives_form_encoding(client, order, alipay_keys):
    for attempt in range(50):
        fields = signed(alipay_keys, order, notify_id=f'{NOTIFY_ID}{attempt}')
        if '+' in fields['sign'] and '/' in fields['sign']:
            break
    body = alipay_sdk.form_body(fields)
    assert b'%2B' in body and b'%2F' in body
    assert_text_answer(notify(client, body=body), 'success')


def test_a_plus_decoded_to_a_space_is_refused(client, order, alipay_keys):
    for attempt in range(50):
        fields = signed(alipay_keys, order, notify_id=f'{NOTIFY_ID}{attempt}')
        if '+' in fields['sign']:
            break
    body = alipay_sdk.form_body(fields).replace(b'%2B', b'+')
    assert_text_answer(notify(client, body=body), 'fail')
    assert_unchanged(order['order_id'])


def test_fund_bill_list_json_is_verified_as_received(client, order, alipay_keys):
    fields = signed(alipay_keys, order)
    assert b'fund_bill_list=%5B%7B%22amount%22' in alipay_sdk.form_body(fields)
    escaped = {**fields, 'fund_bill_list': fields['fund_bill_list'].replace('"', '&quot;')}
    assert_text_answer(notify(client, escaped), 'fail')
    assert_text_answer(notify(client, fields), 'success')


def test_empty_values_are_left_out_of_the_signature(client, order, alipay_keys):
    fields = signed(alipay_keys, order, body='', passback_params='', out_biz_no='')
    assert alipay_sdk.form_body(fields).count(b'=&') == 3
    assert_text_answer(notify(client, fields), 'success')


def test_empty_values_kept_in_the_signature_like_the_java_sdk_verifies(client, order, alipay_keys):
    fields = fields_for(order, body='', passback_params='')
    text = '&'.join(f'{k}={fields[k]}' for k in sorted(fields) if k not in ('sign', 'sign_type'))
    assert_text_answer(notify(client, {**fields, 'sign': alipay_keys.alipay.sign(text)}), 'success')


def test_gbk_notification_is_decoded_and_verified_in_gbk(client, order, alipay_keys):
    fields = signed(alipay_keys, order, 'gbk', charset='gbk', subject='60 金币（礼包）')
    body = alipay_sdk.form_body(fields, 'gbk')
    assert quote_plus('金'.encode('gbk')).encode() in body
    assert_text_answer(notify(client, body=body), 'success')
    assert table.order(order['order_id'])['status'] == 'PAID'


def test_gbk_declared_but_signed_over_utf8_is_refused(client, order, alipay_keys):
    fields = signed(alipay_keys, order, 'utf-8', charset='gbk', subject='60 金币')
    assert_text_answer(notify(client, body=alipay_sdk.form_body(fields, 'gbk')), 'fail')
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('amount', ['5.99', '6.01', '0.06', '600', '6.001', '-6.00'])
def test_wrong_amount_is_refused(client, order, alipay_keys, amount):
    assert_text_answer(notify(client, signed(alipay_keys, order, total_amount=amount)), 'fail')
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('amount', ['6', '6.0', '6.00'])
def test_the_same_amount_written_differently_is_accepted(client, order, alipay_keys, amount):
    assert_text_answer(notify(client, signed(alipay_keys, order, total_amount=amount)), 'success')


def test_another_seller_is_refused(client, order, alipay_keys):
    """Alipay names the seller beside the app (another app_id: tests/test_contract.py, wrong_merchant)."""
    assert_text_answer(notify(client, signed(alipay_keys, order, seller_id='2088999999999999')), 'fail')
    assert_unchanged(order['order_id'])
    [record] = table_items('NOTIFY#')
    assert record['reason']['S'].startswith('merchant')


def test_the_seller_id_is_a_required_setting(alipay_env, paygate_env):
    """Every notification's seller_id is checked, so Alipay cannot be enabled without it."""
    paygate_env.delenv('PAYGATE_ALIPAY_SELLER_ID')
    settings.reset()
    with pytest.raises(settings.SettingsError, match='PAYGATE_ALIPAY_SELLER_ID'):
        settings.get()


def test_a_notification_without_seller_id_is_refused(client, order, alipay_keys):
    assert_text_answer(notify(client, signed(alipay_keys, order, seller_id=None)), 'fail')
    assert_unchanged(order['order_id'])


def test_unknown_order_is_refused(client, order, alipay_keys):
    assert_text_answer(notify(client, signed(alipay_keys, {'out_trade_no': 'pg-not-ours-1'})), 'fail')
    assert_unchanged(order['order_id'])


def test_wait_buyer_pay_is_acknowledged_and_changes_nothing(client, order, alipay_keys):
    assert_text_answer(notify(client, signed(alipay_keys, order, trade_status='WAIT_BUYER_PAY')), 'success')
    assert_unchanged(order['order_id'])
    assert table.notification('alipay', NOTIFY_ID)['verdict'] == 'ignored'


def test_trade_closed_closes_an_unpaid_order(client, order, alipay_keys):
    assert_text_answer(notify(client, signed(alipay_keys, order, trade_status='TRADE_CLOSED')), 'success')
    assert table.order(order['order_id'])['status'] == 'CLOSED'
    assert event_types() == ['order.closed']


def test_trade_finished_after_payment_changes_nothing(client, order, alipay_keys):
    assert_text_answer(notify(client, signed(alipay_keys, order)), 'success')
    finished = signed(alipay_keys, order, notify_id='finished-1', trade_status='TRADE_FINISHED')
    assert_text_answer(notify(client, finished), 'success')
    assert event_types() == ['order.paid']


def test_rsa1_signatures_are_refused(client, order, alipay_keys):
    assert_text_answer(notify(client, signed(alipay_keys, order, sign_type='RSA')), 'fail')
    assert_unchanged(order['order_id'])


def test_python_alipay_sdk_signer_is_accepted_and_agrees_with_the_test_signer(client, order, alipay_keys):
    """Notifications signed with python-alipay-sdk (holding the "Alipay" key) are accepted."""
    from alipay import AliPay
    alipay_side = AliPay(appid=APP_ID, app_private_key_string=alipay_keys.alipay.private_pem,
                         alipay_public_key_string=alipay_keys.alipay.public_pem)
    fields = {k: v for k, v in fields_for(order).items() if k != 'sign_type'}
    body = alipay_side.sign_data(dict(fields)) + '&sign_type=RSA2'
    assert_text_answer(notify(client, body=body.encode('ascii')), 'success')
    ours = signed(alipay_keys, order)
    sign = ours.pop('sign')
    assert alipay_side.verify(ours, sign)


def test_refund_notifications_out_of_order_keep_the_total_right(client, order, alipay_keys):
    """refund_fee is cumulative: a later total arriving first covers the earlier refund too."""
    assert_text_answer(notify(client, signed(alipay_keys, order)), 'success')
    first = signed(alipay_keys, order, notify_id='refund-n1', refund_fee='2.00', out_biz_no='console-0001',
                   gmt_refund='2026-11-22 17:00:00.123')
    second = signed(alipay_keys, order, notify_id='refund-n2', refund_fee='5.00', out_biz_no='console-0002')
    assert_text_answer(notify(client, second), 'success')
    assert_text_answer(notify(client, first), 'success')
    assert table.order(order['order_id'])['refunded_amount'] == 500
    assert table.notification('alipay', 'refund-n1')['reason'] == 'refunds of 200 fen in total are already recorded'
    full = signed(alipay_keys, order, notify_id='refund-n3', refund_fee='6.00', out_biz_no='console-0003',
                  trade_status='TRADE_CLOSED')
    assert_text_answer(notify(client, full), 'success')
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount']) == ('REFUNDED', 600)
    assert table.refund(order['order_id'], 'console-0003')['amount'] == 100
    assert_text_answer(notify(client, full), 'success')
    assert table.order(order['order_id']) == stored


def test_refund_notification_in_order_gives_each_refunds_amount(client, order, alipay_keys):
    assert_text_answer(notify(client, signed(alipay_keys, order)), 'success')
    for number, total in ((1, '2.00'), (2, '5.00')):
        fields = signed(alipay_keys, order, notify_id=f'refund-{number}', refund_fee=total)
        assert_text_answer(notify(client, fields), 'success')
    assert table.refund(order['order_id'], 'alipay-refund-fee-200')['amount'] == 200
    assert table.refund(order['order_id'], 'alipay-refund-fee-500')['amount'] == 300
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['refunded_amount']) == ('PAID', 500)
    assert event_types() == ['order.paid', 'order.refunded', 'order.refunded']


def test_refund_notification_settles_a_pending_refund(client, order, alipay_keys, http_mock):
    assert_text_answer(notify(client, signed(alipay_keys, order)), 'success')
    expect_gateway(http_mock, alipay_keys, {
        'alipay.trade.refund': {'code': '20000', 'msg': 'Service Currently Unavailable',
                                'sub_code': 'isp.unknow-error'}})
    asked = post_json(client, f'/orders/{order["order_id"]}/refunds',
                      {'amount': 200, 'refund_no': 'refund-0001'}, SECRET)
    assert asked.status_code == 202
    fields = signed(alipay_keys, order, notify_id='refund-n1', refund_fee='2.00', out_biz_no='refund-0001')
    assert_text_answer(notify(client, fields), 'success')
    assert table.refund(order['order_id'], 'refund-0001')['refund_status'] == 'SUCCEEDED'
    stored = table.order(order['order_id'])
    assert (stored['refunded_amount'], stored['refund_pending_amount']) == (200, 0)
