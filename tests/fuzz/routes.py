"""Every route of app.py as a Hypothesis strategy of Cases, built around the seeded orders and instance.

Notification and delivery routes (`stateful`) get three kinds of request:
validly signed ones with hostile fields (`signed=True`), the same with the
signature broken (signed with another key, replaced, or missing), and
arbitrary requests.
"""
import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hypothesis import strategies as st

from tests import alipay_sdk
from tests.alipay_fixtures import fields_for
from tests.cloudmarket_fixtures import NOW, create_body, php_signature
from tests.conftest import CLOUDMARKET_TOKEN, CODEPAY_KEY, PK, SK
from tests.fuzz import strategies as fs
from tests.fuzz.harness import Case
from tests.helpers import codepay_sign, midas_callback_sig
from tests.midas_fixtures import APPKEY, PAYER, delivery, query_of
from tests.wechatpay_fixtures import (KEY, OPENID, PLATFORM_SERIAL, PUB_KEY_ID, encrypt_resource,
                                      payment_fields, signed_headers, transaction, v2_sign)

TIMESTAMP = str(int(NOW.timestamp()))
PUBLISHABLE, SECRET = 'publishable', 'secret'
CREDENTIALS = {'none': {}, 'pk': {'X-Api-Key': PK}, 'pk_old': {'X-Api-Key': 'pk_test_old'},
               'sk': {'Authorization': f'Bearer {SK}'}, 'sk_lower': {'authorization': f'bearer  {SK} '},
               'bad_pk': {'X-Api-Key': 'pk_wrong'}, 'bad_sk': {'Authorization': 'Bearer sk_wrong'},
               'pk_as_bearer': {'Authorization': f'Bearer {PK}'}, 'basic': {'Authorization': 'Basic eDp5'}}
HEADER_NAMES = ['Idempotency-Key', 'Content-Encoding', 'Accept-Charset', 'X-Forwarded-For', 'Cookie',
                'Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Serial', 'Wechatpay-Signature',
                'Wechatpay-Signature-Type', 'X-Midas-Openid', 'X-Midas-Openkey', 'X-Midas-Pf',
                'X-Midas-Pfkey', 'X-Midas-Login-Type', 'X-Midas-Zoneid', 'X-Api-Key', 'Authorization']
# A provider's refusal, in the fields every provider uses for it, with hostile messages.
REFUSALS = st.fixed_dictionaries({
    'ret': st.sampled_from([1001, 1018, 1004, 3000111, -1]), 'msg': fs.hostile_text,
    'status': st.sampled_from([-1, -2, 1]), 'code': fs.hostile_text, 'message': fs.hostile_text,
    'return_code': st.just('FAIL'), 'return_msg': fs.hostile_text, 'errcode': st.sampled_from([40029, -1]),
    'errmsg': fs.hostile_text})
# How the mocked providers answer every outbound call of a case.
UPSTREAM = fs.weighted((2, st.sampled_from(['ok', 'down', 'timeout', 'http500', 'garbage'])),
                       (1, REFUSALS.map(lambda value: ('json', value))),
                       (1, fs.json_values.map(lambda value: ('json', value))))
# How a notification's signature is made: validly, or broken one way or another.
SIGNATURES = fs.weighted((1, st.just('valid')), (1, st.sampled_from(['wrong_key', 'replaced', 'missing'])))
WRONG_KEY = 'not-the-key-0123456789abcdefghij'
TIMESTAMPS = st.sampled_from([str(int(TIMESTAMP) + 301), str(int(TIMESTAMP) - 301), '0', '-1', '+1763780000',
                              ' 1763780000', '1763780000.0', '1e9', '99999999999999999999999', '²',
                              '１７６３７８００００'])


@dataclass(frozen=True)
class Route:
    name: str
    cases: object = field(repr=False)        # a strategy of Case
    stateful: bool = False


@st.composite
def credentials(draw, role):
    """Mostly the credential the route needs (and the other kind), sometimes a bad or hostile one."""
    wanted = ['sk', 'sk_lower'] if role == SECRET else ['pk', 'pk_old', 'sk']
    choice = draw(fs.weighted((6, st.sampled_from(wanted)), (2, st.sampled_from(list(CREDENTIALS)))))
    headers = dict(CREDENTIALS[choice])
    if draw(st.integers(0, 9)) == 9:
        headers[draw(st.sampled_from(['X-Api-Key', 'Authorization']))] = draw(fs.header_values)
    return headers


