"""Matching a bill against Paygate's books, outcome by outcome (chalicelib/reconciliation/matching.py)."""
from chalicelib.providers.bill import BillLine
from chalicelib.reconciliation.matching import Books, Recorded, here_only, match, totals

NO = 'pg20261122091520a1b2c3d4e5f6'
TRADE = '4200001234202611220000000101'


def order(status='PAID', amount=600, trade=TRADE, provider='wechatpay', **fields):
    return {'order_id': 'ord_x', 'out_trade_no': NO, 'provider': provider, 'status': status, 'amount': amount,
            'provider_trade_no': trade if status in ('PAID', 'REFUNDED') else None, **fields}


def payment(amount=600, trade=TRADE, status='SUCCESS', succeeded=True):
    return BillLine('payment', NO, trade, amount, 4, status, time='2026-11-22T01:15:30Z', succeeded=succeeded)


def refund_line(amount=600, refund_no='rf1', succeeded=True):
    return BillLine('refund', NO, TRADE, amount, -4, 'SUCCESS' if succeeded else 'PROCESSING', refund_no=refund_no,
                    succeeded=succeeded)


def refund(status='SUCCEEDED', amount=600, refund_no='rf1'):
    return {'refund_no': refund_no, 'out_trade_no': NO, 'amount': amount, 'refund_status': status}


def outcome_of(lines, books, recorded=()):
    [line] = match('wechatpay', lines, books, list(recorded))
    return line['outcome'], line['detail']


def test_a_payment_both_sides_agree_on_is_matched_with_both_sides_shown():
    [line] = match('wechatpay', [payment()], Books({NO: order()}), [Recorded('payment', NO, TRADE, amount=600)])
    assert line == {'key': f'payment#{NO}#{TRADE}', 'kind': 'payment', 'outcome': 'matched', 'detail': '',
                    'out_trade_no': NO, 'order_id': 'ord_x', 'provider_trade_no': TRADE, 'refund_no': None,
                    'bill_amount': 600, 'bill_fee': 4, 'bill_status': 'SUCCESS', 'bill_time': '2026-11-22T01:15:30Z',
                    'here_amount': 600, 'here_status': 'PAID', 'resolution': None}


def test_a_payment_of_an_order_open_or_unknown_here_is_missing_here():
    assert outcome_of([payment()], Books({NO: order(status='CREATED')})) == ('missing_here',
                                                                             'the order is CREATED here')
    assert outcome_of([payment()], Books({NO: order(status='CLOSED')}))[0] == 'missing_here'
    assert outcome_of([payment()], Books({})) == ('missing_here', 'no such order here')
    assert outcome_of([payment()], Books({NO: order(provider='alipay')})) == ('missing_here', 'no such order here')


def test_a_payment_recorded_here_but_not_in_the_bill_is_missing_there():
    [line] = match('wechatpay', [], Books({NO: order()}), [Recorded('payment', NO, TRADE, amount=600)])
    assert (line['outcome'], line['bill_amount'], line['here_amount']) == ('missing_there', None, 600)


def test_a_record_the_previous_days_bill_had_is_not_missing_there():
    recorded = [Recorded('payment', NO, TRADE, amount=600)]
    assert match('wechatpay', [], Books({NO: order()}), recorded, billed_before={f'payment#{NO}#{TRADE}'}) == []


def test_a_payment_of_another_amount_is_an_amount_mismatch():
    assert outcome_of([payment(amount=500)], Books({NO: order()})) == (
        'amount_mismatch', 'the bill says 5.00 yuan, the order 6.00')
    assert outcome_of([payment(amount=500)], Books({NO: order(paid_amount=500)}))[0] == 'matched'


def test_another_trade_of_a_paid_order_is_a_status_mismatch_unless_paygate_recorded_it_as_paid_again():
    second = '4200001234202611220000000999'
    assert outcome_of([payment(trade=second)], Books({NO: order()}))[0] == 'status_mismatch'
    recorded = [Recorded('payment', NO, TRADE, amount=600), Recorded('payment', NO, second, amount=600)]
    lines = match('wechatpay', [payment(), payment(trade=second)], Books({NO: order()}), recorded)
    assert [line['outcome'] for line in lines] == ['matched', 'matched']
    assert 'order.paid_again' in lines[1]['detail']


def test_a_payment_the_bill_lists_as_not_succeeded_must_not_be_paid_here():
    assert outcome_of([payment(status='REVOKED', succeeded=False)], Books({NO: order()}))[0] == 'status_mismatch'
    assert outcome_of([payment(status='REVOKED', succeeded=False)],
                      Books({NO: order(status='CLOSED')}))[0] == 'matched'


def test_a_refund_paygate_did_not_make_or_of_another_amount_is_a_refund_mismatch():
    assert outcome_of([refund_line()], Books({NO: order()})) == (
        'refund_mismatch', 'a refund made outside Paygate (in the merchant console?)')
    assert outcome_of([refund_line(amount=300)], Books({NO: order()}, {(NO, 'rf1'): refund()})) == (
        'refund_mismatch', 'the bill says 3.00 yuan, the refund 6.00')
    assert outcome_of([refund_line()], Books({}))[0] == 'refund_mismatch'


def test_a_refund_done_on_one_side_only_is_a_status_mismatch():
    assert outcome_of([refund_line()], Books({NO: order()}, {(NO, 'rf1'): refund('PENDING')})) == (
        'status_mismatch', 'the bill says SUCCESS, the refund is PENDING here')
    assert outcome_of([refund_line(succeeded=False)], Books({NO: order()}, {(NO, 'rf1'): refund()}))[0] == \
        'status_mismatch'
    assert outcome_of([refund_line(succeeded=False)],
                      Books({NO: order()}, {(NO, 'rf1'): refund('PENDING')}))[0] == 'matched'
    assert outcome_of([refund_line()], Books({NO: order()}, {(NO, 'rf1'): refund()}))[0] == 'matched'


def test_a_refund_recorded_here_but_not_in_the_bill_is_missing_there():
    books = Books({NO: order()}, {(NO, 'rf1'): refund()})
    [line] = match('wechatpay', [payment()], books, [Recorded('payment', NO, TRADE, amount=600),
                                                     Recorded('refund', NO, TRADE, 'rf1', 600)])[1:]
    assert (line['kind'], line['outcome'], line['refund_no'], line['here_status']) == (
        'refund', 'missing_there', 'rf1', 'SUCCEEDED')


def test_without_a_bill_the_books_are_listed_alone_and_totals_add_up_per_outcome():
    books = Books({NO: order()}, {(NO, 'rf1'): refund(amount=200)})
    lines = here_only([Recorded('payment', NO, TRADE, amount=600), Recorded('refund', NO, TRADE, 'rf1', 200)], books)
    assert [(line['outcome'], line['here_amount']) for line in lines] == [('here_only', 600), ('here_only', 200)]
    mixed = match('wechatpay', [payment(), payment(amount=500, trade='T2')], Books({NO: order()}), [])
    assert totals(lines + mixed) == {'here_only': {'count': 2, 'amount': 800}, 'matched': {'count': 1, 'amount': 600},
                                     'status_mismatch': {'count': 1, 'amount': 500}}
