"""WeChat Pay API v3 (JSON; SHA256withRSA, AES-256-GCM). PROVIDERS.md §3.2.

Requests carry the WECHATPAY2-SHA256-RSA2048 Authorization header, signed
with the merchant's API private key over `METHOD\\nPATH?QUERY\\ntimestamp\\n
nonce\\nbody\\n`. Replies and notifications are signed by WeChat Pay: with the
WeChat Pay public key (serial `PUB_KEY_ID_...`) or with a platform
certificate (hex serial); both are accepted at once. A bill file is the one
reply WeChat Pay does not sign (`fetch`): its SHA1 is given with its URL.
"""
import json
from urllib.parse import quote, urlsplit

from chalicelib import clock, outbound, rsa, settings
from chalicelib.errors import ProviderError
from chalicelib.providers import PAID, Created, Notification, Rejected
from chalicelib.providers.wechatpay import certificates, common, crypto
from chalicelib.providers.wechatpay.common import RefundResult

SCHEME = 'WECHATPAY2-SHA256-RSA2048'
PROBE_PREFIX = 'WECHATPAY/SIGNTEST/'
MAX_AGE_SECONDS = 300
RETRYABLE = frozenset({'SYSTEM_ERROR', 'SYSTEMERROR', 'FREQUENCY_LIMITED', 'BANK_ERROR'})
NOTIFY_ROUTE = 'wechatpay/v3'