@st.composite
def request(draw, method, path, role=None, template=None, query=None, header_names=()):
    """A request to an ordinary route: credentials, extra headers, a body from `template`, a query
    mostly made from the `query` template."""
    headers = draw(credentials(role)) if role else {}
    headers.update(draw(fs.headers(HEADER_NAMES + list(header_names))))
    body = b''
    if template is not None:
        body, content_type = draw(fs.typed_body(template))
        if content_type is not None:
            headers['Content-Type'] = content_type
    elif draw(st.booleans()):
        body, _ = draw(fs.raw_bodies)
    path = path if isinstance(path, str) else draw(path)
    query = query or {}
    text = draw(fs.weighted((3, fs.mutated_text(query).map(urlencode)),
                            (1, fs.query_strings(list(query) + ['x']))))
    return Case(method, path, text, headers, body, upstream=draw(UPSTREAM))


def paths(template, ids):
    return fs.path_ids(ids).map(template.format)


def orders_routes(seed):
    order_ids = [order['order_id'] for order in seed.orders.values()]
    templates = [{'provider': name, 'product_id': 'gold_60', 'quantity': 1, 'payer': payer,
                  'out_trade_no': 'merchant-0001', 'client_ip': '203.0.113.9', 'metadata': {'player': 'p1'}}
                 for name, payer in [('codepay', {'channel': 'alipay'}), ('alipay', {}),
                                     ('wechatpay', {'openid': OPENID}), ('midas', PAYER)]]
    refund = {'amount': 100, 'reason': 'customer asked', 'refund_no': 'rf-0000001', 'payer': PAYER}
    close = {'payer': {'openid': OPENID, **PAYER}}
    return [
        Route('GET /', request('GET', '/', PUBLISHABLE)),
        Route('POST /orders', st.sampled_from(templates).flatmap(
            lambda t: request('POST', '/orders', PUBLISHABLE, t, header_names=['Idempotency-Key']))),
        Route('GET /orders/{order_id}', request('GET', paths('/orders/{}', order_ids), PUBLISHABLE)),
        Route('POST /orders/{order_id}/close',
              request('POST', paths('/orders/{}/close', order_ids), SECRET, close)),
        Route('POST /orders/{order_id}/refunds',
              request('POST', paths('/orders/{}/refunds', order_ids), SECRET, refund)),
    ]


def events_routes(seed):
    listing = {'limit': '2', 'cursor': 'MjAyNS0xMS0yMlQwMjo1MzoyMFojZXZ0XzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA==',
               'type': 'order.paid', 'delivered': 'false',
               'order_id': seed.orders['codepay_paid']['order_id']}
    return [
        Route('GET /events', request('GET', '/events', SECRET, query=listing)),
        Route('GET /events/{event_id}', request('GET', paths('/events/{}', seed.event_ids), SECRET)),
        Route('POST /events/{event_id}/resend',
              request('POST', paths('/events/{}/resend', seed.event_ids), SECRET)),
    ]


def reconciliation_routes(seed):
    """A day reconciled (the providers' bill APIs answering as the case says) and its report read."""
    run = {'provider': 'wechatpay', 'date': '2025-11-21'}
    listing = {'limit': '2', 'outcome': 'matched', 'cursor': 'cGF5bWVudCNwZzEjNDIwMA=='}
    days = st.tuples(fs.path_ids(['wechatpay', 'alipay', 'codepay']), fs.path_ids(['2025-11-21', '2025-11-22'])).map(
        lambda parts: '/reconciliations/{}/{}'.format(*parts))
    return [
        Route('POST /reconciliations', st.sampled_from(['codepay', 'alipay', 'wechatpay', 'midas']).flatmap(
            lambda name: request('POST', '/reconciliations', SECRET, {**run, 'provider': name}))),
        Route('GET /reconciliations/{provider}/{date}', request('GET', days, SECRET, query=listing)),
    ]


