"""Sends one generated request through Chalice's test client and observes what it did.

What is observed: the status and body, the exceptions Paygate logged, how many
calls went out to providers (answered as the case says), and which state items
of the table changed (the table is then put back as it was seeded).
"""
import json
import logging
import sys
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import requests

from chalicelib import aws, settings

LOG_PREFIXES = ('NOTIFY#', 'CMEVENT#')


@dataclass
class Case:
    """One generated request, and how the mocked providers answer the calls it makes."""
    method: str
    path: str
    query: str = ''
    headers: dict = field(default_factory=dict)
    body: bytes = b''
    signed: bool = False
    upstream: object = 'down'

    @property
    def url(self):
        return self.path + ('?' + self.query if self.query else '')

    def mentions(self, text):
        """Whether the request itself carries `text` (an echo of it is not a leak)."""
        return text in repr((self.url, self.headers)) + self.body.decode('latin-1')


@dataclass
class Outcome:
    status: int
    body: str
    errors: list          # exc_info of every exception Paygate logged
    outbound: int         # calls made to providers
    changed: list         # keys of state items that changed
    unsendable: bool = False


class ErrorLog(logging.Handler):
    """Collects the exceptions Paygate logs (log.exception) while one request runs."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.errors = []

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info)


class Table:
    """The table's items as seeded; compares against them and puts them back after each request."""

    def __init__(self):
        self.seed = self._items()

    @staticmethod
    def _items():
        client, name = aws.client('dynamodb'), settings.get().table_name
        pages = client.get_paginator('scan').paginate(TableName=name, ConsistentRead=True)
        return {(item['pk']['S'], item['sk']['S']): item for page in pages for item in page['Items']}

    def after_request(self):
        """Keys of the state items (not raw notification logs) the request changed; the table is
        back to the seed afterwards."""
        now = self._items()
        changed = sorted(key for key in set(now) | set(self.seed)
                         if not key[0].startswith(LOG_PREFIXES) and now.get(key) != self.seed.get(key))
        client, name = aws.client('dynamodb'), settings.get().table_name
        for key, item in now.items():
            if key not in self.seed:
                client.delete_item(TableName=name, Key={'pk': item['pk'], 'sk': item['sk']})
        for key, item in self.seed.items():
            if now.get(key) != item:
                client.put_item(TableName=name, Item=item)
        return changed


class FuzzedApp:
    """The seeded app behind Chalice's test client; every outbound call is answered as the case says."""

    def __init__(self, client, seed, table):
        self.client, self.seed, self.table = client, seed, table
        self.upstream, self.outbound = 'down', 0

    def send(self, case):
        """The Outcome of one request."""
        self.upstream, self.outbound = case.upstream, 0
        errors = ErrorLog()
        logger = logging.getLogger('paygate')
        handlers, logger.handlers = logger.handlers, [errors]
        unsendable = False
        try:
            response = self.client.http.request(case.method, case.url, headers=case.headers, body=case.body)
            status, body = response.status_code, response.body.decode('utf-8', 'replace')
        except UnicodeEncodeError as exc:     # Chalice cannot encode the answer, so it is never sent
            errors.errors.append(sys.exc_info())
            status, body, unsendable = 500, exc.object, True
        finally:
            logger.handlers = handlers
        return Outcome(status, body, errors.errors, self.outbound, self.table.after_request(), unsendable)

    def answer_outbound(self, request):
        """A `responses` callback: the provider's answer to a call Paygate makes."""
        self.outbound += 1
        mode = self.upstream
        if mode == 'down':
            return requests.ConnectionError('mocked provider is down')
        if mode == 'timeout':
            return requests.ReadTimeout('mocked provider timed out')
        if mode == 'http500':
            return 500, {}, 'Internal Server Error'
        if mode == 'garbage':
            return 200, {'Content-Type': 'text/html'}, '\x00<html>garbage'
        answer = _plausible_answer(request) if mode == 'ok' else mode[1]
        return 200, {'Content-Type': 'application/json'}, json.dumps(answer)


def _plausible_answer(request):
    """A provider's success answer, as far as one can be made without its keys (Codepay, Midas)."""
    url = urlsplit(request.url)
    if url.path.startswith('/creat_order'):
        query = dict(parse_qsl(url.query))
        return {'status': 0, 'msg': 'ok', 'pay_id': query.get('pay_id'), 'order_id': 'CPO1',
                'money': query.get('price'), 'price': query.get('price'), 'type': query.get('type'),
                'qrcode': 'https://codepay.test/qr.png', 'serverTime': 1763780000, 'endTime': 1763780360}
    if url.path.startswith('/mpay/'):
        return {'ret': 0, 'token': 'TOKENFUZZ', 'url_params': '/v1/r/x', 'balance': 100, 'gen_balance': 0,
                'first_save': 0, 'save_amt': 0, 'billno': 'fuzz', 'used_gen_amt': 0}
    return {}
