"""Tencent Cloud Marketplace, emulated: it delivers signed actions to Paygate's /cloudmarket,
opens an instance's authUrl with its own signed login parameters, and stands in
for the merchant's website, which checks Paygate's login assertion.

Signing is written from docs/cloudmarket.md#the-signature independently of chalicelib, like
the document's PHP: sort([token, timestamp, eventId], SORT_STRING), implode,
sha256. The merchant's check follows docs/cloudmarket.md#free-login.

  GET  /cloudmarket                 a page with a button per action
  POST /cloudmarket/send/<action>   deliver <action>; a JSON (or form) body overrides fields
  GET  /cloudmarket/open/<signId>   the marketplace's login button: 302 to the authUrl
  GET  /cloudmarket/merchant        the merchant's website: who logged in, if genuine
"""
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode

import requests

PREFIX = '/cloudmarket'
ACTIONS = ('verifyInterface', 'createInstance', 'renewInstance', 'modifyInstance',
           'expireInstance', 'destroyInstance')
CST = timezone(timedelta(hours=8))


def marketplace_signature(token, timestamp, event_id):
    """sort($arr, SORT_STRING) is byte order; then implode and sha256."""
    ordered = sorted([token, timestamp, event_id], key=lambda part: part.encode('utf-8'))
    return hashlib.sha256(''.join(ordered).encode('utf-8')).hexdigest()


def signed_params(token):
    timestamp, event_id = str(int(time.time())), str(secrets.randbelow(2 ** 31))
    return {'signature': marketplace_signature(token, timestamp, event_id),
            'timestamp': timestamp, 'eventId': event_id}


def china_time(moment):
    return moment.astimezone(CST).strftime('%Y-%m-%d %H:%M:%S')


class Emulator:
    def __init__(self, environ, base_url, paygate_url):
        self.token = environ.get('PAYGATE_CLOUDMARKET_TOKEN', '')
        self.login_secret = environ.get('PAYGATE_CLOUDMARKET_LOGIN_SECRET', '')
        self.delivery_url = f'{paygate_url}/cloudmarket'
        self.instances = {}                      # signId -> authUrl, as the marketplace keeps them
        self.last_sign_id = None
        self.lock = threading.Lock()

    def routes(self):
        return [('GET', f'{PREFIX}/open/', self.open_login),
                ('GET', f'{PREFIX}/merchant', self.merchant),
                ('POST', f'{PREFIX}/send/', self.send),
                ('GET', PREFIX, self.console)]

    def body_for(self, action, overrides):
        """The body the marketplace sends for `action`, with `overrides` applied."""
        now = datetime.now(timezone.utc)
        body = {'action': action, 'openId': 'sandbox-openid', 'productId': 'sandbox-product',
                'requestId': secrets.token_hex(8)}
        if action == 'verifyInterface':
            body = {'action': action, 'echoback': 'sandbox-' + secrets.token_hex(4)}
        elif action == 'createInstance':
            body.update(orderId='SBX' + now.strftime('%Y%m%d%H%M%S') + secrets.token_hex(3),
                        productInfo={'productName': 'Sandbox SaaS', 'isTrial': False, 'spec': 'standard',
                                     'timeSpan': 1, 'timeUnit': 'm'})
        else:
            body['signId'] = self.last_sign_id or ''
        if action in ('renewInstance', 'modifyInstance'):
            body.update(orderId='SBX-' + secrets.token_hex(4),
                        instanceExpireTime=china_time(now + timedelta(days=365)))
        if action == 'modifyInstance':
            body.update(spec='premium', timeSpan=1, timeUnit='y')
        info = overrides.pop('productInfo', None)
        body.update(overrides)
        if isinstance(info, dict):
            body['productInfo'] = {**body.get('productInfo', {}), **info}
        return body

    def send(self, request):
        from localdev.sandbox import json_answer
        action = request.path.rsplit('/', 1)[-1]
        if action not in ACTIONS:
            return json_answer({'error': f'unknown action {action}; one of {", ".join(ACTIONS)}'}, 404)
        body = self.body_for(action, _overrides(request))
        query = signed_params(self.token)
        reply = requests.post(f'{self.delivery_url}?{urlencode(query)}', json=body, timeout=5)
        answer = _json_or_text(reply)
        if action == 'createInstance' and reply.status_code == 200:
            with self.lock:
                self.instances[answer['signId']] = answer['appInfo']['authUrl']
                self.last_sign_id = answer['signId']
        return json_answer({'sent': body, 'query': query, 'paygate_status': reply.status_code,
                            'paygate_answer': answer})

    def open_login(self, request):
        """The marketplace's login button: the authUrl with its own signed parameters."""
        from localdev.sandbox import Answer, json_answer
        sign_id = request.path.rsplit('/', 1)[-1]
        auth_url = self.instances.get(sign_id)
        if auth_url is None:
            return json_answer({'error': f'no sandbox instance {sign_id}'}, 404)
        target = f'{auth_url}?{urlencode({**signed_params(self.token), "signId": sign_id})}'
        return Answer(302, '', 'text/plain', {'Location': target})

    def merchant(self, request):
        """The merchant's website: checks Paygate's assertion as docs/cloudmarket.md#free-login describes."""
        from localdev.sandbox import json_answer
        params = request.query
        sign_id, expires, signature = (params.get(k, '') for k in ('signId', 'expires', 'signature'))
        expected = hmac.new(self.login_secret.encode('utf-8'), f'{expires}.{sign_id}'.encode('utf-8'),
                            hashlib.sha256).hexdigest()
        now = int(time.time())
        if not (expires.isdigit() and hmac.compare_digest(signature, expected)):
            return json_answer({'logged_in': False, 'reason': 'bad assertion signature'}, 403)
        if not now < int(expires) <= now + 120:
            return json_answer({'logged_in': False, 'reason': 'assertion expired'}, 403)
        return json_answer({'logged_in': True, 'signId': sign_id})

    def console(self, request):
        from localdev.sandbox import Answer
        buttons = ''.join(f'<form method="post" action="{PREFIX}/send/{a}"><button>{a}</button></form>'
                          for a in ACTIONS)
        logins = ''.join(f'<li><a href="{PREFIX}/open/{html.escape(s)}">log in to {html.escape(s)}</a></li>'
                         for s in list(self.instances))
        return Answer(200, f'''<!doctype html><title>Cloud Marketplace sandbox</title>
<h1>腾讯云市场 sandbox</h1><p>Deliveries go to {html.escape(self.delivery_url)}, signed with the
stage's token; renew/modify/expire/destroy act on the last created instance
({html.escape(self.last_sign_id or 'none yet')}).</p>{buttons}<ul>{logins}</ul>''', 'text/html')


def _overrides(request):
    if not request.body:
        return {}
    if request.headers.get('content-type', '').startswith('application/json'):
        data = json.loads(request.body)
        return data if isinstance(data, dict) else {}
    return dict(parse_qsl(request.body.decode('utf-8')))


def _json_or_text(reply):
    try:
        return reply.json()
    except ValueError:
        return reply.text
