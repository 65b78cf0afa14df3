"""Helpers for building requests the way clients and providers send them."""
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
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


def post_concurrently(path, body, headers, copies=50):
    """POST `copies` identical requests at once to the app served over real HTTP; their (status, text)."""
    import requests
    from localdev.server import BackgroundServer, create_server
    server = create_server('test', '127.0.0.1', 0)
    server.port = server.server.server_address[1]
    with BackgroundServer(server) as running, requests.Session() as session:
        session.mount('http://', requests.adapters.HTTPAdapter(pool_maxsize=copies))

        def send(_):
            reply = session.post(f'{running.url}{path}', data=body, headers=headers, timeout=60)
            return reply.status_code, reply.text

        with ThreadPoolExecutor(max_workers=copies) as pool:
            return list(pool.map(send, range(copies)))


def table_items(prefix):
    """Every item in the table whose key starts with `prefix` (EVENT#, NOTIFY#, ...)."""
    from chalicelib import aws, settings
    found = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return [item for item in found if item['pk']['S'].startswith(prefix)]


def assert_text_answer(response, text):
    """The exact plain-text answer a provider gets (`success`, `fail`)."""
    assert response.body == text.encode('ascii')
    assert response.headers['Content-Type'] == 'text/plain'


def assert_unchanged(order_id):
    """The order is as created and no event was written."""
    from chalicelib import store
    stored = store.get_order(order_id)
    assert stored['status'] == 'CREATED' and stored['version'] == 1
    assert table_items('EVENT#') == []
