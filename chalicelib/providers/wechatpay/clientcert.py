"""The merchant's API client certificate for v2's /secapi/ calls (refund).

requests takes a client certificate only as a file path, so the configured
certificate is written once per container to a private temporary file:
PEM certificate + PEM key as given, or converted from the .p12 file WeChat
Pay issues (`apiclient_cert.p12`, Base64 in the setting; password = the
mch_id unless PAYGATE_WECHATPAY_P12_PASSWORD says otherwise). The conversion
needs `cryptography`, imported only here.
"""
import base64
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
    if config.client_p12:
        password = config.p12_password.value if config.p12_password else config.mch_id
        return pem_from_p12(base64.b64decode(config.client_p12.value), password)
    raise ProviderError('no client certificate configured (PAYGATE_WECHATPAY_CLIENT_CERT and '
                        '_CLIENT_KEY, or PAYGATE_WECHATPAY_CLIENT_P12): v2 refunds need it')


def pem_from_p12(p12, password):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(p12, password.encode('utf-8'))
    except ValueError:
        raise ProviderError('the .p12 client certificate cannot be opened (wrong password?)') from None
    if key is None or cert is None:
        raise ProviderError('the .p12 file holds no certificate and key')
    return (cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


def _write(pem):
    handle, name = tempfile.mkstemp(prefix='wechatpay-client-', suffix='.pem')
    with os.fdopen(handle, 'wb') as file:
        file.write(pem)
    return name
