"""The merchant's API client certificate for v2's /secapi/ calls (refund).

requests takes a client certificate only as a file path, so the configured
PEM certificate and key are written once per container to a private
temporary file. (WeChat Pay issues them as apiclient_cert.p12 too; the
Lambda package carries no PKCS#12 reader: `paygate keys from-p12` turns the
.p12 into the two PEM settings.)
"""
import hashlib
import os
import tempfile
import threading

from chalicelib.errors import ProviderError
from chalicelib.providers.wechatpay import common

_paths = {}
_lock = threading.Lock()


def path():
    """The path of a PEM file holding the client certificate and its key."""
    pem = _pem(common.config())
    digest = hashlib.sha256(pem).hexdigest()
    with _lock:
        if digest not in _paths or not os.path.exists(_paths[digest]):
            _paths[digest] = _write(pem)
        return _paths[digest]


def _pem(config):
    if config.client_cert and config.client_key:
        return (config.client_cert.value.strip() + '\n' + config.client_key.value.strip() + '\n').encode()
    raise ProviderError('no client certificate configured (PAYGATE_WECHATPAY_CLIENT_CERT and '
                        '_CLIENT_KEY): v2 refunds need it')


def _write(pem):
    handle, name = tempfile.mkstemp(prefix='wechatpay-client-', suffix='.pem')
    with os.fdopen(handle, 'wb') as file:
        file.write(pem)
    return name
