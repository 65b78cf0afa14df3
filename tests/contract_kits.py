"""One kit per notify route, for the kit-driven suites: the provider contract
(tests/test_contract.py), exactly-once (tests/test_exactly_once.py) and faults
(tests/test_faults.py).

A kit knows how its provider is set up in the test stage, what creating an
order asks of it (mocked at the transport), how the provider sends a
notification (a valid one, a second and different payment of the same order,
one with a field changed after signing, one signed with another key, one for
another amount, one for another merchant or app, and malformed ones) and what
the provider is answered on success and on failure, to the byte when Paygate
refuses one and why. For what the provider module lists in CAPABILITIES, the
kit also answers as the provider would (mocked at the transport): closing the
order, refunding it, telling whether it is paid, and serving the day's bill
(tests/data/bills). The suites do the rest, the same way for every provider.
Adding a provider means adding its kit.
"""
import gzip
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from tests import alipay_fixtures, alipay_sdk
from tests.bill_fixtures import alipay_zip, bill_file, downloadbill, hashed, tradebill, wechat_text
from tests.codepay_fixtures import expect_create
from tests.conftest import reset_caches
from tests.helpers import FORM, codepay_notification, form_body
from tests.midas_fixtures import PAYER, buy_goods_answer, delivery, expect, query_of
from tests.wechatpay_fixtures import (APPID, MCH_ID, OPENID, PUB_KEY_ID, WeChat, payment_fields,
                                      private_pem, transaction, v2_xml, v3_notification)

JSON = {'Content-Type': 'application/json'}
XML = {'Content-Type': 'text/xml'}
REFUND_NO = 'contract-refund-0001'       # the refund_no the suite asks refunds under


@dataclass(frozen=True)
class Answer:
    """An answer Paygate gives a provider: its status and its body, whole or how it starts.
    Called with a response, says whether the response is this answer."""
    status: int
    body: bytes
    whole: bool = True

    def __call__(self, response):
        if response.status_code != self.status:
            return False
        return response.body == self.body if self.whole else response.body.startswith(self.body)

    def at(self, status):
        """The same answer with another status: a failure answered to a fault is a 500."""
        return replace(self, status=status)


def text(expected, status):
    return Answer(status, expected.encode('utf-8'))


def prefixed(prefix, status=400):
    return Answer(status, prefix, whole=False)


@dataclass(frozen=True)
class Sent:
    """A request as the provider sends it to Paygate."""
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: bytes = b''


@dataclass(frozen=True)
class Kit:
    name: str                       # the provider
    route: str                      # its /notify/<route>
    payer: dict
    client_params: frozenset        # the keys of client_params after create
    success: Answer                 # the provider's exact success answer
    failure: Answer                 # the provider's failure answer (to a refusal: .at(500) to a fault)
    refused: Callable               # (reason) -> bytes: the whole failure answer to a notification refused
    #                                 for that reason (contract.Rejected's signature, amount, merchant)
    content_type: str               # the Content-Type of the answers that have a body
    create: Callable                # (kit_env) -> None: mocks what create calls
    paid: Callable                  # (env, order, **change) -> Sent
    trade_no: str                   # the provider's trade number in `paid`'s notification
    tampered: Callable              # (env, order) -> Sent
    wrong_key: Callable             # (env, order) -> Sent
    wrong_amount: Callable          # (env, order) -> Sent
    wrong_merchant: Callable        # (env, order) -> Sent
    malformed: tuple                # Sent, each refused
    another_payment: dict           # what `paid` changes to be a second, different payment of the
    #                                 order: another trade number, another notification id
    version: str = ''               # WeChat Pay's API version for this route
    # The provider's answers for what its module lists in CAPABILITIES, mocked. No close: closing
    # the kit's order asks the provider nothing; no refund: the provider refunds none of its orders.
    close: Callable = None          # (env, order) -> None: to closing the order
    refund: Callable = None         # (env, order) -> 'SUCCEEDED' | 'PENDING': to refunding all of it,
    #                                 and what that answer means
    query: Callable = None          # (env, order, paid) -> None: to a query, paid or not
    bill: Callable = None           # (env) -> None: serving the fixture bill (tests/bill_fixtures.py)
    busy: Answer = None             # the answer to a fault, where it is not the failure answer at 500

    def __str__(self):
        return self.route

    def fault_answer(self):
        """What the provider is answered when Paygate cannot finish (DynamoDB failing): it retries."""
        return self.busy or self.failure.at(500)


@dataclass
class Env:
    """What a kit is given: the transport mock, the keys and the settings of the test stage."""
    http_mock: object
    alipay_keys: object
    wechatpay_keys: object
    stage: object = None            # the monkeypatch holding the stage's settings (for configure)

    def configure(self, **settings):
        for name, value in settings.items():
            self.stage.setenv(name, value)
        reset_caches()


