"""The few cryptographic primitives the providers use, on pycryptodome.

RSA keys are read as PEM or as bare base64 DER (what Paygate's settings
accept too); new ones are written as bare base64 so they fit on one line.
"""
import base64
import re
import secrets
import string

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

ALPHANUMERIC = string.ascii_letters + string.digits


def _der(text):
    body = ''.join(line for line in text.strip().splitlines() if not line.startswith('-----'))
    try:
        return base64.b64decode(re.sub(r'\s+', '', body), validate=True)
    except ValueError:
        raise ValueError('neither PEM nor base64 DER') from None


def private_key(text):
    """An RSA private key (PKCS#1 or PKCS#8, PEM or base64); ValueError otherwise."""
    try:
        key = RSA.import_key(_der(text))
    except (ValueError, IndexError, TypeError):
        raise ValueError('not an RSA private key') from None
    if not key.has_private():
        raise ValueError('an RSA public key, not the private key')
    return key


def public_key(text):
    """An RSA public key (SubjectPublicKeyInfo or PKCS#1, PEM or base64); ValueError otherwise."""
    try:
        return RSA.import_key(_der(text)).public_key()
    except (ValueError, IndexError, TypeError):
        raise ValueError('not an RSA public key') from None


def rsa_sign(key, message):
    """Base64 SHA256withRSA (PKCS#1 v1.5) signature of `message` (bytes)."""
    return base64.b64encode(pkcs1_15.new(key).sign(SHA256.new(message))).decode('ascii')


def new_rsa_pair():
    """A fresh 2048-bit pair as (private PKCS#8, public SubjectPublicKeyInfo), bare base64 DER."""
    key = RSA.generate(2048)
    return (base64.b64encode(key.export_key(format='DER', pkcs=8)).decode('ascii'),
            base64.b64encode(key.public_key().export_key(format='DER')).decode('ascii'))


def aes_gcm_seal(key, nonce, plaintext, associated_data):
    """AES-GCM ciphertext with its 16-byte tag appended (WeChat Pay API v3's resource)."""
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(associated_data)
    sealed, tag = cipher.encrypt_and_digest(plaintext)
    return sealed + tag


def aes_ecb_pkcs7(key, plaintext):
    """AES-ECB with PKCS#7 padding to 16 bytes (WeChat Pay API v2's refund req_info)."""
    pad = 16 - len(plaintext) % 16
    return AES.new(key, AES.MODE_ECB).encrypt(plaintext + bytes([pad]) * pad)


def random_text(length, alphabet=ALPHANUMERIC):
    return ''.join(secrets.choice(alphabet) for _ in range(length))


def pem_from_p12(p12, password):
    """(certificate PEM, PKCS#8 key PEM) of a .p12; ValueError when it cannot be opened."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(p12, password.encode('utf-8'))
    except ValueError:
        raise ValueError('the .p12 cannot be opened (wrong password?)') from None
    if key is None or cert is None:
        raise ValueError('the .p12 holds no certificate and key')
    return (cert.public_bytes(serialization.Encoding.PEM).decode('ascii'),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode('ascii'))
