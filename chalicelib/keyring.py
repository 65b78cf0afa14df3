"""The scheduled refresh of providers' rotating platform certificates (WeChat Pay's, API v3).

A provider that signs with certificates it rotates lists KeyRefreshing; this
downloads them (provider.refresh_keys) and keeps them (store/keys.py), where
verification finds them by serial.
"""
import logging

from chalicelib import providers, settings
from chalicelib.providers.contract import KeyRefreshing
from chalicelib.store import keys as key_store

log = logging.getLogger('paygate.keyring')


def refresh():
    """Download and keep the certificates of every enabled provider that rotates them.
    Returns {provider: [serials kept]}."""
    done = {}
    for name in settings.get().providers:
        provider = providers.capable(name, KeyRefreshing)
        if provider is not None:
            downloaded = provider.refresh_keys()
            key_store.save(name, downloaded)
            done[name] = sorted(serial.upper() for serial, *_ in downloaded)
            log.info('%s certificates kept: %s', name, ', '.join(done[name]) or 'none')
    return done
