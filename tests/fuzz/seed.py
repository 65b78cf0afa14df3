"""The fuzzed stage's settings (every provider and the Cloud Marketplace) and the table's seed:
open and paid orders of every provider, a marketplace instance, and the events they made."""
import json
from types import SimpleNamespace

import responses

from tests import alipay_sdk
from tests.alipay_fixtures import APP_ID, GATEWAY, SELLER_ID, signed
from tests.cloudmarket_fixtures import NOW, create_body, deliver
from tests.codepay_fixtures import expect_create
from tests.helpers import FORM, PUBLISHABLE, body_json, codepay_notification, form_body, post_json, table_items
from tests.midas_fixtures import PAYER, buy_goods_answer, expect, midas_environment
from tests.wechatpay_fixtures import (OPENID, PUB_KEY_ID, WeChat, environment, private_pem, transaction,
                                      v3_notification)

ORDERS = {'codepay_open': {'provider': 'codepay', 'payer': {'channel': 'alipay'}},
          'codepay_paid': {'provider': 'codepay', 'payer': {'channel': 'wechat'}},
          'alipay_open': {'provider': 'alipay'}, 'alipay_paid': {'provider': 'alipay'},
          'wechat_open': {'provider': 'wechatpay', 'payer': {'openid': OPENID}},
          'wechat_paid': {'provider': 'wechatpay', 'payer': {'openid': OPENID}},
          'midas_open': {'provider': 'midas', 'payer': PAYER}}


class Seed(SimpleNamespace):
    """What the table was seeded with (a short repr: Hypothesis prints it with every strategy)."""

    def __repr__(self):
        return 'seed'


def fuzz_environment(alipay_keys, wechat_keys):
    """Settings with codepay, alipay, midas and wechatpay enabled, and a webhook endpoint."""
    return {**midas_environment(), **environment(wechat_keys, 'v3'),
            'PAYGATE_PROVIDERS': 'codepay,alipay,midas,wechatpay',
            'PAYGATE_WECHATPAY_CLIENT_CERT': wechat_keys.platform_cert,
            'PAYGATE_WECHATPAY_CLIENT_KEY': private_pem(wechat_keys.platform),
            'PAYGATE_ALIPAY_APP_ID': APP_ID, 'PAYGATE_ALIPAY_SELLER_ID': SELLER_ID,
            'PAYGATE_ALIPAY_GATEWAY': GATEWAY, 'PAYGATE_ALIPAY_APP_PRIVATE_KEY': alipay_keys.app.private_pem,
            'PAYGATE_ALIPAY_PUBLIC_KEY': alipay_keys.alipay.public_pem,
            'PAYGATE_WEBHOOKS': json.dumps([{'id': 'main', 'url': 'https://merchant.test/hooks',
                                             'secrets': ['whsec_fuzz'], 'events': ['*']}])}


def seed_table(client, alipay_keys, wechat_keys):
    """Create the orders (providers mocked), pay the *_paid ones, deliver one marketplace instance."""
    orders = {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        expect_create(mock)
        expect(mock, 'buy_goods_m', buy_goods_answer)
        WeChat(mock, wechat_keys).jsapi()
        for name, body in ORDERS.items():
            response = post_json(client, '/orders', {'product_id': 'gold_60', **body}, PUBLISHABLE)
            assert response.status_code == 201, (name, response.body)
            orders[name] = body_json(response)
    v3_headers, v3_body = v3_notification(transaction(orders['wechat_paid']['out_trade_no']),
                                          wechat_keys.wechat, PUB_KEY_ID, int(NOW.timestamp()))
    paid = [client.http.post('/notify/codepay', headers=FORM, body=form_body(
                codepay_notification(orders['codepay_paid']['out_trade_no']))),
            client.http.post('/notify/alipay', headers=FORM, body=alipay_sdk.form_body(
                signed(alipay_keys, orders['alipay_paid']))),
            client.http.post('/notify/wechatpay/v3', headers=v3_headers, body=v3_body)]
    assert [r.status_code for r in paid] == [200, 200, 204], [r.body for r in paid]
    created = body_json(deliver(client, create_body()))
    return Seed(orders=orders, sign_id=created['signId'],
                login_token=created['appInfo']['authUrl'].rsplit('/', 1)[1],
                event_ids=[item['pk']['S'][len('EVENT#'):] for item in table_items('EVENT#')
                           if item['sk']['S'] == 'EVENT'],
                alipay_keys=alipay_keys, wechat_keys=wechat_keys)
