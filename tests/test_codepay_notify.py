"""POST /notify/codepay: what only Codepay has (price and quoted money, every field signed, the optional
merchant id); the cases every notify route shares are in tests/test_contract.py."""

import pytest

from tests import table
from tests.codepay_fixtures import expect_create
from tests.conftest import CODEPAY_ID
from tests.openapi_check import check_response
from tests.helpers import (FORM, PUBLISHABLE, SECRET, assert_text_answer, assert_unchanged, body_json, event_bodies,
                           codepay_notification, form_body, post_json, table_items)

ORDER = {'provider': 'codepay', 'product_id': 'gold_60', 'payer': {'channel': 'alipay'}}


@pytest.fixture
def order(client, http_mock):
    expect_create(http_mock)
    return body_json(post_json(client, '/orders', ORDER))


def notify(client, fields=None, body=None, headers=FORM):
    return client.http.post('/notify/codepay', headers=headers,
                            body=body if body is not None else form_body(fields))


def test_unknown_fields_are_signed_too(client, order):
    fields = codepay_notification(order['out_trade_no'], trade_tag='new-field')
    assert_text_answer(notify(client, fields), 'success')


@pytest.mark.parametrize('field, value', [
    ('money', '0.01'), ('pay_id', 'someone-else'), ('pay_no', 'CP2'), ('type', '3'),
    ('price', '0.01'), ('param', 'x'), ('pay_time', '1'), ('pay_tag', 'x'), ('sign', '0' * 32),
])
def test_a_tampered_field_is_refused(client, order, field, value):
    fields = codepay_notification(order['out_trade_no'])
    fields[field] = value
    response = notify(client, fields)
    assert response.status_code == 400
    assert_text_answer(response, 'fail')
    assert_unchanged(order['order_id'])
    [record] = table_items('NOTIFY#')
    assert record['verdict']['S'] == 'rejected'


def test_a_field_added_after_signing_is_refused(client, order):
    fields = {**codepay_notification(order['out_trade_no']), 'extra': '1'}
    assert_text_answer(notify(client, fields), 'fail')
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('pay_no', ['', None])
def test_pay_no_is_required_even_when_signed(client, order, pay_no):
    fields = codepay_notification(order['out_trade_no'], pay_no=pay_no or '')
    if pay_no is None:
        del fields['pay_no']
        from tests.helpers import codepay_sign
        fields['sign'] = codepay_sign(fields)
    assert_text_answer(notify(client, fields), 'fail')
    assert_unchanged(order['order_id'])


@pytest.mark.parametrize('money', ['5.99', '6.01', '0.06', '600'])
def test_wrong_amount_is_refused(client, order, money):
    response = notify(client, codepay_notification(order['out_trade_no'], money=money))
    assert_text_answer(response, 'fail')
    assert_unchanged(order['order_id'])
    record = table.notification('codepay', 'CP20261122000001')
    assert record['verdict'] == 'rejected' and record['reason'].startswith('amount')


@pytest.fixture
def quoted_order(client, http_mock):
    """A 6.00 order for which Codepay quoted 5.99 (it tells concurrent orders of one price apart)."""
    expect_create(http_mock, money='5.99')
    created = body_json(post_json(client, '/orders', ORDER))
    assert created['amount'] == 600 and created['client_params']['money'] == 599
    return created


def test_paying_the_quoted_amount_pays_the_order(client, quoted_order):
    fields = codepay_notification(quoted_order['out_trade_no'], price='6.00', money='5.99')
    assert_text_answer(notify(client, fields), 'success')
    stored = table.order(quoted_order['order_id'])
    assert (stored['status'], stored['amount'], stored['paid_amount']) == ('PAID', 600, 599)
    shown = body_json(client.http.get(f'/orders/{quoted_order["order_id"]}', headers=PUBLISHABLE))
    assert (shown['amount'], shown['paid_amount']) == (600, 599)


@pytest.mark.parametrize('price, money', [('6.00', '5.98'), ('6.00', '6.00'), ('5.99', '5.99'),
                                          ('6.01', '5.99')])
def test_a_payment_other_than_the_quote_or_for_another_price_is_refused(client, quoted_order, price, money):
    fields = codepay_notification(quoted_order['out_trade_no'], price=price, money=money)
    assert_text_answer(notify(client, fields), 'fail')
    assert_unchanged(quoted_order['order_id'])
    assert table.notification('codepay', 'CP20261122000001')['reason'].startswith('amount')