def authorization(method, url, body, mchid, serial_no, private_key, timestamp, nonce):
    """The Authorization header for a request to `url` (path + query are signed) with `body` bytes."""
    parts = urlsplit(url)
    signed_url = parts.path + (f'?{parts.query}' if parts.query else '')
    message = f'{method}\n{signed_url}\n{timestamp}\n{nonce}\n'.encode('utf-8') + body + b'\n'
    signature = rsa.sign_sha256(private_key, message)
    return (f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


def pay_params(appid, prepay_id, private_key, timestamp, nonce):
    """wx.requestPayment's parameters: RSA over appId, timeStamp, nonceStr, package (one per line)."""
    package = f'prepay_id={prepay_id}'
    signature = rsa.sign_sha256(private_key, f'{appid}\n{timestamp}\n{nonce}\n{package}\n')
    return {'appId': appid, 'timeStamp': timestamp, 'nonceStr': nonce, 'package': package,
            'signType': 'RSA', 'paySign': signature}


def check_signature(headers, body, key_for, max_age=None):
    """Verify WeChat Pay's signature over `timestamp\\nnonce\\nbody\\n`; raise Rejected if it fails.

    `headers` are lower-case; `key_for(serial)` gives the key text or None.
    """
    signature = headers.get('wechatpay-signature', '')
    timestamp = headers.get('wechatpay-timestamp', '')
    nonce = headers.get('wechatpay-nonce', '')
    serial = headers.get('wechatpay-serial', '')
    if not (signature and timestamp and nonce and serial):
        raise Rejected(Rejected.MALFORMED, 'Wechatpay-Signature/Timestamp/Nonce/Serial header missing')
    if signature.startswith(PROBE_PREFIX):
        raise Rejected(Rejected.PROBE, 'WeChat Pay signature probe (WECHATPAY/SIGNTEST/)')
    if headers.get('wechatpay-signature-type', SCHEME) != SCHEME:
        raise Rejected(Rejected.SIGNATURE, f'signature type {headers["wechatpay-signature-type"]!r}')
    if max_age is not None:
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Rejected(Rejected.MALFORMED, f'Wechatpay-Timestamp {timestamp!r}')
        if abs(clock.now().timestamp() - int(timestamp)) > max_age:
            raise Rejected(Rejected.STALE, f'Wechatpay-Timestamp {timestamp} is more than {max_age} s away')
    key = key_for(serial)
    if key is None:
        raise Rejected(Rejected.SIGNATURE, f'no WeChat Pay key or certificate with serial {serial}')
    message = f'{timestamp}\n{nonce}\n'.encode('utf-8') + body + b'\n'
    if not rsa.verify_sha256(key, message, signature):
        raise Rejected(Rejected.SIGNATURE, f'signature does not verify with serial {serial}')


def key_for(serial):
    """The configured WeChat Pay public key, or a cached platform certificate (never downloaded)."""
    config = common.config()
    if config.public_key_id and serial == config.public_key_id:
        return config.public_key.value
    return certificates.lookup(serial)


def decrypt(resource):
    """The plaintext of an AEAD_AES_256_GCM `resource` object, with the APIv3 key."""
    config = common.config()
    if resource.get('algorithm') != 'AEAD_AES_256_GCM':
        raise crypto.CryptoError(f'algorithm {resource.get("algorithm")!r}')
    return crypto.decrypt_gcm(config.apiv3_key.value, resource.get('nonce', ''),
                              resource.get('associated_data', ''), resource.get('ciphertext', ''))


def create(order, product, openid):
    config = common.config()
    reply = _call('POST', '/v3/pay/transactions/jsapi', {
        'appid': config.appid,
        'mchid': config.mch_id,
        'description': product.name[:127],
        'out_trade_no': order['out_trade_no'],
        'time_expire': common.beijing(order['expires_at']).isoformat(),
        'notify_url': settings.get().notify_url(NOTIFY_ROUTE),
        'amount': {'total': order['amount'], 'currency': 'CNY'},
        'payer': {'openid': openid},
    })
    prepay_id = reply.get('prepay_id')
    if not prepay_id:
        raise ProviderError('jsapi prepay reply without prepay_id')
    params = pay_params(config.appid, prepay_id, config.private_key.value,
                        common.timestamp(), common.nonce())
    return Created(client_params=params, provider_data={'api_version': 'v3', 'prepay_id': prepay_id})


def query(order):
    """The order's payment as a Notification, or None while it is unpaid."""
    config = common.config()
    path = f'/v3/pay/transactions/out-trade-no/{quote(order["out_trade_no"], safe="")}?mchid={config.mch_id}'
    try:
        reply = _call('GET', path)
    except ProviderError as exc:
        if exc.code == 'ORDER_NOT_EXIST':
            return None
        raise
    if reply.get('trade_state') not in ('SUCCESS', 'REFUND'):
        return None
    if (reply.get('out_trade_no'), reply.get('mchid')) != (order['out_trade_no'], config.mch_id):
        raise ProviderError('query answered for another order or merchant')
    return Notification(event_id=f'query:{reply.get("transaction_id", "")}', kind=PAID,
                        out_trade_no=order['out_trade_no'], amount=_total(reply),
                        provider_trade_no=reply.get('transaction_id', ''))


def close(order):
    config = common.config()
    path = f'/v3/pay/transactions/out-trade-no/{quote(order["out_trade_no"], safe="")}/close'
    try:
        _call('POST', path, {'mchid': config.mch_id})
    except ProviderError as exc:
        if exc.code != 'ORDER_CLOSED':
            raise


def refund(order, refund):
    body = {'out_trade_no': order['out_trade_no'], 'out_refund_no': refund['refund_no'],
            'notify_url': settings.get().notify_url(NOTIFY_ROUTE),
            'amount': {'refund': refund['amount'], 'total': order['amount'], 'currency': 'CNY'}}
    if refund.get('reason'):
        body['reason'] = refund['reason'][:80]
    reply = _call('POST', '/v3/refund/domestic/refunds', body)
    status = reply.get('status')
    if status == 'CLOSED':
        raise ProviderError('refund closed by WeChat Pay', code='CLOSED')
    return RefundResult(succeeded=status == 'SUCCESS', provider_refund_id=reply.get('refund_id', ''))


def refresh_certificates():
    """Download the platform certificates, check them, cache them; return their serials.

    Each certificate comes encrypted with the APIv3 key; the reply itself is
    signed with the WeChat Pay public key or one of the certificates.
    """
    raw = _send('GET', '/v3/certificates')
    if raw.status_code != 200:
        raise ProviderError(f'/v3/certificates answered HTTP {raw.status_code}', code=_error(raw)[0])
    found = {}
    for item in outbound.json_object(raw).get('data') or []:
        sealed = item.get('encrypt_certificate') or {}
        try:
            pem = decrypt(sealed).decode('utf-8')
        except (crypto.CryptoError, UnicodeDecodeError) as exc:
            raise ProviderError(f'certificate {item.get("serial_no")} does not decrypt: {exc}') from None
        if not (item.get('serial_no') and item.get('effective_time') and item.get('expire_time')):
            raise ProviderError('certificate entry without serial_no / effective_time / expire_time')
        found[str(item['serial_no']).upper()] = (pem, item['effective_time'], item['expire_time'])

    def keys(serial):
        downloaded = found.get(serial.upper())
        return downloaded[0] if downloaded else key_for(serial)

    _verify_reply(raw, keys)
    for serial, (pem, effective_time, expire_time) in found.items():
        certificates.save(serial, pem, effective_time, expire_time)
    return sorted(found)


def get(path):
    """A signed GET (path with its query) whose verified JSON reply is returned."""
    return _call('GET', path)


def fetch(url):
    """The bytes at `url` (a bill's download_url): a signed GET whose reply WeChat Pay does not
    sign; the caller checks the hash it was given with the URL."""
    reply = _request('GET', url)
    if reply.status_code != 200:
        code, message = _error(reply)
        raise ProviderError(f'{code}: {message}', code=code,
                            retryable=reply.status_code >= 500 or reply.status_code == 429)
    return reply.content


def _call(method, path, body=None):
    """A signed request whose signed 2xx reply is returned as JSON; anything else raises."""
    reply = _send(method, path, body)
    if not 200 <= reply.status_code < 300:
        code, message = _error(reply)
        retryable = reply.status_code >= 500 or reply.status_code == 429 or code in RETRYABLE
        raise ProviderError(f'{code}: {message}', code=code, retryable=retryable)
    _verify_reply(reply, key_for)
    return outbound.json_object(reply) if reply.content else {}


def _send(method, path, body=None):
    return _request(method, common.config().base_url + path, body)


def _request(method, url, body=None):
    config = common.config()
    if config.private_key is None or config.apiv3_key is None:
        raise ProviderError('API v3 keys are not configured (PAYGATE_WECHATPAY_PRIVATE_KEY, _APIV3_KEY)')
    raw = json.dumps(body, ensure_ascii=False, separators=(',', ':')).encode('utf-8') if body else b''
    headers = {'Accept': 'application/json', 'User-Agent': 'paygate',
               'Authorization': authorization(method, url, raw, config.mch_id, config.cert_serial,
                                              config.private_key.value, common.timestamp(),
                                              common.nonce())}
    if raw:
        headers['Content-Type'] = 'application/json'
    if config.public_key_id:
        headers['Wechatpay-Serial'] = config.public_key_id
    return outbound.request(method, url, data=raw or None, headers=headers)


def _verify_reply(reply, keys):
    headers = {k.lower(): v for k, v in reply.headers.items()}
    try:
        check_signature(headers, reply.content, keys)
    except Rejected as rejected:
        raise ProviderError(f'reply not signed by WeChat Pay: {rejected.message}', code='signature') from None


def _error(reply):
    try:
        data = reply.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    return str(data.get('code') or f'HTTP_{reply.status_code}'), str(data.get('message', ''))


def _total(reply):
    total = (reply.get('amount') or {}).get('total')
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ProviderError(f'amount.total {total!r} is not fen')
    return total
