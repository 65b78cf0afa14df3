"""Tencent Cloud Marketplace's SaaS deliveries, as the marketplace sends them.

A POST of a JSON body to the delivery URL with `signature`, `timestamp` and
`eventId` in the query string: signature = lower-case hex SHA-256 of the
token, the timestamp and the eventId sorted as strings (byte order) and
concatenated. The body is not signed.
"""
import hashlib
import json
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from paygate_cli.client import Outgoing
from paygate_cli.errors import UsageProblem
from paygate_cli.fields import flatten, unflatten
from paygate_cli.signers import Prepared, china_time, parse_time

NAME = 'cloudmarket'
SUBJECT = 'instance'
STATES = ('createInstance', 'renewInstance', 'modifyInstance', 'expireInstance', 'destroyInstance',
          'verifyInterface')
NEEDS_INSTANCE = ('renewInstance', 'modifyInstance', 'expireInstance', 'destroyInstance')
PATH = '/cloudmarket'
TOKEN = 'PAYGATE_CLOUDMARKET_TOKEN'
QUERY = ('signature', 'timestamp', 'eventId')


def ordered(token, timestamp, event_id):
    return sorted([token, timestamp, event_id], key=lambda part: part.encode('utf-8'))


def signature(token, timestamp, event_id):
    return hashlib.sha256(''.join(ordered(token, timestamp, event_id)).encode('utf-8')).hexdigest()


def build(instance, action, settings, options):
    if action in NEEDS_INSTANCE and instance is None:
        raise UsageProblem(f'{action} acts on an instance: give its signId')
    token = settings.require(TOKEN)
    timestamp, event_id = str(int(options.now.timestamp())), str(secrets.randbelow(2 ** 31))
    query = {'signature': signature(token, timestamp, event_id), 'timestamp': timestamp, 'eventId': event_id}
    body = _body(action, instance, options)
    shown = [f'<{TOKEN}>' if part == token else part for part in ordered(token, timestamp, event_id)]
    signed_over = 'sha256 of ' + ' + '.join(shown)
    about = f'instance {instance["sign_id"]}' if instance else 'a new instance'
    return Prepared(f'Cloud Marketplace {action} for {about}', {**query, **flatten(body)}, signed_over, render)


def _body(action, instance, options):
    now = options.now
    if action == 'verifyInterface':
        return {'action': action, 'echoback': 'paygate-cli-' + secrets.token_hex(4)}
    body = {'action': action, 'openId': 'paygate-cli-openid', 'productId': 'paygate-cli-product',
            'requestId': secrets.token_hex(8)}
    if action == 'createInstance':
        span, unit = (7, 'd') if options.trial else (1, 'm')
        body.update(orderId='CLI' + now.strftime('%Y%m%d%H%M%S') + secrets.token_hex(3),
                    productInfo={'productName': 'Paygate CLI SaaS', 'isTrial': options.trial,
                                 'spec': 'standard', 'timeSpan': span, 'timeUnit': unit})
        return body
    body['signId'] = instance['sign_id']
    if action in ('renewInstance', 'modifyInstance'):
        body.update(orderId='CLI-' + secrets.token_hex(4),
                    instanceExpireTime=china_time(_a_year_after(instance, now)))
    if action == 'modifyInstance':
        body.update(spec='premium', timeSpan=1, timeUnit='y')
    return body


def _a_year_after(instance, now):
    """A year after the instance's expiry, or after now if it has expired."""
    expires = instance.get('expires_at')
    current = parse_time(expires) if expires else now
    return max(current, now) + timedelta(days=365)


def render(fields):
    query = urlencode({k: fields[k] for k in QUERY if k in fields})
    body = unflatten({k: v for k, v in fields.items() if k not in QUERY})
    return Outgoing('POST', PATH, query=query, headers={'Content-Type': 'application/json'},
                    body=json.dumps(body, ensure_ascii=False).encode('utf-8'))


def accepted(answer):
    return answer.status == 200
