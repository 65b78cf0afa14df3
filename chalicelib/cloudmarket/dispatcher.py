"""POST /cloudmarket: the marketplace's delivery URL (发货 URL), docs/cloudmarket.md#actions.

1. the signature in the query string (signature.py), 30 s window;
2. the body: JSON, or a form (productInfo as JSON text or productInfo[field]);
3. once per eventId: a delivery answered before is answered again with the
   same bytes when its body is the same, and refused (409) when it differs;
4. the action, whose change is committed with its event and the stored answer.

Answers are JSON. Success answers are exactly those docs/cloudmarket.md#actions gives; errors
are {"error": {"code", "message", "field"?}} with 400 (bad or missing field,
unknown action, bad body), 401 (signature), 404 (unknown signId, or not
enabled), 409 (eventId replayed with another body; instance destroyed),
413 (body over 64 KiB); 5xx only for our own faults.
"""
import hashlib
import json
import logging
import re
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib import clock, formdata, jsontext, retry, settings
from chalicelib.cloudmarket import instances, login, signature
from chalicelib.errors import ApiError, conflict, invalid
from chalicelib.providers.contract import Reply
from chalicelib.store import instances as instance_store

log = logging.getLogger('paygate.cloudmarket')

BODY_LIMIT = 64 * 1024
RECORD_TTL = timedelta(days=30)
SUCCESS = {'success': 'true'}
JSON = 'application/json'
PRIVATE_HEADERS = frozenset({'authorization', 'cookie', 'x-api-key'})
_NESTED = re.compile(r'\A(\w+)\[(\w+)\]\Z')
_BOOLEANS = {'true': True, '1': True, 'false': False, '0': False}


class _Taken(Exception):
    """The delivery was answered by a concurrent copy of it; read its answer."""


def handle(inbound):
    """Answer one marketplace delivery; returns the providers.Reply to send."""
    config = settings.get().cloudmarket
    if config is None:
        return _error(ApiError(404, 'not_found', 'Cloud Marketplace delivery is not enabled'))
    if len(inbound.body) > BODY_LIMIT:
        return _refuse(inbound, ApiError(413, 'too_large', f'the body is over {BODY_LIMIT} bytes'))
    try:
        _, event_id = signature.verify(inbound.query, config.token.value, clock.now(),
                                       signature.DELIVERY_WINDOW)
    except signature.SignatureError as exc:
        return _refuse(inbound, ApiError(401, exc.code, exc.message))
    delivery = _Delivery(event_id, inbound)
    try:
        body = parse_body(inbound)
        delivery.digest(body)
        return _answer_once(body, delivery)
    except ApiError as exc:
        if exc.code == 'replayed_event':
            return _refuse(inbound, exc)
        delivery.save_error(exc)
        return _error(exc)


def _answer_once(body, delivery):
    def attempt():
        prior = instance_store.get_delivery(delivery.event_id)
        if prior and prior['body_hash'] != delivery.body_hash:
            raise conflict('replayed_event',
                           f'eventId {delivery.event_id} was already used with another body')
        if prior and prior.get('answer'):
            return Reply(200, prior['answer'], JSON)
        action = ACTIONS.get(delivery.action)
        if action is None:
            raise invalid(f'unknown action {str(body.get("action"))[:64]!r}; expected one of '
                          f'{", ".join(ACTIONS)}', 'action')
        try:
            return Reply(200, _dumps(action(body, delivery)), JSON)
        except _Taken:
            return retry.AGAIN

    return retry.optimistic(attempt, f'marketplace eventId {delivery.event_id}')


def parse_body(inbound):
    """The delivery's fields: a JSON object, or a form body."""
    if formdata.is_form(inbound.header('content-type')):
        try:
            return _from_form(formdata.parse(inbound.body))
        except formdata.FormError as exc:
            raise invalid(f'the form body is malformed: {exc}') from None
    try:
        body = jsontext.loads(inbound.body)
    except jsontext.JSONTextError as exc:
        raise ApiError(400, 'invalid_json', f'{exc} (and it is not a form)') from None
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object')
    return body


