"""The figures docs/reliability.md quotes, gathered by the tests that prove them.

A test adds a row once what it claims has held (its asserts passed); the rows
are printed at the end of the run. `make reliability` runs those tests at full
size (200 concurrent duplicates per notify route) with `make fuzz`'s profile.
"""
import os

CONCURRENT_COPIES = int(os.environ.get('PAYGATE_CONCURRENT_COPIES', 50))
_ROWS = {}


def add(section, *row):
    """One line of figures under `section`."""
    _ROWS.setdefault(section, {})[row] = None


def count(section, *row):
    """One line of figures under `section` that counts how many times it was added (one test
    adding it once per notify route, for instance); the count is its first cell."""
    rows = _ROWS.setdefault(section, {})
    rows[row] = (rows.get(row) or 0) + 1


def lines():
    """The figures as text, one section after another."""
    out = []
    for section, rows in _ROWS.items():
        out.append(f'{section}:')
        out.extend('  ' + '  '.join(f'{cell:<34}' if isinstance(cell, str) else f'{cell:>8}'
                                    for cell in ((times, *row) if times else row)).rstrip()
                   for row, times in rows.items())
    return out
