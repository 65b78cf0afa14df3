"""Expiry arithmetic (timeSpan + timeUnit, calendar-correct in UTC+8) and instanceExpireTime parsing."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.cloudmarket import instances
from chalicelib.errors import ApiError

CST = timezone(timedelta(hours=8))


def cst(*parts):
    return datetime(*parts, tzinfo=CST)


@pytest.mark.parametrize('start, span, unit, expected', [
    (cst(2025, 1, 31, 10, 0), 1, 'm', cst(2025, 2, 28, 10, 0)),      # end of February
    (cst(2024, 1, 31, 10, 0), 1, 'm', cst(2024, 2, 29, 10, 0)),      # leap year
    (cst(2025, 3, 31, 9, 30), 1, 'm', cst(2025, 4, 30, 9, 30)),      # 30-day month
    (cst(2025, 1, 30, 0, 0), 1, 'm', cst(2025, 2, 28, 0, 0)),
    (cst(2025, 1, 31, 0, 0), 2, 'm', cst(2025, 3, 31, 0, 0)),        # no drift through February
    (cst(2025, 11, 30, 8, 0), 3, 'm', cst(2026, 2, 28, 8, 0)),       # across a year end
    (cst(2025, 12, 31, 23, 59), 1, 'm', cst(2026, 1, 31, 23, 59)),
    (cst(2025, 6, 15, 12, 0), 12, 'm', cst(2026, 6, 15, 12, 0)),
    (cst(2024, 2, 29, 12, 0), 1, 'y', cst(2025, 2, 28, 12, 0)),      # Feb 29 + 1 year
    (cst(2024, 2, 29, 12, 0), 4, 'y', cst(2028, 2, 29, 12, 0)),      # to the next leap day
    (cst(2023, 3, 1, 0, 0), 1, 'y', cst(2024, 3, 1, 0, 0)),
    (cst(2024, 2, 28, 0, 0), 1, 'd', cst(2024, 2, 29, 0, 0)),        # days count the leap day
    (cst(2025, 2, 28, 0, 0), 1, 'd', cst(2025, 3, 1, 0, 0)),
    (cst(2024, 1, 1, 0, 0), 366, 'd', cst(2025, 1, 1, 0, 0)),
    (cst(2025, 1, 1, 0, 0), 7, 'd', cst(2025, 1, 8, 0, 0)),
])
def test_add_period(start, span, unit, expected):
    result = instances.add_period(start.astimezone(timezone.utc), span, unit)
    assert result == expected
    assert result.tzinfo == timezone.utc


def test_month_end_is_taken_in_china_time_not_utc():
    """2025-01-30T20:00Z is Jan 31 04:00 in UTC+8: a month later is Feb 28 04:00 there
    (in UTC it would have been Feb 28 20:00)."""
    start = datetime(2025, 1, 30, 20, 0, tzinfo=timezone.utc)
    assert instances.add_period(start, 1, 'm') == cst(2025, 2, 28, 4, 0)


@pytest.mark.parametrize('span, unit, expected', [
    (1, 'm', (1, 'm')), ('12', 'M', (12, 'm')), (3, 'Y', (3, 'y')), (30, 'd', (30, 'd')),
])
def test_parse_period(span, unit, expected):
    assert instances.parse_period(span, unit) == expected


@pytest.mark.parametrize('span, unit', [
    (0, 'm'), (-1, 'd'), (1.5, 'm'), ('1.5', 'm'), (True, 'm'), (None, 'm'), ('', 'd'),
    (1, 'w'), (1, None), (1, ''), (101, 'y'), (1201, 'm'), (36601, 'd'), ('１', 'd'),
])
def test_parse_period_refuses(span, unit):
    with pytest.raises(ApiError) as raised:
        instances.parse_period(span, unit)
    assert raised.value.status == 400


@pytest.mark.parametrize('value, expected', [
    ('2026-02-28 23:59:59', datetime(2026, 2, 28, 15, 59, 59, tzinfo=timezone.utc)),
    ('2026-02-28T23:59:59', datetime(2026, 2, 28, 15, 59, 59, tzinfo=timezone.utc)),
    ('2026-02-28T15:59:59Z', datetime(2026, 2, 28, 15, 59, 59, tzinfo=timezone.utc)),
    ('2026-02-28T23:59:59+08:00', datetime(2026, 2, 28, 15, 59, 59, tzinfo=timezone.utc)),
    ('2024-02-29 00:00:00', datetime(2024, 2, 28, 16, 0, tzinfo=timezone.utc)),
    (1772294399, datetime(2026, 2, 28, 15, 59, 59, tzinfo=timezone.utc)),
    ('1772294399', datetime(2026, 2, 28, 15, 59, 59, tzinfo=timezone.utc)),
])
def test_parse_expire_time(value, expected):
    assert instances.parse_expire_time(value) == expected


@pytest.mark.parametrize('value', [
    None, '', '2026-02-30 00:00:00', '2025-02-29 00:00:00', '2026/02/28 23:59:59', '2026-02-28',
    'tomorrow', True, 1.5, -5, '1772294399000000', {'t': 1}, '2026-02-28 24:00:00',
])
def test_parse_expire_time_refuses(value):
    with pytest.raises(ApiError) as raised:
        instances.parse_expire_time(value)
    assert raised.value.status == 400 and raised.value.field == 'instanceExpireTime'
