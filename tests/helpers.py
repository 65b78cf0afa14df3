"""Helpers for building requests the way clients and providers send them."""
import contextlib
import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from tests import table
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
    """docs/providers/codepay.md#signing, written out independently of chalicelib: ksort, skip '', md5(.. + key)."""
    pairs = [f'{k}={fields[k]}' for k in sorted(fields) if k != 'sign' and fields[k] != '']
    return hashlib.md5(('&'.join(pairs) + key).encode('utf-8')).hexdigest()


def codepay_notification(pay_id, money='6.00', pay_no='CP20261122000001', key=CODEPAY_KEY, price=None,
                         **extra):
    """Codepay's notification: `price` is the order's price, `money` what the buyer paid (the quote)."""
    fields = {'pay_id': pay_id, 'money': money, 'price': price or money, 'type': '1', 'pay_no': pay_no,
              'param': '', 'pay_time': '1763780000', 'pay_tag': '', **extra}
    fields['sign'] = codepay_sign(fields, key)
    return fields


def form_body(fields):
    return urlencode(fields).encode('utf-8')


def post_concurrently(path, body, headers, copies=50):
    """POST `copies` identical requests at once to the app served over real HTTP; their (status, text)."""
    return send_concurrently('POST', path, body, headers, copies)


@contextlib.contextmanager
def served():
    """The app (test stage) served over real HTTP on 127.0.0.1, on a free port, while the block
    runs; its base URL."""
    from localdev.server import BackgroundServer, create_server
    server = create_server('test', '127.0.0.1', 0)
    server.port = server.server.server_address[1]
    with BackgroundServer(server) as running:
        yield running.url


def send_concurrently(method, path, body, headers, copies):
    """Send `copies` identical requests at once to the app served over real HTTP; their (status, text)."""
    import requests
    with served() as url, requests.Session() as session:
        session.mount('http://', requests.adapters.HTTPAdapter(pool_maxsize=copies))

        def send(_):
            reply = session.request(method, f'{url}{path}', data=body, headers=headers, timeout=60)
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
    stored = table.order(order_id)
    assert stored['status'] == 'CREATED' and stored['version'] == 1
    assert table_items('EVENT#') == []


def _java_url_encode(text):
    """Java SnsSigCheck.encodeUrl: URLEncoder (UTF-8), then '+' -> %20, '*' -> %2A; '~' -> %7E."""
    from urllib.parse import quote_plus
    return quote_plus(text, safe='*').replace('+', '%20').replace('*', '%2A').replace('~', '%7E')


def midas_sig(method, path, params, appkey):
    """docs/providers/midas.md#signing, written out independently of chalicelib (Java SnsSigCheck style)."""
    import base64
    import hmac
    pairs = '&'.join(f'{name}={params[name]}' for name in sorted(params) if name != 'sig')
    text = method + '&' + _java_url_encode(path) + '&' + _java_url_encode(pairs)
    return base64.b64encode(hmac.new((appkey + '&').encode(), text.encode(), 'sha1').digest()).decode()


def midas_callback_value(value):
    """PHP SnsSigCheck::encodeValue, per UTF-8 byte: all but 0-9 a-z A-Z ! * ( ) -> %XX."""
    return ''.join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in '!*()')
                   else '%{:02X}'.format(b) for b in value.encode('utf-8'))


def midas_callback_sig(path, params, appkey):
    """The delivery callback's sig: the special value encoding, then the usual V3 signature (GET)."""
    encoded = {name: midas_callback_value(value) for name, value in params.items() if name != 'sig'}
    return midas_sig('GET', path, encoded, appkey)


def settings_fields(loaded):
    """(field name, value) of every setting in loaded settings.Settings, providers' included."""
    for field in dataclasses.fields(loaded):
        value = getattr(loaded, field.name)
        if isinstance(value, dict):
            for nested in value.values():
                yield from settings_fields(nested)
        elif dataclasses.is_dataclass(value):
            yield from settings_fields(value)
        else:
            yield field.name, value


def apply_verified(provider, note):
    """A verified Notification applied the way its notify route applies it; the outcome."""
    from chalicelib import notifications
    from chalicelib.providers.contract import Inbound
    return notifications.apply_verified(provider, note, Inbound('POST', f'/notify/{provider}', {}, (), b'{}'))


def event_bodies():
    """Every event in the table as its webhooks send it (a deferred one rendered)."""
    from chalicelib import events
    from chalicelib.store import dynamo
    return [json.loads(events.payload(dynamo.from_item(item))) for item in table_items('EVENT#')
            if item['sk']['S'] == 'EVENT']
