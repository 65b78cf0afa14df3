"""50 copies of one WeChat Pay notification at once, through a real HTTP server, on both routes."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib import aws, settings
from localdev.server import BackgroundServer, create_server
from tests import table
from tests.helpers import body_json, post_json
from tests.wechatpay_fixtures import (OPENID, PUB_KEY_ID, SUCCESS_XML, WeChat, payment_fields, transaction,
                                      v2_xml, v3_notification)

ORDER = {'provider': 'wechatpay', 'product_id': 'gold_60', 'payer': {'openid': OPENID}}


def notification(version, out_trade_no, keys):
    if version == 'v2':
        body = v2_xml(payment_fields(out_trade_no))
        return '/notify/wechatpay', {'Content-Type': 'text/xml'}, body, (200, SUCCESS_XML)
    headers, body = v3_notification(transaction(out_trade_no), keys.wechat, PUB_KEY_ID, int(time.time()))
    return '/notify/wechatpay/v3', headers, body, (204, '')


@pytest.mark.parametrize('version', ['v2', 'v3'])
@pytest.mark.parametrize('backend', ['moto_table', 'local_table'])
def test_fifty_concurrent_duplicates_pay_once(request, wechatpay_env, wechatpay_keys, backend, version):
    request.getfixturevalue(backend)
    http_mock = request.getfixturevalue('http_mock')  # after moto, which patches requests too
    app_module = request.getfixturevalue('app_module')
    wechatpay_env(version=version)
    wechat = WeChat(http_mock, wechatpay_keys)
    wechat.unifiedorder() if version == 'v2' else wechat.jsapi()
    from chalice.test import Client
    with Client(app_module.app, stage_name='test') as client:
        created = post_json(client, '/orders', ORDER)
        assert created.status_code == 201, created.body
        order = body_json(created)
    path, headers, body, expected = notification(version, order['out_trade_no'], wechatpay_keys)
    server = create_server('test', '127.0.0.1', 0)
    server.port = server.server.server_address[1]
    with BackgroundServer(server) as running, requests.Session() as session:
        session.mount('http://', requests.adapters.HTTPAdapter(pool_maxsize=50))

        def send(_):
            reply = session.post(running.url + path, data=body, headers=headers, timeout=60)
            return reply.status_code, reply.text

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(send, range(50)))
    assert answers == [expected] * 50
    stored = table.order(order['order_id'])
    assert stored['status'] == 'PAID' and stored['version'] == 2
    scanned = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    assert len([i for i in scanned if i['pk']['S'].startswith('EVENT#')]) == 1
    record = table.notification('wechatpay', stored['provider_trade_no'])
    assert record['verdict'] == 'applied'
