"""Tencent OpenAPI V3 signatures (docs/providers/midas.md#signing).

Requests to Midas:  sig = Base64(HMAC-SHA1(hmac_key(appkey), source)), with
    source = METHOD & enc(sig path) & enc(k=v&k=v over the sorted params, raw values)
where enc is RFC 3986 percent-encoding of every byte but A-Z a-z 0-9 - _ . and
(unlike Python's quote) `~` too (PHP: str_replace('~', '%7E', rawurlencode(..))).

The delivery callback adds one step: every value is first replaced by
callback_value(value), which percent-encodes every UTF-8 byte outside
0-9 a-z A-Z ! * ( ) (official SnsSigCheck.php encodeValue), so `-` becomes
`%2D` and then `%252D` in the source.
"""
import base64
import hashlib
import hmac
from urllib.parse import quote

_URLSAFE_TO_BASE64 = str.maketrans('-_', '+/')
_CALLBACK_KEEP = frozenset(b'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!*()')


def encode(text):
    """rawurlencode with `~` encoded as well, per UTF-8 byte."""
    return quote(text, safe='').replace('~', '%7E')


def source(method, path, params):
    """The string to sign: `params` must not contain `sig`; values are used as given."""
    query = '&'.join(f'{key}={params[key]}' for key in sorted(params))
    return f'{method.upper()}&{encode(path)}&{encode(query)}'


def hmac_key(appkey):
    """The HMAC key for `appkey`: Tencent's official PHP SDK (SnsSigCheck::makeSig, also behind
    verifySig) maps `-` to `+` and `_` to `/` first (strtr($secret, '-_', '+/')), then appends `&`."""
    return (appkey.translate(_URLSAFE_TO_BASE64) + '&').encode('utf-8')


def sign(method, path, params, appkey):
    digest = hmac.new(hmac_key(appkey), source(method, path, params).encode('utf-8'), hashlib.sha1).digest()
    return base64.b64encode(digest).decode('ascii')


def callback_value(value):
    """The callback's extra value encoding: bytes outside 0-9a-zA-Z!*() become %XX."""
    return ''.join(chr(byte) if byte in _CALLBACK_KEEP else f'%{byte:02X}'
                   for byte in value.encode('utf-8'))


def callback_sign(method, path, params, appkey):
    """The signature Tencent puts on a delivery callback with these params (sig excluded)."""
    return sign(method, path, {key: callback_value(value) for key, value in params.items()}, appkey)
