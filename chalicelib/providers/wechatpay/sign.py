"""WeChat Pay's signatures, both API versions, as pure functions of key material and time.

v2 (XML): every field but `sign`, empty values dropped, sorted by key, joined
`k=v&...`, `&key=<API key>` appended; MD5 or HMAC-SHA256, upper-case hex.
wx.requestPayment (v2) signs appId, timeStamp, nonceStr, package, signType
the same way into `paySign`.

v3 (JSON): requests carry WECHATPAY2-SHA256-RSA2048 over
`METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n` with the merchant's API
key; wx.requestPayment signs `appId\\ntimeStamp\\nnonceStr\\npackage\\n`.
The WeChat SDK's PayReq (APP orders) signs appid, partnerid, prepayid,
package, noncestr and timestamp like any v2 request (same sign type as the
order), or with v3 RSA over `appid\\ntimestamp\\nnoncestr\\nprepayid\\n`.
WeChat Pay signs replies and notifications over `timestamp\\nnonce\\nbody\\n`
with its public key or a platform certificate named by Wechatpay-Serial;
signatures starting WECHATPAY/SIGNTEST/ are probes that must fail.
"""
import hashlib
import hmac
from urllib.parse import urlsplit

from chalicelib import rsa, signing
from chalicelib.providers.contract import Rejected

MD5, HMAC_SHA256 = 'MD5', 'HMAC-SHA256'
SIGN_TYPES = (MD5, HMAC_SHA256)
SCHEME = 'WECHATPAY2-SHA256-RSA2048'
PROBE_PREFIX = 'WECHATPAY/SIGNTEST/'


def v2_sign(params, key, sign_type=MD5):
    """Upper-case hex MD5 or HMAC-SHA256 of the sorted non-empty pairs (not `sign`) + `&key=`."""
    text = (signing.sorted_pairs(params) + '&key=' + key).encode('utf-8')
    if sign_type == HMAC_SHA256:
        return hmac.new(key.encode('utf-8'), text, hashlib.sha256).hexdigest().upper()
    if sign_type == MD5:
        return hashlib.md5(text).hexdigest().upper()
    raise ValueError(f'unknown sign type {sign_type!r}')


def v2_verify(fields, key, sign_type):
    """True iff `fields['sign']` signs every other received field with `key`."""
    return signing.equal(fields.get('sign', ''), v2_sign(fields, key, sign_type))


def v2_signed_with(fields, key, preferred):
    """The sign type `fields['sign']` was made with, or None when neither verifies.

    A notification may leave `sign_type` out even for an HMAC-SHA256 order, so
    the type it names (signed like every field) is tried, else the configured
    one, then the other; each needs the API key.
    """
    named = fields.get('sign_type')
    candidates = [named] if named in SIGN_TYPES else [preferred, *(t for t in SIGN_TYPES if t != preferred)]
    return next((t for t in candidates if v2_verify(fields, key, t)), None)


def v2_pay_params(appid, prepay_id, key, sign_type, timestamp, nonce):
    """wx.requestPayment's parameters: the second signature, over the five fields."""
    params = {'appId': appid, 'timeStamp': timestamp, 'nonceStr': nonce,
              'package': f'prepay_id={prepay_id}', 'signType': sign_type}
    return {**params, 'paySign': v2_sign(params, key, sign_type)}


def v2_app_params(appid, mchid, prepay_id, key, sign_type, timestamp, nonce):
    """The WeChat SDK's PayReq for an APP order (v2): the six fields, signed like a v2 request."""
    params = _app_fields(appid, mchid, prepay_id, timestamp, nonce)
    return {**params, 'sign': v2_sign(params, key, sign_type)}


def v3_app_params(appid, mchid, prepay_id, private_key, timestamp, nonce):
    """The WeChat SDK's PayReq for an APP order (v3): RSA over appid, timestamp, noncestr and
    prepayid (one per line)."""
    signature = rsa.sign_sha256(private_key, f'{appid}\n{timestamp}\n{nonce}\n{prepay_id}\n')
    return {**_app_fields(appid, mchid, prepay_id, timestamp, nonce), 'sign': signature}


def _app_fields(appid, mchid, prepay_id, timestamp, nonce):
    return {'appid': appid, 'partnerid': mchid, 'prepayid': prepay_id, 'package': 'Sign=WXPay',
            'noncestr': nonce, 'timestamp': timestamp}


def v3_authorization(method, url, body, mchid, serial_no, private_key, timestamp, nonce):
    """The Authorization header for a request to `url` (path + query are signed) with `body` bytes."""
    parts = urlsplit(url)
    signed_url = parts.path + (f'?{parts.query}' if parts.query else '')
    message = f'{method}\n{signed_url}\n{timestamp}\n{nonce}\n'.encode('utf-8') + body + b'\n'
    signature = rsa.sign_sha256(private_key, message)
    return (f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


def v3_pay_params(appid, prepay_id, private_key, timestamp, nonce):
    """wx.requestPayment's parameters: RSA over appId, timeStamp, nonceStr, package (one per line)."""
    package = f'prepay_id={prepay_id}'
    signature = rsa.sign_sha256(private_key, f'{appid}\n{timestamp}\n{nonce}\n{package}\n')
    return {'appId': appid, 'timeStamp': timestamp, 'nonceStr': nonce, 'package': package,
            'signType': 'RSA', 'paySign': signature}


def v3_serial(headers):
    """The Wechatpay-Serial a signed message names (its key is looked up by it)."""
    return headers.get('wechatpay-serial', '')


def v3_check(headers, body, key, now=None, max_age=None):
    """Verify WeChat Pay's signature over `timestamp\\nnonce\\nbody\\n`; raise Rejected if it fails.

    `headers` are lower-case; `key` is the key text for the Wechatpay-Serial
    they name (None when we hold none). With `max_age`, the timestamp must be
    within that many seconds of `now` (a datetime).
    """
    signature = headers.get('wechatpay-signature', '')
    timestamp = headers.get('wechatpay-timestamp', '')
    nonce = headers.get('wechatpay-nonce', '')
    serial = v3_serial(headers)
    if not (signature and timestamp and nonce and serial):
        raise Rejected(Rejected.MALFORMED, 'Wechatpay-Signature/Timestamp/Nonce/Serial header missing')
    if signature.startswith(PROBE_PREFIX):
        raise Rejected(Rejected.PROBE, 'WeChat Pay signature probe (WECHATPAY/SIGNTEST/)')
    if headers.get('wechatpay-signature-type', SCHEME) != SCHEME:
        raise Rejected(Rejected.SIGNATURE, f'signature type {headers["wechatpay-signature-type"]!r}')
    if max_age is not None:
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Rejected(Rejected.MALFORMED, f'Wechatpay-Timestamp {timestamp[:20]!r}')
        if abs(now.timestamp() - int(timestamp)) > max_age:
            raise Rejected(Rejected.STALE, f'Wechatpay-Timestamp {timestamp} is more than {max_age} s away')
    if key is None:
        raise Rejected(Rejected.SIGNATURE, f'no WeChat Pay key or certificate with serial {serial[:64]}')
    message = f'{timestamp}\n{nonce}\n'.encode('utf-8') + body + b'\n'
    if not rsa.verify_sha256(key, message, signature):
        raise Rejected(Rejected.SIGNATURE, f'signature does not verify with serial {serial[:64]}')
