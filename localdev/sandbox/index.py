"""The sandbox's front page (an HTML index of what it plays) and the pay action every provider shares.

`POST /<provider>/pay/<order_id>` pays one of Paygate's orders by its id, the same way at every provider:
it reads the order from Paygate as the app would (GET /orders/{id}, the stage's publishable key), then
does what the buyer does at that provider's cashier, through the sandbox's own pay URL (which keeps
working as before): the provider's signed notification goes to Paygate. It answers what the cashier
answered and the order as Paygate shows it afterwards; 200 once the order is PAID (or when
`?notify=drop` asked for the notification to be lost), 502 when it is not.
"""
import html
from urllib.parse import urlsplit

import requests

from chalicelib import ordermodel

PLAYS = {
    'codepay': 'creat_order and its cashier',
    'alipay': 'the gateway (query, close, refund, bills) and the Alipay app',
    'wechatpay': 'login, API v2 and v3 (orders, query, close, refund, bills) and the cashier',
    'midas': 'buy_goods_m and the coin APIs, balances in memory (POST /midas/recharge adds coins)',
}
OTHERS = (('Cloud Marketplace', 'the marketplace and your website', '/cloudmarket', 'its console'),
          ('your webhook endpoint', 'a receiver that checks signatures', '/merchant/webhooks', 'what arrived'))


def cashier_request(order):
    """(path, body) of the provider's own pay action for a Paygate order; None when nothing is paid
    there (a Midas coin order is paid when it is made)."""
    params = order.get('client_params') or {}
    provider = order['provider']
    if provider == 'codepay':
        return f'/codepay/pay/{params.get("pay_id") or order["out_trade_no"]}', b''
    if provider == 'alipay':
        return _alipay_cashier(order, params)
    if provider == 'wechatpay':
        return f'/wechatpay/cashier/{order["out_trade_no"]}', b''
    if provider == 'midas' and params.get('token'):
        return f'/midas/pay/{params["token"]}', b''
    return None


def _alipay_cashier(order, params):
    """The Alipay app pays an order string (scene app) or a cashier's signed query (wap); a scan pays
    a QR code's page (qr)."""
    if params.get('qr_code'):
        return f'/alipay/qr/{order["out_trade_no"]}', b''
    signed = params.get('order_string') or urlsplit(params.get('pay_url', '')).query
    return '/alipay/pay', signed.encode('utf-8')


class Emulator:
    def __init__(self, environ, base_url, paygate_url):
        self.base_url = base_url
        self.paygate_url = paygate_url
        self.api_key = (environ.get('PAYGATE_PUBLISHABLE_KEYS') or '').split(',')[0].strip()
        self.enabled = [name.strip() for name in (environ.get('PAYGATE_PROVIDERS') or 'codepay').split(',')]

    def routes(self):
        return [('GET', '/', self.index), *(('POST', f'/{name}/pay/', self.pay) for name in PLAYS)]

    def index(self, request):
        from localdev.sandbox import Answer
        if request.path != '/':
            return None
        return Answer(200, self._page(), 'text/html')

    def pay(self, request):
        """Pay Paygate's order `<order_id>`; None for any other id (the provider's own pay URL)."""
        from localdev.sandbox import json_answer
        provider, _, order_id = request.path.strip('/').split('/', 2)
        if ordermodel.trade_no_of(order_id) is None:
            return None
        order = self._order(order_id)
        if order is None:
            return json_answer({'error': f'Paygate has no order {order_id}'}, 404)
        if order['provider'] != provider:
            return json_answer({'error': f'{order_id} is a {order["provider"]} order: '
                                         f'POST /{order["provider"]}/pay/{order_id}'}, 400)
        cashier = cashier_request(order)
        if cashier is None:
            return json_answer({'error': f'{order_id} is a Midas coin order: it was paid when it was made'}, 409)
        path, body = cashier
        query = f'?{request.raw_query}' if request.raw_query else ''
        reply = requests.post(f'{self.base_url}{path}{query}', data=body, timeout=30)
        after = self._order(order_id)
        dropped = request.query.get('notify') == 'drop'
        status = 200 if dropped or (after or {}).get('status') == ordermodel.PAID else 502
        return json_answer({'cashier': path, 'cashier_answer': _readable(reply), 'order': after}, status)

    def _order(self, order_id):
        reply = requests.get(f'{self.paygate_url}/orders/{order_id}', headers={'X-Api-Key': self.api_key},
                             timeout=30)
        return reply.json() if reply.status_code == 200 else None

    def _page(self):
        rows = []
        for name, plays in PLAYS.items():
            if name in self.enabled:
                action = (f'<form method="post" data-provider="{name}"><input name="order_id" '
                          f'placeholder="ord_…" size="40" required> <button>Pay</button></form>')
            else:
                action = 'not enabled in this stage'
            rows.append(f'<tr><td>{name}</td><td>{html.escape(plays)}</td><td>{action}</td></tr>')
        for name, plays, path, text in OTHERS:
            rows.append(f'<tr><td>{name}</td><td>{plays}</td><td><a href="{path}">{text}</a></td></tr>')
        return f'''<!doctype html><meta charset="utf-8"><title>Paygate sandbox</title>
<h1>Paygate sandbox</h1>
<p>It stands in for the payment providers' servers of Paygate at
<a href="{html.escape(self.paygate_url)}/">{html.escape(self.paygate_url)}</a>. Pay an order by its
Paygate id: <code>POST /&lt;provider&gt;/pay/&lt;order_id&gt;</code> sends Paygate the provider's signed
notification (<code>?notify=drop</code> pays it at the sandbox but loses the notification).
docs/sandbox.md tells the rest.</p>
<table border="1" cellpadding="4"><tr><th>provider</th><th>the sandbox plays</th><th>pay an order</th></tr>
{''.join(rows)}
</table>
<script>
for (const form of document.querySelectorAll('form[data-provider]')) {{
  form.addEventListener('submit', () => {{
    form.action = '/' + form.dataset.provider + '/pay/' + encodeURIComponent(form.order_id.value.trim());
  }});
}}
</script>'''


def _readable(reply):
    """A cashier's answer: its JSON, or its text."""
    try:
        return reply.json()
    except ValueError:
        return reply.text
