"""WeChat Pay platform certificates, cached in DynamoDB by serial number.

The scheduled refresh (v3.refresh_certificates) writes them; notification
verification only reads them, never downloads: a notification signed by a
serial we do not hold is refused and WeChat retries after the next refresh.
Items: pk `WXCERT#<serial>`, sk `CERT`, with the PEM and its validity.
"""
import re
from datetime import datetime

from chalicelib import clock, store

SERIAL = re.compile(r'\A[0-9A-Fa-f]{1,64}\Z')
_cache = {}


def _key(serial):
    return {'pk': f'WXCERT#{serial.upper()}', 'sk': 'CERT'}


def lookup(serial):
    """The PEM of the platform certificate `serial` while it is valid, else None."""
    if not SERIAL.match(serial):
        return None
    serial = serial.upper()
    cert = _cache.get(serial) or store.get_item(_key(serial))
    if cert is None or not _valid(cert):
        return None
    _cache[serial] = cert
    return cert['pem']


def save(serial, pem, effective_time, expire_time):
    cert = {'serial_no': serial.upper(), 'pem': pem, 'effective_time': effective_time,
            'expire_time': expire_time, 'saved_at': clock.rfc3339(clock.now()),
            'ttl': int(datetime.fromisoformat(expire_time).timestamp())}
    store.put_item({**_key(serial), **cert})
    _cache[serial.upper()] = cert


def _valid(cert):
    now = clock.now()
    return datetime.fromisoformat(cert['effective_time']) <= now < datetime.fromisoformat(cert['expire_time'])


def forget():
    """Drop the in-process cache (tests switch tables)."""
    _cache.clear()
