"""Codepay's signature: lower-case hex MD5 of the sorted non-empty pairs (not `sign`), then the key.

PHP's demo: ksort, skip `sign` and values equal to '', join `k=v` with `&`
(raw values), append the key directly (no `&key=`), md5. Only empty strings
are skipped (a "0" is signed).
"""
import hashlib

from chalicelib import signing


def sign(params, key):
    return hashlib.md5((signing.sorted_pairs(params) + key).encode('utf-8')).hexdigest()


def verify(params, key):
    """True iff params['sign'] is our signature of every other non-empty field."""
    return signing.equal(params.get('sign', ''), sign(params, key))