def midas_routes(seed):
    login_headers = [f'X-Midas-{name.replace("_", "-")}' for name in PAYER]
    payment = {'product_id': 'gold_60', 'payer': PAYER, 'out_trade_no': 'merchant-0002'}
    present = {'payer': PAYER, 'coins': 10, 'billno': 'present-0001', 'discountid': 'd1', 'giftid': 'g1'}
    return [
        Route('GET /midas/balance', request('GET', '/midas/balance', PUBLISHABLE,
                                            query={**PAYER, 'roleid': '角色', 'save_amt': '500'},
                                            header_names=login_headers)),
        Route('POST /midas/payments', request('POST', '/midas/payments', PUBLISHABLE, payment,
                                              header_names=['Idempotency-Key'])),
        Route('POST /midas/presents', request('POST', '/midas/presents', SECRET, present)),
    ]


def cloudmarket_routes(seed):
    action = {'signId': seed.sign_id, 'openId': 'openid-123', 'productId': '1001', 'requestId': 'req-2',
              'instanceExpireTime': '2026-12-22 10:00:00', 'productInfo': {'spec': 'pro'}}
    templates = [{'action': 'verifyInterface', 'echoback': 'Tencent-Cloud-42'},
                 create_body('MK2025112200009')]
    templates += [{**action, 'action': name} for name in
                  ('renewInstance', 'modifyInstance', 'expireInstance', 'destroyInstance')]
    login = request('GET', paths('/cloudmarket/login/{}', [seed.login_token, seed.sign_id]),
                    query={'signId': seed.sign_id})
    return [
        Route('POST /cloudmarket', st.sampled_from(templates).flatmap(cloudmarket_delivery), stateful=True),
        Route('GET /cloudmarket/login/{token}', login.flatmap(lambda case: signed_login(case, seed))),
        Route('GET /instances/{sign_id}', request('GET', paths('/instances/{}', [seed.sign_id]), SECRET)),
    ]


def _marketplace_query(event_id, how=None, timestamp=TIMESTAMP):
    token = WRONG_KEY if how == 'wrong_key' else CLOUDMARKET_TOKEN
    query = {'signature': php_signature(token, timestamp, event_id), 'timestamp': timestamp,
             'eventId': event_id}
    if how == 'replaced':
        query['signature'] = '0' * 64
    if how == 'missing':
        del query['signature']
    return query


@st.composite
def signed_login(draw, case, seed):
    """Half the logins carry the marketplace's own signed parameters."""
    if not draw(st.booleans()):
        return case
    event_id = draw(st.sampled_from(['1447906768', '']) | fs.encodable_text)
    query = {**_marketplace_query(event_id, draw(SIGNATURES)),
             'signId': draw(st.sampled_from([seed.sign_id, 'other']))}
    return Case(case.method, case.path, urlencode(query), case.headers, case.body, upstream=case.upstream)


@st.composite
def cloudmarket_delivery(draw, template):
    """A delivery signed as the marketplace signs it (query only: the body is not signed)."""
    body, content_type = draw(fs.typed_body(template))
    event_id = draw(st.sampled_from(['1447906768', '1447906769']) | fs.encodable_text)
    how = draw(st.one_of(SIGNATURES, st.sampled_from(['stale', 'arbitrary'])))
    if how == 'stale':
        query = urlencode(_marketplace_query(event_id, timestamp=str(int(TIMESTAMP) - 31)))
    elif how == 'arbitrary':
        query = draw(fs.query_strings(['signature', 'timestamp', 'eventId']))
    else:
        query = urlencode(_marketplace_query(event_id, how))
    headers = {'Content-Type': content_type} if content_type else {}
    headers.update(draw(fs.headers(HEADER_NAMES)))
    return Case('POST', '/cloudmarket', query, headers, body, signed=how == 'valid', upstream=draw(UPSTREAM))


def notify_routes(seed):
    return [
        Route('POST /notify/codepay', notification(codepay_notification(seed), fs.form_bodies),
              stateful=True),
        Route('POST /notify/alipay', notification(alipay_notification(seed), fs.form_bodies), stateful=True),
        Route('GET /notify/midas', notification(midas_notification(seed)), stateful=True),
        Route('POST /notify/wechatpay', notification(wechat_v2_notification(seed), fs.xml_bodies),
              stateful=True),
        Route('POST /notify/wechatpay/v3', notification(wechat_v3_notification(seed)), stateful=True),
    ]


