"""RSA keys and SHA256withRSA (PKCS#1 v1.5) for the providers that sign with RSA.

Keys are accepted as PEM or as bare base64 DER (PKCS#1 or PKCS#8 private keys,
SubjectPublicKeyInfo or PKCS#1 public keys, X.509 certificates), and parsed
once per process: parsing is the slow part (~ms), signing is cheap.
pycryptodome is imported on first use only.
"""
import base64
import functools
import re

_WHITESPACE = re.compile(r'\s+')


class RSAKeyError(ValueError):
    """A configured key that cannot be read."""


def _der(text):
    body = '\n'.join(line for line in text.strip().splitlines() if not line.startswith('-----'))
    try:
        return base64.b64decode(_WHITESPACE.sub('', body), validate=True)
    except ValueError:
        raise RSAKeyError('key is neither PEM nor base64 DER') from None


@functools.lru_cache(maxsize=32)
def private_key(text):
    from Crypto.PublicKey import RSA
    try:
        key = RSA.import_key(_der(text))
    except ValueError:
        raise RSAKeyError('not an RSA private key (PKCS#1 or PKCS#8)') from None
    if not key.has_private():
        raise RSAKeyError('an RSA public key was given where the private key is needed')
    return key


@functools.lru_cache(maxsize=32)
def public_key(text):
    """An RSA public key from a public key or an X.509 certificate, PEM or base64."""
    from Crypto.PublicKey import RSA
    der = _der(text)
    try:
        key = RSA.import_key(der)
    except ValueError:
        key = _from_certificate(der)
    return key.public_key()


def _from_certificate(der):
    from Crypto.PublicKey import RSA
    from Crypto.Util.asn1 import DerSequence
    try:
        tbs = DerSequence().decode(DerSequence().decode(der)[0])
        index = 1 if tbs[0] & 0xE0 == 0xA0 else 0  # skip the optional [0] version
        return RSA.import_key(tbs[index + 5])
    except (ValueError, IndexError, TypeError):
        raise RSAKeyError('not an RSA public key or X.509 certificate') from None


def sign_sha256(key_text, message):
    """Base64 SHA256withRSA signature of `message` (bytes or str, UTF-8)."""
    from Crypto.Hash import SHA256
    from Crypto.Signature import pkcs1_15
    digest = SHA256.new(_bytes(message))
    return base64.b64encode(pkcs1_15.new(private_key(key_text)).sign(digest)).decode('ascii')


def verify_sha256(key_text, message, signature):
    """True iff `signature` (base64) is a SHA256withRSA signature of `message` by the key."""
    from Crypto.Hash import SHA256
    from Crypto.Signature import pkcs1_15
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        return False
    try:
        pkcs1_15.new(public_key(key_text)).verify(SHA256.new(_bytes(message)), raw)
    except (ValueError, TypeError):
        return False
    return True


def _bytes(message):
    return message.encode('utf-8') if isinstance(message, str) else message
