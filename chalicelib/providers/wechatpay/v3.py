"""WeChat Pay API v3 client (JSON; SHA256withRSA, AES-256-GCM), docs/providers/wechatpay.md.

Requests carry the WECHATPAY2-SHA256-RSA2048 Authorization header (sign.py).
Replies are signed by WeChat Pay with its public key (serial `PUB_KEY_ID_...`)
or a platform certificate (hex serial); both are accepted at once, and an
unsigned or badly signed 2xx reply is refused.
"""
import json
from urllib.parse import quote

from chalicelib import clock, outbound, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import PAID, Created, Notification, Rejected, RefundResult
from chalicelib.providers.wechatpay import common, crypto, sign
from chalicelib.store import keys as key_store

MAX_AGE_SECONDS = 300
RETRYABLE = frozenset({'SYSTEM_ERROR', 'SYSTEMERROR', 'FREQUENCY_LIMITED', 'BANK_ERROR'})
NOTIFY_ROUTE = 'wechatpay/v3'


def key_for(serial, now):
    """The configured WeChat Pay public key, or a cached platform certificate (never downloaded)."""
    config = common.config()
    if config.public_key_id and serial == config.public_key_id:
        return config.public_key.value
    if not common.CERT_SERIAL.match(serial):
        return None
    return key_store.certificate(common.NAME, serial, now)


def decrypt(resource, apiv3_key):
    """The plaintext of an AEAD_AES_256_GCM `resource` object."""
    if resource.get('algorithm') != 'AEAD_AES_256_GCM':
        raise crypto.CryptoError(f'algorithm {resource.get("algorithm")!r}')
    return crypto.decrypt_gcm(apiv3_key, resource.get('nonce', ''), resource.get('associated_data', ''),
                              resource.get('ciphertext', ''))


def create(order, product, openid):
    """POST /v3/pay/transactions/<scene> (jsapi, app, native, h5): what the client pays with."""
    config, scene = common.config(), order['scene']
    appid = common.appid_for(scene)
    body = {
        'appid': appid,
        'mchid': config.mch_id,
        'description': product.name[:127],
        'out_trade_no': order['out_trade_no'],
        'time_expire': common.beijing(order['expires_at']).isoformat(),
        'notify_url': settings.get().notify_url(NOTIFY_ROUTE),
        'amount': {'total': order['amount'], 'currency': 'CNY'},
    }
    if scene == common.JSAPI:
        body['payer'] = {'openid': openid}
    if scene == common.H5:
        body['scene_info'] = {'payer_client_ip': order['client_ip'], 'h5_info': {'type': 'Wap'}}
    reply = _call('POST', f'/v3/pay/transactions/{scene}', body)
    if scene == common.NATIVE:
        return _created(common.native_params(_given(reply, scene, 'code_url')), appid)
    if scene == common.H5:
        return _created({'h5_url': common.with_redirect(_given(reply, scene, 'h5_url'), order.get('return_url'))},
                        appid)
    prepay_id = _given(reply, scene, 'prepay_id')
    key, timestamp, nonce = config.private_key.value, common.timestamp(), common.nonce()
    params = (sign.v3_app_params(appid, config.mch_id, prepay_id, key, timestamp, nonce) if scene == common.APP
              else sign.v3_pay_params(appid, prepay_id, key, timestamp, nonce))
    return _created(params, appid, prepay_id=prepay_id)


def _created(client_params, appid, **kept):
    return Created(client_params=client_params, provider_data={'api_version': 'v3', 'appid': appid, **kept})


def _given(reply, scene, name):
    if not reply.get(name):
        raise ProviderError(f'{scene} prepay reply without {name}')
    return reply[name]


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
    if (reply.get('out_trade_no'), reply.get('mchid'), reply.get('appid')) != (
            order['out_trade_no'], config.mch_id, common.appid_of(order)):
        raise ProviderError('query answered for another order, merchant or appid')
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


def download_certificates():
    """The platform certificates, each (serial, pem, effective_time, expire_time), once checked.

    Each comes encrypted with the APIv3 key; the reply itself is signed with
    the WeChat Pay public key or one of the certificates it carries.
    """
    raw = _send('GET', '/v3/certificates')
    if raw.status_code != 200:
        raise ProviderError(f'/v3/certificates answered HTTP {raw.status_code}', code=_error(raw)[0])
    apiv3_key = common.config().apiv3_key.value
    found = {}
    for item in outbound.json_object(raw).get('data') or []:
        sealed = item.get('encrypt_certificate') or {}
        try:
            pem = decrypt(sealed, apiv3_key).decode('utf-8')
        except (crypto.CryptoError, UnicodeDecodeError) as exc:
            raise ProviderError(f'certificate {item.get("serial_no")} does not decrypt: {exc}') from None
        if not (item.get('serial_no') and item.get('effective_time') and item.get('expire_time')):
            raise ProviderError('certificate entry without serial_no / effective_time / expire_time')
        found[str(item['serial_no']).upper()] = (pem, item['effective_time'], item['expire_time'])

    def keys(serial, now):
        downloaded = found.get(serial.upper())
        return downloaded[0] if downloaded else key_for(serial, now)

    _verify_reply(raw, keys)
    return [(serial, *certificate) for serial, certificate in sorted(found.items())]


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
               'Authorization': sign.v3_authorization(method, url, raw, config.mch_id, config.cert_serial,
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
        sign.v3_check(headers, reply.content, keys(sign.v3_serial(headers), clock.now()))
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
