"""Providers' rotating public certificates, kept in the table and in the process.

  CERT#<provider>#<serial> / CERT   a certificate: PEM and validity

Verifying only reads them (a notification signed by a serial we do not hold
is refused, and the provider retries after the next refresh, keyring.py).
"""
from datetime import datetime

from chalicelib import clock
from chalicelib.store import dynamo

_cache = {}


def certificate(provider, serial, now):
    """The PEM of `provider`'s certificate `serial` while it is valid at `now`, else None."""
    serial = serial.upper()
    kept = _cache.get((provider, serial)) or dynamo.get(dynamo.key(f'CERT#{provider}#{serial}', 'CERT'))
    if kept is None or not _valid(kept, now):
        return None
    _cache[(provider, serial)] = kept
    return kept['pem']


def save(provider, certificates):
    """Keep certificates: (serial, pem, effective_time, expire_time) tuples, ISO 8601 times."""
    for serial, pem, effective_time, expire_time in certificates:
        kept = {'serial_no': serial.upper(), 'pem': pem, 'effective_time': effective_time,
                'expire_time': expire_time, 'saved_at': clock.rfc3339(clock.now()),
                'ttl': int(datetime.fromisoformat(expire_time).timestamp())}
        dynamo.write_put(dynamo.put({'pk': f'CERT#{provider}#{serial.upper()}', 'sk': 'CERT', **kept}))
        _cache[(provider, serial.upper())] = kept


def get(provider, serial):
    """The stored record of a certificate, or None (what the table holds, for checks)."""
    return dynamo.get(dynamo.key(f'CERT#{provider}#{serial.upper()}', 'CERT'))


def _valid(kept, now):
    return datetime.fromisoformat(kept['effective_time']) <= now < datetime.fromisoformat(kept['expire_time'])


def forget():
    """Drop the in-process cache (tests switch tables)."""
    _cache.clear()
