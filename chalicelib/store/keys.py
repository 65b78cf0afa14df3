"""Providers' public key material cached in the table (chalicelib/keyring.py).

  CERT#<provider>#<serial> / CERT   a certificate: PEM and validity
"""
from chalicelib.store import dynamo


def get_certificate(provider, serial):
    return dynamo.get(dynamo.key(f'CERT#{provider}#{serial}', 'CERT'))


def put_certificate(provider, serial, certificate):
    dynamo.write_put(dynamo.put({'pk': f'CERT#{provider}#{serial}', 'sk': 'CERT', **certificate}))
