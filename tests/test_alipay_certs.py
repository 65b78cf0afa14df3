"""Certificate-mode serial numbers, against Alipay's published root and the SDKs' algorithms."""
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.providers.alipay import certs
from tests.certs import ca_name, issued_certificate

# Alipay's root certificate bundle (alipayRootCert.crt, the same public file every merchant
# downloads): four roots, of which two are RSA-signed. Its SN is widely published.
ROOT_BUNDLE = (Path(__file__).parent / 'data' / 'alipay_root_cert.crt').read_text()
ROOT_SN = '687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6'
CLASS1 = ca_name('Ant Financial Certification Authority Class 1 R1')


def java_sn(issuer_rfc2253, serial):
    """AntCertificationUtil.getCertSN: md5(getIssuerX500Principal().getName() + serial)."""
    return hashlib.md5(f'{issuer_rfc2253}{serial}'.encode()).hexdigest()


def test_alipays_published_root_bundle_gives_its_published_sn():
    assert certs.root_cert_sn(ROOT_BUNDLE) == ROOT_SN


def test_python_alipay_sdk_agrees_on_the_root_bundle():
    from alipay import DCAliPay
    assert DCAliPay.get_root_cert_sn(ROOT_BUNDLE) == ROOT_SN


def test_app_certificate_sn(alipay_keys):
    from alipay import DCAliPay
    app_cert = issued_certificate(alipay_keys.app.public, ca_name('2088101122334455', 'Paygate', 'Alipay'),
                                  alipay_keys.alipay.private, CLASS1, serial=0x2025031264BB)
    expected = java_sn('CN=Ant Financial Certification Authority Class 1 R1,OU=Certification Authority,'
                       'O=Ant Financial,C=CN', 0x2025031264BB)
    assert certs.cert_sn(app_cert) == expected
    assert DCAliPay.get_cert_sn(app_cert) == expected


def test_root_sn_takes_only_rsa_signed_certificates_in_order(alipay_keys):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    first = issued_certificate(alipay_keys.alipay.public, ca_name('Root R1'), alipay_keys.alipay.private,
                               ca_name('Root R1'), serial=11)
    elliptic = issued_certificate(ec_key.public_key(), ca_name('Root E1'), ec_key, ca_name('Root E1'),
                                  serial=12, algorithm=hashes.SHA384())
    second = issued_certificate(alipay_keys.app.public, ca_name('Root G3', 'iTrusChina', 'China Trust Network'),
                                alipay_keys.app.private, ca_name('Root G3', 'iTrusChina', 'China Trust Network'),
                                serial=2 ** 150 + 3, algorithm=hashes.SHA512())
    bundle = '\n'.join([first, elliptic, second])
    expected = '_'.join([
        java_sn('CN=Root R1,OU=Certification Authority,O=Ant Financial,C=CN', 11),
        java_sn('CN=Root G3,OU=China Trust Network,O=iTrusChina,C=CN', 2 ** 150 + 3)])
    assert certs.root_cert_sn(bundle) == expected
    with pytest.raises(certs.CertificateError):
        certs.root_cert_sn(elliptic)


def test_special_characters_in_the_issuer_are_escaped_like_rfc2253(alipay_keys):
    issuer = ca_name('CA, "One" + <Two>', 'Ant; Inc', 'Unit')
    cert = issued_certificate(alipay_keys.app.public, ca_name('x'), alipay_keys.alipay.private, issuer, serial=5)
    expected = 'CN=CA\\, \\"One\\" \\+ \\<Two\\>,OU=Unit,O=Ant\\; Inc,C=CN'
    assert certs.cert_sn(cert) == java_sn(expected, 5)


@pytest.mark.parametrize('text', ['', 'not a certificate', '-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----',
                                  '-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----'])
def test_unreadable_certificates_are_refused(text):
    with pytest.raises(certs.CertificateError):
        certs.cert_sn(text)
