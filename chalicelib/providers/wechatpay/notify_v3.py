"""POST /notify/wechatpay/v3: API v3 notifications (JSON, signed, resource AES-256-GCM).

The signature is checked over the raw body with the key its Wechatpay-Serial
names (the WeChat Pay public key or a cached platform certificate), the
timestamp must be within 5 minutes, and `WECHATPAY/SIGNTEST/` probes are
refused quietly. Business fields are read only from the decrypted resource.
Answers: 204, or a 4xx with {"code": "FAIL", "message": ...}.
"""
import json
from dataclasses import dataclass

from chalicelib import clock
from chalicelib.providers.contract import (NOTHING, PAID, REFUND_FAILED, REFUNDED, Notification,
                                           Rejected, Reply)
from chalicelib.providers.wechatpay import common, crypto, sign, v3

NAME = common.NAME
SUCCESS = Reply(204, '')
REFUND_KINDS = {'SUCCESS': REFUNDED, 'CLOSED': REFUND_FAILED}


@dataclass(frozen=True)
class Keys:
    apiv3_key: str
    mch_id: str
    appids: tuple
    verify_key: str


def notification_keys(inbound):
    """The APIv3 key, our ids, and the key for the Wechatpay-Serial the notification names."""
    config = common.config()
    if config.apiv3_key is None:
        return Keys(None, config.mch_id, common.our_appids(config), None)
    verify_key = v3.key_for(sign.v3_serial(inbound.headers), clock.now())
    return Keys(config.apiv3_key.value, config.mch_id, common.our_appids(config), verify_key)


def failure(rejected):
    message = {Rejected.PROBE: 'signature probe refused'}.get(rejected.code, f'refused: {rejected.code}')
    return Reply(400, json.dumps({'code': 'FAIL', 'message': message}), 'application/json')


def parse_notification(inbound, keys, now):
    if keys.apiv3_key is None:
        raise Rejected(Rejected.SIGNATURE, 'PAYGATE_WECHATPAY_APIV3_KEY is not configured; cannot read v3')
    sign.v3_check(inbound.headers, inbound.body, keys.verify_key, now, v3.MAX_AGE_SECONDS)
    try:
        body = json.loads(inbound.body)
        resource = json.loads(v3.decrypt(body['resource'], keys.apiv3_key))
    except (ValueError, KeyError, TypeError, AttributeError, crypto.CryptoError) as exc:
        raise Rejected(Rejected.MALFORMED, f'unreadable notification or resource: {exc}') from None
    if not isinstance(resource, dict):
        raise Rejected(Rejected.MALFORMED, 'resource is not a JSON object')
    _check_merchant(resource, keys)
    event_type = str(body.get('event_type', ''))
    if event_type == 'TRANSACTION.SUCCESS':
        return _payment(resource, keys)
    if event_type.startswith('REFUND.'):
        return _refund(resource)
    return Notification(event_id=str(body.get('id', '')), kind=NOTHING,
                        out_trade_no=str(resource.get('out_trade_no', '')), detail=f'event {event_type}')


def _check_merchant(resource, keys):
    """mchid always; appid (one of ours) where the resource has one (refund resources do not)."""
    if resource.get('mchid') != keys.mch_id or ('appid' in resource and resource['appid'] not in keys.appids):
        raise Rejected(Rejected.MERCHANT,
                       f'mchid {resource.get("mchid")!r} / appid {resource.get("appid")!r}')


def _payment(resource, keys):
    transaction_id = str(resource.get('transaction_id') or '')
    if 'appid' not in resource:
        raise Rejected(Rejected.MERCHANT, 'transaction without appid')
    if not transaction_id or resource.get('trade_state') != 'SUCCESS':
        raise Rejected(Rejected.MALFORMED,
                       f'TRANSACTION.SUCCESS with trade_state {resource.get("trade_state")!r}')
    return Notification(event_id=transaction_id, kind=PAID,
                        out_trade_no=str(resource.get('out_trade_no', '')),
                        amount=_fen(resource, 'total'), provider_trade_no=transaction_id,
                        expected=common.made_with(resource['appid'], keys.appids))


def _refund(resource):
    return common.refund_notification(resource, REFUND_KINDS, _fen(resource, 'total'),
                                      _fen(resource, 'refund'))


def _fen(resource, name):
    amount = resource.get('amount')
    value = amount.get(name) if isinstance(amount, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Rejected(Rejected.MALFORMED, f'amount.{name} {value!r} is not fen')
    return value
