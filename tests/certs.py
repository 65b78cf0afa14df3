"""Throw-away X.509 certificates for tests (the `cryptography` package, tests only)."""
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


def self_signed_certificate(pycryptodome_key, common_name='Paygate Test', serial=0x1A2B3C):
    """PEM of a self-signed certificate for a pycryptodome RSA key."""
    key = serialization.load_pem_private_key(pycryptodome_key.export_key(pkcs=8), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, 'CN'),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Paygate'),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(serial)
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode('ascii')


def ca_name(common_name, organization='Ant Financial', unit='Certification Authority', country='CN'):
    """An issuer/subject name in the order Alipay's certificates use (C, O, OU, CN)."""
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issued_certificate(subject_public_key, subject, issuer_private_key, issuer, serial,
                       algorithm=None):
    """PEM of a certificate for `subject_public_key` signed by `issuer_private_key` (cryptography keys)."""
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(subject_public_key).serial_number(serial)
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
                   .sign(issuer_private_key, algorithm or hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode('ascii')
