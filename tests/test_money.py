from decimal import Decimal

import pytest

from chalicelib import money


@pytest.mark.parametrize('text, fen', [('0', 0), ('0.01', 1), ('6', 600), ('6.0', 600), ('6.00', 600),
                                       ('20', 2000), ('9.99', 999), ('100000000.00', 10000000000)])
def test_yuan_strings_convert_exactly(text, fen):
    assert money.fen_from_yuan(text) == fen


@pytest.mark.parametrize('bad', ['', '-1', '1.001', '1e2', 'NaN', 'inf', ' 1', '1 ', '01', '.5',
                                 '1.', '+1', '１', '1,00', None, 1.5, 1])
def test_yuan_refuses_anything_ambiguous(bad):
    with pytest.raises(money.MoneyError):
        money.fen_from_yuan(bad)


def test_decimals_convert_and_refuse_fractions_of_a_fen():
    assert money.fen_from_yuan(Decimal('0.10')) == 10
    assert money.fen_from_yuan(Decimal('12.3')) == 1230
    for bad in (Decimal('0.001'), Decimal('-1'), Decimal('NaN'), Decimal('Infinity')):
        with pytest.raises(money.MoneyError):
            money.fen_from_yuan(bad)


@pytest.mark.parametrize('fen, text', [(0, '0.00'), (1, '0.01'), (600, '6.00'), (123456, '1234.56')])
def test_fen_to_yuan_has_two_decimals(fen, text):
    assert money.yuan_from_fen(fen) == text
    assert money.fen_from_yuan(text) == fen


def test_fen_to_yuan_refuses_non_integers():
    for bad in (-1, 1.0, True, '1'):
        with pytest.raises(money.MoneyError):
            money.yuan_from_fen(bad)


def test_qpoints_are_ten_fen():
    assert money.qpoints_from_fen(600) == 60
    with pytest.raises(money.MoneyError):
        money.qpoints_from_fen(605)


def test_integer_amount_strings():
    assert money.fen_from_integer_string('28800') == 28800
    for bad in ('', '1.0', '-1', '01', ' 1', '1e3'):
        with pytest.raises(money.MoneyError):
            money.fen_from_integer_string(bad)


@pytest.mark.parametrize('text, fen', [('6.00', 600), ('-0.01', -1), ('0.04000', 4), ('-0.02000', -2),
                                       ('0', 0), ('0.0', 0), ('-35.80', -3580), ('7.79000', 779)])
def test_signed_bill_amounts_convert_exactly(text, fen):
    assert money.fen_from_signed_yuan(text) == fen


@pytest.mark.parametrize('bad', ['0.05940', '0.001', '1.000001', '', '--1', '+1', '1e2', 'NaN', ' 1',
                                 '`1.00', '1,00', None, 1.5])
def test_signed_bill_amounts_refuse_fractions_of_a_fen_and_noise(bad):
    with pytest.raises(money.MoneyError):
        money.fen_from_signed_yuan(bad)
