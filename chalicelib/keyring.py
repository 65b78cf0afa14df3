"""Providers' rotating public certificates, cached in the table and in the process.

A provider that signs with certificates it rotates (WeChat Pay's platform
certificates) lists KeyRefreshing; the scheduled refresh downloads them
(provider.refresh_keys) and keeps them here. Verifying only reads: a
notification signed by a serial we do not hold is refused, and the provider
retries after the next refresh.
"""
import logging
from datetime import datetime

from chalicelib import clock, providers, settings
from chalicelib.providers.contract import KeyRefreshing
from chalicelib.store import keys as key_store

log = logging.getLogger('paygate.keyring')
_cache = {}


def certificate(provider, serial, now):
    """The PEM of `provider`'s certificate `serial` while it is valid at `now`, else None."""
    serial = serial.upper()
    cached = _cache.get((provider, serial)) or key_store.get_certificate(provider, serial)
    if cached is None or not _valid(cached, now):
        return None
    _cache[(provider, serial)] = cached
    return cached['pem']


def save(provider, certificates):
    """Keep downloaded certificates: (serial, pem, effective_time, expire_time) tuples, ISO 8601 times."""
    for serial, pem, effective_time, expire_time in certificates:
        cached = {'serial_no': serial.upper(), 'pem': pem, 'effective_time': effective_time,
                  'expire_time': expire_time, 'saved_at': clock.rfc3339(clock.now()),
                  'ttl': int(datetime.fromisoformat(expire_time).timestamp())}
        key_store.put_certificate(provider, serial.upper(), cached)
        _cache[(provider, serial.upper())] = cached


def refresh():
    """Scheduled: download and keep the certificates of every enabled provider that rotates them.
    Returns {provider: [serials kept]}."""
    done = {}
    for name in settings.get().providers:
        provider = providers.capable(name, KeyRefreshing)
        if provider is not None:
            downloaded = provider.refresh_keys()
            save(name, downloaded)
            done[name] = sorted(serial.upper() for serial, *_ in downloaded)
            log.info('%s certificates kept: %s', name, ', '.join(done[name]) or 'none')
    return done


def _valid(cached, now):
    return (datetime.fromisoformat(cached['effective_time']) <= now
            < datetime.fromisoformat(cached['expire_time']))


def forget():
    """Drop the in-process cache (tests switch tables)."""
    _cache.clear()