def test_a_notification_without_price_is_refused(client, order):
    fields = codepay_notification(order['out_trade_no'])
    del fields['price']
    from tests.helpers import codepay_sign
    fields['sign'] = codepay_sign(fields)
    assert_text_answer(notify(client, fields), 'fail')
    assert_unchanged(order['order_id'])


def test_the_same_amount_written_differently_is_accepted(client, order):
    assert_text_answer(notify(client, codepay_notification(order['out_trade_no'], money='6')), 'success')


def test_a_notification_naming_our_merchant_id_pays(client, order):
    """id is optional; when sent it must be ours (another one: tests/test_contract.py, wrong_merchant)."""
    assert_text_answer(notify(client, codepay_notification(order['out_trade_no'], id=CODEPAY_ID)), 'success')
    assert table.order(order['order_id'])['status'] == 'PAID'


def test_unknown_order_is_refused(client, order):
    response = notify(client, codepay_notification('pg-not-ours-123'))
    assert_text_answer(response, 'fail')
    assert_unchanged(order['order_id'])


def test_a_second_payment_of_a_paid_order_is_an_order_paid_again_event(client, order):
    assert_text_answer(notify(client, codepay_notification(order['out_trade_no'])), 'success')
    paid = table.order(order['order_id'])
    second = codepay_notification(order['out_trade_no'], pay_no='CP-second')
    assert_text_answer(notify(client, second), 'success')
    assert_text_answer(notify(client, second), 'success')
    assert table.order(order['order_id']) == paid
    record = table.notification('codepay', 'CP-second')
    assert record['verdict'] == 'applied' and record['reason'] == 'order.paid_again'
    response = client.http.get(f'/events?order_id={order["order_id"]}', headers=SECRET)
    check_response('GET', '/events', response)
    listed = body_json(response)['data']
    assert [event['type'] for event in listed] == ['order.paid', 'order.paid_again']
    assert listed[1]['data']['paid_again'] == {'provider_trade_no': 'CP-second',
                                               'first_provider_trade_no': 'CP20261122000001',
                                               'amount': 600, 'paid_amount': 600}
    assert listed[1]['data']['order']['status'] == 'PAID'


def test_the_same_trade_reported_again_under_another_id_changes_nothing(client, order):
    assert_text_answer(notify(client, codepay_notification(order['out_trade_no'])), 'success')
    paid = table.order(order['order_id'])
    from tests.helpers import apply_verified
    from chalicelib.providers.contract import PAID, Notification
    again = Notification(event_id='another-id', kind=PAID, out_trade_no=order['out_trade_no'], amount=600,
                         provider_trade_no='CP20261122000001')
    assert apply_verified('codepay', again) == 'ignored'
    assert table.order(order['order_id']) == paid and len(event_bodies()) == 1


def test_a_valid_notification_with_the_wrong_content_type_is_refused(client, order):
    response = notify(client, body=form_body(codepay_notification(order['out_trade_no'])),
                      headers={'Content-Type': 'text/plain'})
    assert_text_answer(response, 'fail')
    assert_unchanged(order['order_id'])


def test_oversized_body_is_413(client, order):
    fields = codepay_notification(order['out_trade_no'], param='x' * 70000)
    response = notify(client, fields)
    assert response.status_code == 413
    assert_text_answer(response, 'fail')
    assert_unchanged(order['order_id'])


def test_refused_notifications_are_recorded_once_and_counted(client, order):
    fields = codepay_notification(order['out_trade_no'], key='wrong')
    notify(client, fields)
    notify(client, fields)
    [record] = table_items('NOTIFY#')
    assert record['seen_count']['N'] == '2'
    assert record['reason']['S'].startswith('signature')
    assert 'ttl' in record


def test_payment_after_a_close_still_pays(client, order):
    from tests.helpers import SECRET
    assert post_json(client, f'/orders/{order["order_id"]}/close', {}, SECRET).status_code == 200
    assert_text_answer(notify(client, codepay_notification(order['out_trade_no'])), 'success')
    assert table.order(order['order_id'])['status'] == 'PAID'
    assert [e['type']['S'] for e in table_items('EVENT#')].count('order.paid') == 1
