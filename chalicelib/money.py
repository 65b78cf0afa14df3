"""Money is integer fen inside Paygate; these are the only conversions.

Every conversion is exact: a value that cannot be represented in fen (more
than two decimals, negative, NaN, exponent notation, fractions of a Q点) is
refused with MoneyError instead of being rounded. Bills are the one place
where amounts are signed (refunds, returned fees): fen_from_signed_yuan.
"""
import re
from decimal import Decimal, InvalidOperation

_YUAN = re.compile(r'\A(0|[1-9][0-9]*)(\.[0-9]{1,2})?\Z')
_DIGITS = re.compile(r'\A(0|[1-9][0-9]*)\Z')
_SIGNED_YUAN = re.compile(r'\A-?(0|[1-9][0-9]*)(\.[0-9]{1,5})?\Z')
FEN_PER_QPOINT = 10


class MoneyError(ValueError):
    pass


def fen_from_yuan(value):
    """'6', '6.0', '6.00', Decimal('6.00') -> 600. Floats are refused."""
    if isinstance(value, Decimal):
        if not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:
            raise MoneyError(f'not an amount in yuan: {value}')
        return int(value * 100)
    if not isinstance(value, str) or not _YUAN.match(value):
        raise MoneyError(f'not an amount in yuan: {value!r}')
    try:
        return int(Decimal(value) * 100)
    except InvalidOperation as exc:
        raise MoneyError(f'not an amount in yuan: {value!r}') from exc


def fen_from_signed_yuan(value):
    """Bill amounts: '6.00' -> 600, '-0.01' -> -1, '0.04000' -> 4 (WeChat writes fees with five
    decimals, always whole fen). A value that is not a whole number of fen is refused."""
    if not isinstance(value, str) or not _SIGNED_YUAN.match(value):
        raise MoneyError(f'not an amount in yuan: {value!r}')
    fen = Decimal(value) * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f'not a whole number of fen: {value!r}')
    return int(fen)


def yuan_from_fen(fen):
    """600 -> '6.00' (the two-decimal form every provider accepts)."""
    _check_fen(fen)
    return f'{fen // 100}.{fen % 100:02d}'


def fen_from_integer_string(text):
    """WeChat `total_fee` and Midas callback `amt` (0.1 Q点 = 1 fen) are integer strings."""
    if not isinstance(text, str) or not _DIGITS.match(text):
        raise MoneyError(f'not an integer amount: {text!r}')
    return int(text)


def qpoints_from_fen(fen):
    """Midas `payitem` prices are Q点 (1 Q点 = 10 fen); a price must be a whole Q点."""
    _check_fen(fen)
    if fen % FEN_PER_QPOINT:
        raise MoneyError(f'{fen} fen is not a whole number of Q点')
    return fen // FEN_PER_QPOINT


def _check_fen(fen):
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise MoneyError(f'not an amount in fen: {fen!r}')