# ---- Codepay -------------------------------------------------------------------------------

def _codepay(order, **change):
    return Sent('POST', '/notify/codepay', FORM, form_body(codepay_notification(order['out_trade_no'], **change)))


CODEPAY = Kit(
    name='codepay', route='codepay', payer={'channel': 'alipay'},
    client_params=frozenset({'qrcode', 'money', 'pay_id', 'expires_at'}),
    success=text('success', 200), failure=text('fail', 400), refused=lambda reason: b'fail',
    content_type='text/plain',
    create=lambda env: expect_create(env.http_mock),
    paid=lambda env, order, **change: _codepay(order, **change), trade_no='CP20261122000001',
    tampered=lambda env, order: Sent('POST', '/notify/codepay', FORM, form_body(
        {**codepay_notification(order['out_trade_no']), 'pay_no': 'CP-tampered'})),
    wrong_key=lambda env, order: _codepay(order, key='not-the-codepay-key'),
    wrong_amount=lambda env, order: _codepay(order, money='5.00', price='5.00'),
    wrong_merchant=lambda env, order: _codepay(order, id='99999'),
    malformed=tuple(Sent('POST', '/notify/codepay', headers, body) for headers, body in (
        (FORM, b''), (JSON, b'{}'), (FORM, b'pay_no=1&pay_no=2'),
        (FORM, b'pay_id=a&pay_id=b&pay_no=1&money=6.00&sign=x'), (FORM, b'pay_id=%FF&pay_no=1'),
        (JSON, b'{"pay_id": "x", "pay_no": "1"}'),
        (XML, b'<xml><pay_no>1</pay_no></xml>'), ({}, b'pay_no=1'), (FORM, b'garbage&&&==='))),
    another_payment={'pay_no': 'CP-second'},
)


# ---- Alipay --------------------------------------------------------------------------------

def _alipay(env, order, key=None, **change):
    fields = alipay_fixtures.signed(env.alipay_keys, order, key=key, **change)
    return Sent('POST', '/notify/alipay', FORM, alipay_sdk.form_body(fields))


def _alipay_answers(env, method, answer):
    """The gateway answering `method` with `answer` (Alipay's fields for our order), signed."""
    alipay_fixtures.expect_gateway(env.http_mock, env.alipay_keys, {method: {
        'code': '10000', 'msg': 'Success', 'trade_no': alipay_fixtures.TRADE_NO, **answer}})


def _alipay_refund(env, order):
    """fund_change Y: this call moved the money, the refund is done."""
    _alipay_answers(env, 'alipay.trade.refund', {'out_trade_no': order['out_trade_no'], 'fund_change': 'Y',
                                                 'refund_fee': '6.00'})
    return 'SUCCEEDED'


def _alipay_bill(env):
    url = 'https://dwbillcenter.alipay.test/downloadBillFile.resource?fileId=1'
    _alipay_answers(env, 'alipay.data.dataservice.bill.downloadurl.query', {'bill_download_url': url})
    env.http_mock.add('GET', url, body=alipay_zip(), content_type='application/oct-stream')


ALIPAY = Kit(
    name='alipay', route='alipay', payer={}, client_params=frozenset({'order_string'}),
    success=text('success', 200), failure=text('fail', 400), refused=lambda reason: b'fail',
    content_type='text/plain',
    create=lambda env: None,
    paid=lambda env, order, **change: _alipay(env, order, **change), trade_no=alipay_fixtures.TRADE_NO,
    tampered=lambda env, order: Sent('POST', '/notify/alipay', FORM, alipay_sdk.form_body(
        {**alipay_fixtures.signed(env.alipay_keys, order), 'trade_no': 'tampered'})),
    wrong_key=lambda env, order: _alipay(env, order, key=env.alipay_keys.app),
    wrong_amount=lambda env, order: _alipay(env, order, total_amount='5.00'),
    wrong_merchant=lambda env, order: _alipay(env, order, app_id='2021000999999999'),
    malformed=tuple(Sent('POST', '/notify/alipay', headers, body) for headers, body in (
        (FORM, b''), (FORM, b'charset=big5'), (JSON, b'{}'), (FORM, b'notify_id=a&notify_id=b'),
        (FORM, b'notify_id=%FF%FE&charset=utf-8'), (JSON, b'{"notify_id": "x"}'), ({}, b'notify_id=1&sign=x'),
        (FORM, b'garbage&&&==='), (FORM, b'charset=latin-1&notify_id=1'))),
    another_payment={'trade_no': '2026112222001404370599999999', 'notify_id': '2026112200222160500046009999999'},
    close=lambda env, order: _alipay_answers(env, 'alipay.trade.close', {'out_trade_no': order['out_trade_no']}),
    refund=_alipay_refund,
    query=lambda env, order, paid: _alipay_answers(env, 'alipay.trade.query', {
        'out_trade_no': order['out_trade_no'], 'total_amount': '6.00',
        'trade_status': 'TRADE_SUCCESS' if paid else 'WAIT_BUYER_PAY'}),
    bill=_alipay_bill,
)