def _from_form(fields):
    body = {}
    for key, value in fields.items():
        nested = _NESTED.match(key)
        if nested:
            parent = body.setdefault(nested[1], {})
            if not isinstance(parent, dict):
                raise invalid(f'{nested[1]} is given both whole and by field', nested[1])
            parent[nested[2]] = value
        elif isinstance(body.get(key), dict):
            raise invalid(f'{key} is given both whole and by field', key)
        else:
            body[key] = value
    if isinstance(body.get('productInfo'), str):
        try:
            body['productInfo'] = json.loads(body['productInfo'])
        except ValueError:
            raise invalid('productInfo must be a JSON object', 'productInfo') from None
    return body


def _dumps(data):
    return json.dumps(data, ensure_ascii=False, separators=(',', ':'), sort_keys=True)


class _Delivery:
    """One verified delivery and its record (raw request, verdict, the answer given)."""

    def __init__(self, event_id, inbound):
        self.event_id = event_id
        self.inbound = inbound
        self.body_hash = hashlib.sha256(inbound.body).hexdigest()
        self.action = None

    def digest(self, body):
        """Key the record by the body's content, so key order or JSON vs form do not matter."""
        self.body_hash = hashlib.sha256(_dumps(body).encode('utf-8')).hexdigest()
        self.action = body['action'] if isinstance(body.get('action'), str) else None

    def record(self, answer=None, sign_id=None, error=None):
        """The record to store; with `answer`, the answer every identical repeat will get."""
        record = _record(self.inbound, self.event_id, self.body_hash)
        record.update(action=self.action, sign_id=sign_id)
        if answer is not None:
            record.update(verdict='answered', answer=_dumps(answer))
        else:
            record['verdict'] = f'{error.code}: {error.message}'
        return record

    def save(self, answer, sign_id=None):
        """Store the answer of a delivery that changed nothing; _Taken if one is stored already."""
        if not instance_store.put_delivery(self.record(answer, sign_id)):
            raise _Taken()
        return answer

    def save_error(self, error):
        log.warning('cloudmarket event %s refused: %s %s', self.event_id, error.code, error.message)
        instance_store.put_delivery(self.record(error=error))


def _record(inbound, key, body_hash):
    now = clock.now()
    return {'event_id': key, 'body_hash': body_hash, 'query': urlencode(inbound.query),
            'headers': {k: v for k, v in inbound.headers.items() if k not in PRIVATE_HEADERS},
            'body': inbound.body, 'received_at': clock.rfc3339(now),
            'ttl': int((now + RECORD_TTL).timestamp())}


def _refuse(inbound, error):
    """Record a delivery refused before its eventId could be trusted or used, then answer it."""
    log.warning('cloudmarket delivery refused: %s %s', error.code, error.message)
    digest = hashlib.sha256(inbound.body + urlencode(inbound.query).encode('utf-8')).hexdigest()
    record = _record(inbound, f'refused#{digest}', digest)
    if len(inbound.body) > BODY_LIMIT:
        record['body'] = None
    instance_store.put_delivery({**record, 'verdict': f'{error.code}: {error.message}'})
    return _error(error)


def _error(error):
    return Reply(error.status, _dumps(error.body()), JSON)


def _text(fields, name, required=True, label=None):
    """A string field (numbers are taken as their digits); None when optional and absent."""
    label = label or name
    value = fields.get(name)
    if value is None or value == '':
        if required:
            raise invalid(f'{label} is required', label)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or len(str(value)) > 256:
        raise invalid(f'{label} must be a string of at most 256 characters', label)
    return str(value)


def _trial(info):
    """productInfo.isTrial; the marketplace console's own test data spells it isTrail."""
    if 'isTrial' not in info and 'isTrail' in info:
        log.info('createInstance without productInfo.isTrial: reading productInfo.isTrail')
        return _is_trial(info['isTrail'], 'productInfo.isTrail')
    return _is_trial(info.get('isTrial'), 'productInfo.isTrial')


