"""A merchant's webhook receiver, for trying webhooks locally.

POST /merchant/webhooks checks Paygate-Signature the way a merchant would
(with chalicelib.webhooks.signature.verify, the helper merchants copy) and
keeps what arrived; GET /merchant/webhooks lists it.
"""
import json
import threading
import time

from chalicelib.webhooks import signature

PREFIX = '/merchant/webhooks'


class Emulator:
    def __init__(self, environ, base_url, paygate_url):
        endpoints = json.loads(environ.get('PAYGATE_WEBHOOKS') or '[]')
        mine = [e for e in endpoints if e.get('url', '').endswith(PREFIX)]
        self.secret = mine[0]['secrets'][0] if mine else ''
        self.received = []
        self.lock = threading.Lock()

    def routes(self):
        return [('POST', PREFIX, self.receive), ('GET', PREFIX, self.listing)]

    def receive(self, request):
        from localdev.sandbox import json_answer
        verified = signature.verify(request.body, request.headers.get('paygate-signature', ''), self.secret,
                                    now=time.time())
        if not verified:
            return json_answer({'error': 'bad signature'}, 400)
        event = json.loads(request.body)
        with self.lock:
            self.received.append({'id': event['id'], 'type': event['type']})
        return json_answer({'received': event['id']})

    def listing(self, request):
        from localdev.sandbox import json_answer
        with self.lock:
            return json_answer({'received': list(self.received)})
