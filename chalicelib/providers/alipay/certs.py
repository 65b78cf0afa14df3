"""Alipay public-key-certificate mode: certificate serial numbers (SN).

Alipay names a certificate by MD5(issuer DN + decimal serial number), the DN
written as Java's `X500Principal.getName()` writes it (RFC 2253: last RDN
first, `CN=…,OU=…,O=…,C=…`). Requests carry `app_cert_sn` (our app
certificate) and `alipay_root_cert_sn` (every RSA-signed certificate of
Alipay's root bundle, joined by `_`); answers carry `alipay_cert_sn` (the
certificate Alipay signed with). Official Java SDK AntCertificationUtil.

A small DER reader is enough here (issuer, serial, signature algorithm), so
the Lambda needs no X.509 library.
"""
import base64
import functools
import hashlib
import re

from chalicelib.rsa import RSAKeyError

RSA_SIGNATURES = '1.2.840.113549.1.1.'
_PEM = re.compile(r'-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----', re.S)
_SEQUENCE, _SET, _INTEGER, _OID, _VERSION = 0x30, 0x31, 0x02, 0x06, 0xA0
_RFC2253_NAMES = {'2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST',
                  '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.9': 'STREET',
                  '0.9.2342.19200300.100.1.25': 'DC', '0.9.2342.19200300.100.1.1': 'UID'}
_STRING_CODECS = {0x0C: 'utf-8', 0x13: 'latin-1', 0x16: 'latin-1', 0x14: 'latin-1',
                  0x1E: 'utf-16-be', 0x1C: 'utf-32-be'}
_ESCAPED = ',=+<>#;"\\'


class CertificateError(RSAKeyError):
    """A configured certificate that cannot be read."""


@functools.lru_cache(maxsize=16)
def cert_sn(pem):
    """The SN of the first certificate in `pem` (the app or Alipay public certificate)."""
    issuer, serial, _ = _fields(_certificates(pem)[0])
    return _sn(issuer, serial)


@functools.lru_cache(maxsize=16)
def root_cert_sn(pem):
    """SNs of the RSA-signed certificates in Alipay's root bundle, joined by '_'."""
    sns = [_sn(issuer, serial) for issuer, serial, algorithm in map(_fields, _certificates(pem))
           if algorithm.startswith(RSA_SIGNATURES)]
    if not sns:
        raise CertificateError('the Alipay root certificate holds no RSA-signed certificate')
    return '_'.join(sns)


def _sn(issuer, serial):
    return hashlib.md5(f'{issuer}{serial}'.encode('utf-8')).hexdigest()


def _certificates(pem):
    blocks = _PEM.findall(pem)
    if not blocks:
        raise CertificateError('no PEM certificate found')
    try:
        return [base64.b64decode(re.sub(r'\s+', '', block), validate=True) for block in blocks]
    except ValueError:
        raise CertificateError('a certificate is not valid base64') from None


def _fields(der):
    """(issuer DN as RFC 2253, serial number, signature algorithm OID) of one certificate."""
    try:
        certificate = _children(_expect(der, 0, _SEQUENCE))
        tbs = _children(_expect(certificate[0], 0, _SEQUENCE))
        if tbs[0][0] == _VERSION:
            tbs = tbs[1:]
        serial = int.from_bytes(_expect(tbs[0], 0, _INTEGER), 'big', signed=True)
        algorithm = _oid(_expect(_children(_expect(certificate[1], 0, _SEQUENCE))[0], 0, _OID))
        return _rfc2253(tbs[2]), serial, algorithm
    except (IndexError, ValueError, UnicodeDecodeError):
        raise CertificateError('not an X.509 certificate') from None


def _tlv(data, pos):
    """(tag, content, end) of the DER element starting at `pos`."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], 'big')
        pos += count
    if pos + length > len(data):
        raise ValueError('truncated DER')
    return tag, data[pos:pos + length], pos + length


def _expect(element, pos, tag):
    found, content, _ = _tlv(element, pos)
    if found != tag:
        raise ValueError(f'DER tag {found:#x}, expected {tag:#x}')
    return content


def _children(content):
    """The elements inside a constructed value, each as its full DER encoding."""
    elements, pos = [], 0
    while pos < len(content):
        _, _, end = _tlv(content, pos)
        elements.append(content[pos:end])
        pos = end
    return elements


def _oid(content):
    """Dotted form of an OBJECT IDENTIFIER (base-128 arcs; the first holds two)."""
    arcs, value = [], 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    top = min(arcs[0] // 40, 2)
    return '.'.join(map(str, [top, arcs[0] - 40 * top, *arcs[1:]]))


def _rfc2253(name):
    """A Name as Java's X500Principal.getName(): RDNs last-first, ',' between, '+' inside."""
    rdns = []
    for rdn in _children(_expect(name, 0, _SEQUENCE)):
        pairs = [_attribute(_children(_expect(pair, 0, _SEQUENCE)))
                 for pair in _children(_expect(rdn, 0, _SET))]
        rdns.append('+'.join(pairs))
    return ','.join(reversed(rdns))


def _attribute(pair):
    oid = _oid(_expect(pair[0], 0, _OID))
    tag, content, _ = _tlv(pair[1], 0)
    keyword = _RFC2253_NAMES.get(oid)
    if keyword is None or tag not in _STRING_CODECS:
        return f'{keyword or oid}=#{pair[1].hex()}'
    return f'{keyword}={_escape(content.decode(_STRING_CODECS[tag]))}'


def _escape(value):
    escaped = ''.join('\\' + c if c in _ESCAPED else c for c in value)
    if escaped.startswith(' '):
        escaped = '\\' + escaped
    if escaped.endswith(' ') and not escaped.endswith('\\ '):
        escaped = escaped[:-1] + '\\ '
    return escaped