def notification(signed, native=fs.well_formed_json):
    """A notification as the provider signs it (or breaks its signature), or an arbitrary request
    in the provider's format."""
    return fs.weighted((2, signed), (1, signed.flatmap(lambda case: arbitrary(case, native))))


@st.composite
def arbitrary(draw, case, native):
    """A request to the same route with nothing of the signed one but its method and path."""
    headers = draw(fs.headers(HEADER_NAMES))
    body, content_type = draw(fs.typed_body({'sign': 'x', 'out_trade_no': 'x', 'total_fee': '600'}, native))
    if content_type:
        headers['Content-Type'] = content_type
    query = draw(fs.query_strings(['sig', 'token', 'billno', 'appmeta', 'amt', 'openid', 'ts', 'payitem']))
    return Case(case.method, case.path, query, headers, body, upstream=case.upstream)


def _with_signature(fields, name, how, sign):
    """`fields` with their signature `name` made `how`: valid, with the wrong key, replaced or missing."""
    if how == 'valid':
        fields[name] = sign(fields, None)
    elif how == 'wrong_key':
        fields[name] = sign(fields, WRONG_KEY)
    elif how == 'replaced':
        right = sign(fields, None)
        fields[name] = ('y' if right.startswith('x') else 'x') + right[1:]
    return how == 'valid'


@st.composite
def codepay_notification(draw, seed):
    template = {'pay_id': seed.orders['codepay_open']['out_trade_no'], 'money': '6.00', 'price': '6.00',
                'type': '1', 'pay_no': 'CP20261122000009', 'param': '', 'pay_time': TIMESTAMP, 'pay_tag': ''}
    fields = draw(fs.mutated_text(template))
    fields.pop('sign', None)
    valid = _with_signature(fields, 'sign', draw(SIGNATURES),
                            lambda f, key: codepay_sign(f, key or CODEPAY_KEY))
    content_type = draw(st.sampled_from(['application/x-www-form-urlencoded',
                                         'application/x-www-form-urlencoded; charset=utf-8']))
    return Case('POST', '/notify/codepay', '', {'Content-Type': content_type},
                urlencode(fields).encode('ascii'), signed=valid, upstream=draw(UPSTREAM))


@st.composite
def alipay_notification(draw, seed):
    order = seed.orders[draw(st.sampled_from(['alipay_open', 'alipay_paid']))]
    fields = draw(fs.mutated_text(fields_for(order)))
    charset = draw(st.sampled_from(['utf-8', 'gbk']))
    if fields.get('charset') == 'utf-8':
        fields['charset'] = charset
    fields = {_in(k, charset): _in(v, charset) for k, v in fields.items()}
    how = draw(SIGNATURES)
    key = seed.alipay_keys.app if how == 'wrong_key' else seed.alipay_keys.alipay
    signed = alipay_sdk.notification(fields, key, charset)
    if how == 'replaced':
        signed['sign'] = 'A' + signed['sign'][1:] if signed['sign'][0] != 'A' else 'B' + signed['sign'][1:]
    if how == 'missing':
        del signed['sign']
    headers = {'Content-Type': f'application/x-www-form-urlencoded; charset={charset}'}
    return Case('POST', '/notify/alipay', '', headers, alipay_sdk.form_body(signed, charset),
                signed=how == 'valid', upstream=draw(UPSTREAM))


def _in(text, charset):
    """`text` as it survives a round trip through `charset`."""
    return text.encode(charset, 'replace').decode(charset)


@st.composite
def midas_notification(draw, seed):
    template = delivery(seed.orders['midas_open'])
    del template['sig']
    fields = draw(fs.mutated_text(template))
    fields.pop('sig', None)
    valid = _with_signature(fields, 'sig', draw(SIGNATURES),
                            lambda f, key: midas_callback_sig('/notify/midas', f, key or APPKEY))
    return Case('GET', '/notify/midas', query_of(fields), {}, b'', signed=valid, upstream=draw(UPSTREAM))


