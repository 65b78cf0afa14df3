"""Alipay's wire format: what is signed, and how the order string is encoded.

docs/providers/alipay.md#signing; official Java SDK `AlipaySignature`/`WebUtils`:
- requests sign every non-empty parameter except `sign` (so `sign_type` is
  signed), sorted by key, joined as raw `k=v&k=v`, SHA256withRSA, base64;
- the order string (sdkExecute) is the same sorted pairs plus `sign`, each
  value encoded like Java's `URLEncoder` (space → `+`, `~` → `%7E`, `*` kept);
- notifications are verified without `sign` and `sign_type`, with the text
  encoded in the notification's own charset.
"""
from urllib.parse import quote_plus

from chalicelib import rsa, signing

NOTIFY_EXCLUDED = ('sign', 'sign_type')


def sign_content(params, exclude=('sign',)):
    """The string to sign: sorted non-empty pairs, raw values."""
    return signing.sorted_pairs(params, exclude)


def url_encode(value, charset='utf-8'):
    """Java URLEncoder.encode: A-Z a-z 0-9 . - * _ stay, space is '+', the rest %XX."""
    return quote_plus(value, safe='*', encoding=charset).replace('~', '%7E')


def signed_query(params, private_key):
    """`k=v&…` with `sign` added, sorted, values URL-encoded: the sdkExecute order string."""
    signed = {k: v for k, v in params.items() if v}
    signed['sign'] = rsa.sign_sha256(private_key, sign_content(params))
    return '&'.join(f'{key}={url_encode(signed[key])}' for key in sorted(signed))


def verify_notification(fields, public_key, charset):
    """True iff `sign` is Alipay's signature of the fields, as text in `charset`.

    Alipay signs every field but `sign` and `sign_type`, leaving empty values
    out (rsaCheckV1). SDKs differ around that, so two neighbouring texts are
    accepted too: empty values kept (the official Java SDK's rsaCheckV1) and
    `sign_type` included (rsaCheckV2, the form of Alipay's gateway messages).
    Each is a whole text signed with Alipay's key; none lets a signature
    stand for a field it does not cover.
    """
    sign = fields.get('sign', '')
    return any(rsa.verify_sha256(public_key, text.encode(charset), sign)
               for text in _signed_texts(fields))


def _signed_texts(fields):
    yield sign_content(fields, NOTIFY_EXCLUDED)
    kept = [key for key in sorted(fields) if key not in NOTIFY_EXCLUDED]
    if not all(fields[key] for key in kept):
        yield '&'.join(f'{key}={fields[key]}' for key in kept)
    yield sign_content(fields)
