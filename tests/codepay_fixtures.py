"""Codepay's creat_order endpoint, mocked at the transport."""
import json
from urllib.parse import parse_qsl, urlsplit

from tests.conftest import CODEPAY_URL

CREATE_URL = f'{CODEPAY_URL}/creat_order/'


def expect_create(http_mock, status=0, money=None, calls=None):
    """Answer creat_order like Codepay's page=4 JSON; record each call's query in `calls`."""
    def answer(request):
        query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        if calls is not None:
            calls.append((request.url, query))
        if status < 0:
            return 200, {}, json.dumps({'status': status, 'msg': '签名错误'})
        return 200, {}, json.dumps({
            'status': status, 'msg': 'ok', 'pay_id': query['pay_id'], 'order_id': 'CPO123',
            'money': money or query['price'], 'price': query['price'], 'type': query['type'],
            'qrcode': f'https://codepay.test/qr/{query["pay_id"]}.png',
            'serverTime': 1763780000, 'endTime': 1763780360})
    http_mock.add_callback('GET', CREATE_URL, callback=answer)