def _is_trial(value, label):
    """true/false, "true"/"false" (any case), 1/0 or "1"/"0"; absent = formal."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (str, int)) and str(value).lower() in _BOOLEANS:
        return _BOOLEANS[str(value).lower()]
    raise invalid(f'{label} must be true or false', label)


def _absent(value):
    return value is None or value == ''


def _given_expiry(body, info):
    """instanceExpireTime when the marketplace sends one (in the body or productInfo), else None."""
    for fields in (body, info):
        if not _absent(fields.get('instanceExpireTime')):
            return instances.parse_expire_time(fields['instanceExpireTime'])
    return None


def verify_interface(body, delivery):
    if body.get('echoback') is None:
        raise invalid('echoback is required', 'echoback')
    return delivery.save({'echoback': body['echoback']})


def create_instance(body, delivery):
    request = _create_request(body)
    existing = instances.for_order(request['order_id'])
    if existing is None:
        sign_id = instances.new_sign_id()
        answer = _created(sign_id)
        outcome = instances.create(sign_id, request, delivery.record(answer, sign_id))
        if outcome == instance_store.APPLIED:
            return answer
        if outcome == instance_store.DUPLICATE:
            raise _Taken()
        existing = instances.for_order(request['order_id'])
    return delivery.save(_created(existing['sign_id']), existing['sign_id'])


def _create_request(body):
    info = body.get('productInfo')
    if not isinstance(info, dict):
        raise invalid('productInfo is required (an object)', 'productInfo')
    trial = _trial(info)
    expires_at = _given_expiry(body, info)
    if trial and _absent(info.get('timeSpan')) and _absent(info.get('timeUnit')):
        span, unit = settings.get().cloudmarket.trial_days, 'd'
    elif expires_at and _absent(info.get('timeSpan')) and _absent(info.get('timeUnit')):
        span, unit = None, None
    else:
        span, unit = instances.parse_period(info.get('timeSpan'), info.get('timeUnit'))
    return {
        'order_id': _text(body, 'orderId'),
        'product_id': _text(body, 'productId'),
        'open_id': _text(body, 'openId', required=False),
        'request_id': _text(body, 'requestId', required=False),
        'product_name': _text(info, 'productName', False, 'productInfo.productName'),
        'spec': _spec(info.get('spec')),
        'trial': trial,
        'time_span': span,
        'time_unit': unit,
        'expires_at': expires_at,
        'create_request': _dumps({k: v for k, v in body.items() if k != 'action'}),
    }


def _spec(value):
    """The product spec as text (JSON text when the marketplace sends a structure)."""
    return value if isinstance(value, str) or value is None else _dumps(value)


def _created(sign_id):
    config = settings.get()
    token = login.login_token(sign_id, config.cloudmarket.login_secret.value)
    return {'signId': sign_id, 'appInfo': {'website': config.cloudmarket.website,
                                           'authUrl': f'{config.public_url}/cloudmarket/login/{token}'}}


def _change(body, delivery, decide):
    """Apply `decide(instance) -> instances.Change` to the signId's instance; answer success."""
    sign_id = _text(body, 'signId')
    outcome = instances.apply(sign_id, decide, delivery.record(SUCCESS, sign_id))
    if outcome == instance_store.DUPLICATE:
        raise _Taken()
    if outcome is None:
        delivery.save(SUCCESS, sign_id)
    return SUCCESS


def renew_instance(body, delivery):
    expires_at = instances.parse_expire_time(body.get('instanceExpireTime'))
    return _change(body, delivery, lambda instance: instances.renew(instance, expires_at))


def modify_instance(body, delivery):
    """A configuration change, e.g. a trial becoming a paid instance: the new expiry is
    instanceExpireTime, or, when only a period is sent, that period from now."""
    info = body.get('productInfo')
    period = info if isinstance(info, dict) and not _absent(info.get('timeSpan')) else body
    if _absent(body.get('instanceExpireTime')) and not _absent(period.get('timeSpan')):
        span, unit = instances.parse_period(period.get('timeSpan'), period.get('timeUnit'))
        expires_at = instances.add_period(clock.now(), span, unit)
    else:
        expires_at = instances.parse_expire_time(body.get('instanceExpireTime'))
    spec = _spec(body.get('spec', info.get('spec') if isinstance(info, dict) else None))
    return _change(body, delivery, lambda instance: instances.modify(instance, expires_at, spec))


def expire_instance(body, delivery):
    return _change(body, delivery, instances.expire)


def destroy_instance(body, delivery):
    return _change(body, delivery, instances.destroy)


ACTIONS = {
    'verifyInterface': verify_interface,
    'createInstance': create_instance,
    'renewInstance': renew_instance,
    'modifyInstance': modify_instance,
    'expireInstance': expire_instance,
    'destroyInstance': destroy_instance,
}
