"""Codepay's servers, emulated: creat_order (page=4 JSON) and signed notifications.

Like Codepay, the sandbox quotes the buyer an amount (`money`) that no other
unpaid order of the same price has, a cent below the price when it must, and
its notification carries both `price` and the `money` paid.

Signing here is written from docs/providers/codepay.md#signing independently of
chalicelib.providers.codepay, like the provider's own PHP would do it.
"""
import hashlib
import secrets
import threading
import time
from decimal import Decimal
from urllib.parse import urlencode

import requests

PREFIX = '/codepay'


def php_sign(params, key):
    """ksort, skip '' and sign, k=v joined by &, md5(joined . key)."""
    joined = '&'.join(f'{k}={params[k]}' for k in sorted(params) if k != 'sign' and params[k] != '')
    return hashlib.md5((joined + key).encode('utf-8')).hexdigest()


class Emulator:
    def __init__(self, environ, base_url, paygate_url):
        self.merchant_id = environ.get('PAYGATE_CODEPAY_ID', '')
        self.key = environ.get('PAYGATE_CODEPAY_KEY', '')
        self.base_url = base_url
        self.orders = {}
        self.lock = threading.Lock()

    def routes(self):
        return [('GET', f'{PREFIX}/creat_order', self.create_order),
                ('GET', f'{PREFIX}/pay/', self.pay_page),
                ('POST', f'{PREFIX}/pay/', self.pay)]

    def create_order(self, request):
        from localdev.sandbox import json_answer
        params = request.query
        if params.get('id') != self.merchant_id:
            return json_answer({'status': -1, 'msg': '商户ID错误'})
        if params.get('sign') != php_sign(params, self.key):
            return json_answer({'status': -2, 'msg': '签名错误'})
        now = int(time.time())
        with self.lock:
            order = {**params, 'codepay_order_id': str(now) + secrets.token_hex(3),
                     'money': self._free_quote(params['price']), 'paid': False}
            self.orders[params['pay_id']] = order
        return json_answer({
            'status': 0, 'msg': 'ok', 'pay_id': params['pay_id'], 'order_id': order['codepay_order_id'],
            'money': order['money'], 'price': params['price'], 'type': params.get('type'),
            'qrcode': f'{self.base_url}{PREFIX}/pay/{params["pay_id"]}',
            'serverTime': now, 'endTime': now + int(params.get('outTime') or 360)})

    def _free_quote(self, price):
        """The price, or the first amount a cent at a time below it that no unpaid order was quoted."""
        taken = {o['money'] for o in self.orders.values() if not o['paid']}
        cents = int(Decimal(price) * 100)
        while f'{cents // 100}.{cents % 100:02d}' in taken and cents > 1:
            cents -= 1
        return f'{cents // 100}.{cents % 100:02d}'

    def pay_page(self, request):
        from localdev.sandbox import pay_page
        pay_id = request.path.rsplit('/', 1)[-1]
        order = self.orders.get(pay_id)
        return pay_page('Codepay sandbox', '码支付 sandbox', pay_id, order and f'¥{order["money"]}')

    def pay(self, request):
        """Pay the order: send Paygate the signed notification, show what it answered."""
        from localdev.sandbox import json_answer
        pay_id = request.path.rsplit('/', 1)[-1]
        order = self.orders.get(pay_id)
        if order is None:
            return json_answer({'error': f'no sandbox order {pay_id}'}, 404)
        order['paid'] = True
        fields = {'pay_id': pay_id, 'money': order['money'], 'price': order['price'],
                  'type': order.get('type', '1'), 'pay_no': 'CP' + secrets.token_hex(8),
                  'param': order.get('param', ''), 'pay_time': str(int(time.time())), 'pay_tag': ''}
        fields['sign'] = php_sign(fields, self.key)
        reply = requests.post(order['notify_url'], data=urlencode(fields), timeout=10,
                              headers={'Content-Type': 'application/x-www-form-urlencoded'})
        return json_answer({'notified': order['notify_url'], 'pay_no': fields['pay_no'],
                            'paygate_status': reply.status_code, 'paygate_answer': reply.text})