# ---- Midas ---------------------------------------------------------------------------------

def _midas(order, **change):
    return Sent('GET', '/notify/midas?' + query_of(delivery(order, **change)))


# Midas is refused with ret 4 naming the parameter at fault.
MIDAS_REFUSED = '{"ret":4,"msg":"请求参数错误：（'
MIDAS_PARAMS = {'signature': 'sig', 'amount': 'amt', 'merchant': 'appid'}


MIDAS = Kit(
    name='midas', route='midas', payer=PAYER, client_params=frozenset({'token', 'url_params', 'payitem'}),
    success=text('{"ret":0,"msg":"OK"}', 200), failure=prefixed(MIDAS_REFUSED.encode()),
    refused=lambda reason: f'{MIDAS_REFUSED}{MIDAS_PARAMS[reason]}）"}}'.encode(),
    busy=text('{"ret":1,"msg":"系统繁忙"}', 500),
    content_type='application/json; charset=utf-8',
    create=lambda env: expect(env.http_mock, 'buy_goods_m', buy_goods_answer),
    paid=lambda env, order, **change: _midas(order, **change), trade_no='-APPDJSX21374-20251122-1512345678',
    tampered=lambda env, order: Sent('GET', '/notify/midas?' + query_of(
        {**delivery(order), 'billno': 'tampered'})),
    wrong_key=lambda env, order: _midas(order, appkey='not-the-appkey'),
    wrong_amount=lambda env, order: _midas(order, amt='500'),
    wrong_merchant=lambda env, order: _midas(order, appid='1450009999'),
    malformed=tuple(Sent('GET', '/notify/midas' + query) for query in (
        '', '?sig=x&sig=y', '?sig=abc', '?openid=a&openid=b&sig=x', '?billno=1', '?%FF=1&sig=2')),
    another_payment={'billno': '-APPDJSX21374-20251122-1599999999'},
    # The kit's orders are item purchases (道具直购): closing one asks Midas nothing, and none is
    # refunded (coin payments are, tests/test_midas_coins.py).
)


# ---- WeChat Pay v2 and v3 ------------------------------------------------------------------

V2_FAIL = b'<xml><return_code><![CDATA[FAIL]]></return_code>'
V2_REASONS = {'signature': 'invalid signature', 'amount': 'amount does not match the order',
              'merchant': 'not our appid or mch_id'}


def _wechat(env):
    return WeChat(env.http_mock, env.wechatpay_keys)


def _wechat_v2_refund(env):
    """API v2 refunds with the merchant's client certificate; WeChat Pay answers that it took the
    refund, whose outcome comes later by notification."""
    env.configure(PAYGATE_WECHATPAY_CLIENT_CERT=env.wechatpay_keys.platform_cert,
                  PAYGATE_WECHATPAY_CLIENT_KEY=private_pem(env.wechatpay_keys.platform))
    _wechat(env).v2('/secapi/pay/refund', lambda sent: {'refund_id': '50000000382019052709732678859',
                                                        'out_refund_no': sent['out_refund_no']})
    return 'PENDING'


def _wechat_v2_query(env, paid):
    answer = {'trade_state': 'SUCCESS', 'total_fee': '600', 'transaction_id': '4200001234202611220000000001'} \
        if paid else {'trade_state': 'NOTPAY'}
    _wechat(env).v2('/pay/orderquery', lambda sent: {'out_trade_no': sent['out_trade_no'], **answer})


def _wechat_v2_bill(env):
    downloadbill(_wechat(env), gzip.compress(wechat_text().encode()))


def _wechat_v3_refund(env):
    """PROCESSING: WeChat Pay took the refund; its outcome comes later by notification."""
    _wechat(env).v3('POST', '/v3/refund/domestic/refunds', body={
        'refund_id': '50300000012026112200000000001', 'out_refund_no': REFUND_NO, 'status': 'PROCESSING'})
    return 'PENDING'


def _wechat_v3_query(env, order, paid):
    out_trade_no = order['out_trade_no']
    _wechat(env).v3('GET', f'/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={MCH_ID}', body={
        'mchid': MCH_ID, 'appid': APPID, 'out_trade_no': out_trade_no, 'amount': {'total': 600},
        **({'trade_state': 'SUCCESS', 'transaction_id': '4200001234202611220000000002'} if paid
           else {'trade_state': 'NOTPAY'})})


def _wechat_v3_bill(env):
    """tradebill names the file and its SHA-1; the file itself comes unsigned."""
    tradebill(_wechat(env), hashed(wechat_text()))
    bill_file(_wechat(env), gzip.compress(wechat_text().encode()))


