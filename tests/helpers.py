"""Helpers for building requests the way clients and providers send them."""
import hashlib
import json
from urllib.parse import urlencode

from tests.conftest import CODEPAY_KEY, PK, SK

JSON = {'Content-Type': 'application/json'}
FORM = {'Content-Type': 'application/x-www-form-urlencoded'}
PUBLISHABLE = {**JSON, 'X-Api-Key': PK}
SECRET = {**JSON, 'Authorization': f'Bearer {SK}'}


def post_json(client, path, body, headers=PUBLISHABLE):
    return client.http.post(path, headers=headers, body=json.dumps(body).encode('utf-8'))


def body_json(response):
    return json.loads(response.body)


def codepay_sign(fields, key=CODEPAY_KEY):
    """PROVIDERS.md §5.1, written out independently of chalicelib: ksort, skip '', md5(.. + key)."""
    pairs = [f'{k}={fields[k]}' for k in sorted(fields) if k != 'sign' and fields[k] != '']
    return hashlib.md5(('&'.join(pairs) + key).encode('utf-8')).hexdigest()


def codepay_notification(pay_id, money='6.00', pay_no='CP20261122000001', key=CODEPAY_KEY, **extra):
    fields = {'pay_id': pay_id, 'money': money, 'price': money, 'type': '1', 'pay_no': pay_no,
              'param': '', 'pay_time': '1763780000', 'pay_tag': '', **extra}
    fields['sign'] = codepay_sign(fields, key)
    return fields


def form_body(fields):
    return urlencode(fields).encode('utf-8')
