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
    _ROWS.setdefault(section, []).append(row)


def lines():
    """The figures as text, one section after another."""
    out = []
    for section, rows in _ROWS.items():
        out.append(f'{section}:')
        out.extend('  ' + '  '.join(f'{cell:<34}' if isinstance(cell, str) else f'{cell:>8}' for cell in row).rstrip()
                   for row in rows)
    return out