def _wechat_v2(order, key=None, **change):
    fields = payment_fields(order['out_trade_no'], **change)
    return Sent('POST', '/notify/wechatpay', XML, v2_xml(fields, **({'key': key} if key else {})))


WECHATPAY_V2 = Kit(
    name='wechatpay', route='wechatpay', version='v2', payer={'openid': OPENID},
    client_params=frozenset({'appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'}),
    success=text('<xml><return_code><![CDATA[SUCCESS]]></return_code>'
                 '<return_msg><![CDATA[OK]]></return_msg></xml>', 200),
    failure=prefixed(V2_FAIL),
    refused=lambda reason: V2_FAIL + f'<return_msg><![CDATA[{V2_REASONS[reason]}]]></return_msg></xml>'.encode(),
    content_type='text/xml',
    create=lambda env: _wechat(env).unifiedorder(),
    paid=lambda env, order, **change: _wechat_v2(order, **change), trade_no='4200001234202611220000000001',
    tampered=lambda env, order: Sent('POST', '/notify/wechatpay', XML, v2_xml(
        payment_fields(order['out_trade_no'])).replace(b'4200001234202611220000000001', b'4200001234202611229999999999')),
    wrong_key=lambda env, order: _wechat_v2(order, key='x' * 32),
    wrong_amount=lambda env, order: _wechat_v2(order, total_fee='500'),
    wrong_merchant=lambda env, order: _wechat_v2(order, mch_id='1900009999'),
    malformed=tuple(Sent('POST', '/notify/wechatpay', XML, body) for body in (
        b'<xml>', b'', b'<?xml version="1.0" encoding="GBK"?><xml/>', b'not xml',
        b'<xml><return_code>SUCCESS</return_code>', b'<other><return_code>SUCCESS</return_code></other>',
        b'<xml><return_code>SUCCESS</return_code><return_code>SUCCESS</return_code></xml>',
        b'<xml><return_code><a>SUCCESS</a></return_code></xml>',
        b'<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>',
        b'<xml><return_code>SUCCESS</return_code><sign>x</sign></xml>')),
    another_payment={'transaction_id': '4200001234202611229999999991'},
    close=lambda env, order: _wechat(env).v2('/pay/closeorder', lambda sent: {}),
    refund=lambda env, order: _wechat_v2_refund(env),
    query=lambda env, order, paid: _wechat_v2_query(env, paid),
    bill=_wechat_v2_bill,
)


def _wechat_v3(env, order, signer=None, **change):
    headers, body = v3_notification(transaction(order['out_trade_no'], **change),
                                    signer or env.wechatpay_keys.wechat, PUB_KEY_ID, int(time.time()))
    return Sent('POST', '/notify/wechatpay/v3', headers, body)


def _wechat_v3_tampered(env, order):
    """A valid v3 notification with its summary changed after WeChat Pay signed the body."""
    sent = _wechat_v3(env, order)
    return Sent(sent.method, sent.path, sent.headers, sent.body.replace('支付成功'.encode(), b'paid'))


WECHATPAY_V3 = Kit(
    name='wechatpay', route='wechatpay/v3', version='v3', payer={'openid': OPENID},
    client_params=frozenset({'appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'}),
    success=text('', 204),
    failure=prefixed(b'{"code": "FAIL"'),
    refused=lambda reason: f'{{"code": "FAIL", "message": "refused: {reason}"}}'.encode(),
    content_type='application/json',
    create=lambda env: _wechat(env).jsapi(),
    paid=lambda env, order, **change: _wechat_v3(env, order, **change), trade_no='4200001234202611220000000002',
    tampered=lambda env, order: _wechat_v3_tampered(env, order),
    wrong_key=lambda env, order: _wechat_v3(env, order, signer=env.wechatpay_keys.merchant),
    wrong_amount=lambda env, order: _wechat_v3(env, order, amount={'total': 500, 'payer_total': 500,
                                                                   'currency': 'CNY', 'payer_currency': 'CNY'}),
    wrong_merchant=lambda env, order: _wechat_v3(env, order, mchid='1900009999'),
    malformed=(Sent('POST', '/notify/wechatpay/v3', JSON, b'{}'),
               Sent('POST', '/notify/wechatpay/v3', {**JSON, 'Wechatpay-Timestamp': '²'}, b'{}')),
    another_payment={'transaction_id': '4200001234202611229999999992'},
    close=lambda env, order: _wechat(env).v3(
        'POST', f'/v3/pay/transactions/out-trade-no/{order["out_trade_no"]}/close', status=204),
    refund=lambda env, order: _wechat_v3_refund(env),
    query=_wechat_v3_query,
    bill=_wechat_v3_bill,
)

KITS = (CODEPAY, ALIPAY, MIDAS, WECHATPAY_V2, WECHATPAY_V3)