@st.composite
def wechat_v2_notification(draw, seed):
    order = seed.orders[draw(st.sampled_from(['wechat_open', 'wechat_paid']))]
    fields = draw(fs.mutated_text(payment_fields(order['out_trade_no'])))
    fields.pop('sign', None)
    sign_type = draw(st.sampled_from(['MD5', 'HMAC-SHA256']))
    if sign_type != 'MD5':
        fields['sign_type'] = sign_type
    valid = _with_signature(fields, 'sign', draw(SIGNATURES),
                            lambda f, key: v2_sign(f, key or KEY, sign_type))
    inner = ''.join(f'<{k}><![CDATA[{v}]]></{k}>' for k, v in fields.items())
    declared = draw(fs.weighted((2, st.sampled_from(['', 'UTF-8'])), (1, st.sampled_from(fs.ENCODINGS))))
    declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ''
    encoding = draw(fs.weighted((3, st.just('utf-8')), (1, st.sampled_from(['gbk', 'utf-16', 'utf-16-le']))))
    body = (declaration + f'<xml>{inner}</xml>').encode(encoding, 'replace')
    return Case('POST', '/notify/wechatpay', '', {'Content-Type': 'text/xml'}, body, signed=valid,
                upstream=draw(UPSTREAM))


@st.composite
def wechat_v3_notification(draw, seed):
    order = seed.orders[draw(st.sampled_from(['wechat_open', 'wechat_paid']))]
    resource = draw(fs.mutated(transaction(order['out_trade_no'])))
    event_type = draw(st.sampled_from(['TRANSACTION.SUCCESS', 'REFUND.SUCCESS', 'REFUND.CLOSED',
                                       'REFUND.ABNORMAL']) | fs.hostile_text)
    original = 'refund' if str(event_type).startswith('REFUND.') else 'transaction'
    envelope = {'id': 'EV-2026112216010200009', 'create_time': '2026-11-22T16:01:03+08:00',
                'resource_type': 'encrypt-resource', 'event_type': event_type, 'summary': '支付成功',
                'resource': encrypt_resource(json.dumps(resource), associated_data=original,
                                             original_type=original)}
    body = json.dumps(draw(fs.mutated(envelope))).encode('ascii')
    how = draw(SIGNATURES)
    key = seed.wechat_keys.merchant if how == 'wrong_key' else seed.wechat_keys.wechat
    serial = PUB_KEY_ID if how == 'valid' else draw(st.sampled_from([PUB_KEY_ID, PLATFORM_SERIAL]))
    headers = {**signed_headers(body, key, serial, TIMESTAMP), 'Content-Type': 'application/json'}
    if how == 'replaced':
        headers['Wechatpay-Signature'] = draw(st.sampled_from(['', 'AAAA', 'WECHATPAY/SIGNTEST/x'])
                                              | fs.header_values)
    if how == 'missing':
        del headers[draw(st.sampled_from(['Wechatpay-Signature', 'Wechatpay-Timestamp', 'Wechatpay-Serial']))]
    changed = draw(fs.weighted((2, st.just({})), (1, st.dictionaries(
        st.sampled_from(['Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Signature-Type']),
        st.one_of(TIMESTAMPS, fs.header_values), min_size=1, max_size=1))))
    headers.update(changed)
    valid = how == 'valid' and not changed
    return Case('POST', '/notify/wechatpay/v3', '', headers, body, signed=valid, upstream=draw(UPSTREAM))


def all_routes(seed):
    """Every HTTP route of app.py, named `METHOD /path` as app.py declares it."""
    routes = [*orders_routes(seed), *events_routes(seed), *midas_routes(seed), *cloudmarket_routes(seed),
              *notify_routes(seed), *reconciliation_routes(seed)]
    return {route.name: route for route in routes}


ROUTE_NAMES = ['GET /', 'POST /orders', 'GET /orders/{order_id}', 'POST /orders/{order_id}/close',
               'POST /orders/{order_id}/refunds', 'GET /events', 'GET /events/{event_id}',
               'POST /events/{event_id}/resend', 'GET /midas/balance', 'POST /midas/payments',
               'POST /midas/presents', 'POST /cloudmarket', 'GET /cloudmarket/login/{token}',
               'GET /instances/{sign_id}', 'POST /notify/codepay', 'POST /notify/alipay', 'GET /notify/midas',
               'POST /notify/wechatpay', 'POST /notify/wechatpay/v3', 'POST /reconciliations',
               'GET /reconciliations/{provider}/{date}']
