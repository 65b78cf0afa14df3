"""SHA256withRSA with keys in every form merchants paste them in."""
import base64

import pytest
from Crypto.PublicKey import RSA

from chalicelib import rsa


@pytest.fixture(scope='module')
def key():
    return RSA.generate(2048)


def bare(pem):
    return ''.join(line for line in pem.splitlines() if not line.startswith('-----'))


def forms(key):
    pkcs1 = key.export_key(pkcs=1).decode()
    pkcs8 = key.export_key(pkcs=8).decode()
    return [pkcs1, pkcs8, bare(pkcs1), bare(pkcs8)]


def public_forms(key):
    spki = key.public_key().export_key().decode()
    pkcs1 = key.public_key().export_key(format='DER', pkcs=1)
    return [spki, bare(spki), base64.b64encode(pkcs1).decode()]


def test_round_trip_with_every_key_form(key):
    for private in forms(key):
        signature = rsa.sign_sha256(private, 'a=1&b=中文')
        for public in public_forms(key):
            assert rsa.verify_sha256(public, 'a=1&b=中文', signature)
            assert not rsa.verify_sha256(public, 'a=1&b=中文 ', signature)


def test_known_answer_against_pycryptodome_directly(key):
    from Crypto.Hash import SHA256
    from Crypto.Signature import pkcs1_15
    expected = base64.b64encode(pkcs1_15.new(key).sign(SHA256.new(b'message'))).decode()
    assert rsa.sign_sha256(key.export_key().decode(), b'message') == expected


def test_bad_signatures_and_keys(key):
    public = public_forms(key)[0]
    assert not rsa.verify_sha256(public, 'm', 'not base64!')
    assert not rsa.verify_sha256(public, 'm', base64.b64encode(b'x' * 256).decode())
    other = RSA.generate(2048)
    assert not rsa.verify_sha256(public, 'm', rsa.sign_sha256(other.export_key().decode(), 'm'))
    with pytest.raises(rsa.RSAKeyError):
        rsa.sign_sha256(public, 'm')
    with pytest.raises(rsa.RSAKeyError):
        rsa.private_key('-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----')


def test_public_key_from_a_certificate(key):
    """A minimal self-signed X.509 certificate, built here, carries the public key."""
    from tests.certs import self_signed_certificate
    pem = self_signed_certificate(key)
    signature = rsa.sign_sha256(key.export_key().decode(), 'm')
    assert rsa.verify_sha256(pem, 'm', signature)
