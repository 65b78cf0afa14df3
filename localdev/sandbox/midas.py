"""Tencent Midas / YSDK, emulated: buy_goods_m, the signed delivery callback, and the coin APIs.

Signing here is written from docs/providers/midas.md#signing independently of
chalicelib.providers.midas, the way Tencent's SnsSigCheck.php does it.
Balances live in memory: POST /midas/recharge {"openid", "zoneid", "coins"}
tops an account up (like a recharge in the YSDK client would).
An openkey of `expired` is refused with 1018, so a client can try re-login.
"""
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from decimal import Decimal
from urllib.parse import parse_qsl

import requests

PREFIX = '/midas'
SESSIONS = {('openid', 'kp_actoken'): 'qq', ('hy_gameid', 'wc_actoken'): 'wx',
            ('hy_gameid', 'st_dummy'): 'guest'}
APPMETA_SUFFIX = {'qq': '*qdqb*qq', 'wx': '*wechat*wx', 'guest': '*wechat*st_dummy'}
CALLBACK_KEEP = set(b'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!*()')


def rawurlencode(text):
    """PHP rawurlencode + str_replace('~', '%7E'): everything but A-Za-z0-9-_. is %XX."""
    keep = b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'
    return ''.join(chr(b) if b in keep else '%%%02X' % b for b in text.encode('utf-8'))


def make_sig(method, path, params, appkey):
    """SnsSigCheck::makeSig: HMAC-SHA1(strtr(appkey, '-_', '+/')&, METHOD&enc(path)&enc(ksorted k=v))."""
    joined = '&'.join(f'{k}={params[k]}' for k in sorted(params) if k != 'sig')
    source = '&'.join([method.upper(), rawurlencode(path), rawurlencode(joined)])
    secret = appkey.replace('-', '+').replace('_', '/')  # strtr($secret, '-_', '+/')
    mac = hmac.new((secret + '&').encode('utf-8'), source.encode('utf-8'), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode('ascii')


def encode_value(value):
    """SnsSigCheck::encodeValue for callbacks: bytes outside 0-9a-zA-Z!*() become %XX."""
    return ''.join(chr(b) if b in CALLBACK_KEEP else '%%%02X' % b for b in value.encode('utf-8'))


def callback_sig(path, params, appkey):
    return make_sig('GET', path, {k: encode_value(v) for k, v in params.items() if k != 'sig'}, appkey)


def midas_answer(data):
    from localdev.sandbox import json_answer
    return json_answer(data)


class Emulator:
    def __init__(self, environ, base_url, paygate_url):
        self.appid = environ.get('PAYGATE_MIDAS_APPID', '')
        self.appkey = environ.get('PAYGATE_MIDAS_APPKEY', '')
        self.callback_path = environ.get('PAYGATE_MIDAS_CALLBACK_PATH') or '/notify/midas'
        self.callback_url = paygate_url + self.callback_path
        self.base_url = base_url
        self.orders = {}
        self.accounts = {}
        self.bills = {}
        self.lock = threading.Lock()

    def routes(self):
        routes = [('POST', f'{PREFIX}/recharge', self.recharge),
                  ('GET', f'{PREFIX}/pay/', self.pay_page),
                  ('POST', f'{PREFIX}/pay/', self.deliver)]
        for method in ('GET', 'POST'):
            routes.append((method, f'{PREFIX}/mpay/', self.api))
        return routes

    def api(self, request):
        """/mpay/<api>: check the signature (over the method used) and the cookie, then answer."""
        name = request.path.rsplit('/', 1)[-1]
        handler = getattr(self, name, None) if name in (
            'buy_goods_m', 'get_balance_m', 'pay_m', 'cancel_pay_m', 'present_m') else None
        if handler is None:
            return midas_answer({'ret': 1001, 'msg': f'no such api {name}'})
        params = dict(request.query)
        if request.method == 'POST':
            params.update(parse_qsl(request.body.decode('utf-8'), keep_blank_values=True))
        login_type = self._session(request.headers.get('cookie', ''))
        if login_type is None:
            return midas_answer({'ret': 1001, 'msg': '参数错误：cookie session_id/session_type/org_loc'})
        if params.get('appid') != self.appid:
            return midas_answer({'ret': 4, 'msg': '请求参数错误：（appid）'})
        expected = make_sig(request.method, f'/v3/r/mpay/{name}', params, self.appkey)
        if params.get('sig') != expected:
            return midas_answer({'ret': 4, 'msg': '请求参数错误：（sig）'})
        if params.get('openkey') == 'expired':
            return midas_answer({'ret': 1018, 'msg': '登录校验失败'})
        with self.lock:
            return midas_answer(handler(params, login_type))

    @staticmethod
    def _session(cookie):
        found = dict(part.strip().partition('=')[::2] for part in cookie.split(';') if '=' in part)
        if not found.get('org_loc'):
            return None
        return SESSIONS.get((found.get('session_id'), found.get('session_type')))

    def buy_goods_m(self, params, login_type):
        token = secrets.token_hex(16).upper() + '30614'
        self.orders[token] = {**params, 'login_type': login_type}
        return {'ret': 0, 'token': token, 'attach': '',
                'url_params': f'/v1/r/{self.appid}/mobile_goods_info?token_id={token}'}

    def _account(self, params):
        return self.accounts.setdefault((params['openid'], params.get('zoneid', '1')),
                                        {'balance': 0, 'gen_balance': 0, 'save_amt': 0})

    def get_balance_m(self, params, login_type):
        account = self._account(params)
        return {'ret': 0, 'balance': account['balance'], 'gen_balance': account['gen_balance'],
                'first_save': 0 if account['save_amt'] else 1, 'save_amt': account['save_amt'],
                'tss_list': []}

    def pay_m(self, params, login_type):
        account = self._account(params)
        billno, amt = params.get('billno', ''), int(params.get('amt') or 0)
        if billno in self.bills:
            return {**self.bills[billno]['answer']}
        if amt <= 0 or not billno:
            return {'ret': 1001, 'msg': '参数错误'}
        if amt > account['balance']:
            return {'ret': 1004, 'msg': '余额不足'}
        used_gen = min(account['gen_balance'], amt)
        account['balance'] -= amt
        account['gen_balance'] -= used_gen
        answer = {'ret': 0, 'billno': billno, 'balance': account['balance'],
                  'gen_balance': account['gen_balance'], 'used_gen_amt': used_gen}
        self.bills[billno] = {'amt': amt, 'used_gen': used_gen, 'answer': answer, 'cancelled': False}
        return answer

    def cancel_pay_m(self, params, login_type):
        account = self._account(params)
        bill = self.bills.get(params.get('billno', ''))
        if bill is None or 'used_gen' not in bill or str(bill['amt']) != params.get('amt'):
            return {'ret': 1001, 'msg': '参数错误：billno/amt'}
        if not bill['cancelled']:
            account['balance'] += bill['amt']
            account['gen_balance'] += bill['used_gen']
            bill['cancelled'] = True
        return {'ret': 0, 'billno': params['billno'], 'balance': account['balance'],
                'gen_balance': account['gen_balance']}

    def present_m(self, params, login_type):
        account = self._account(params)
        billno, times = params.get('billno', ''), int(params.get('presenttimes') or 0)
        if times <= 0 or not billno:
            return {'ret': 1001, 'msg': '参数错误'}
        if billno not in self.bills:
            account['balance'] += times
            account['gen_balance'] += times
            self.bills[billno] = {'present': times}
        return {'ret': 0, 'billno': billno, 'balance': account['balance'],
                'gen_balance': account['gen_balance']}

    def recharge(self, request):
        """A top-up as the YSDK client would make it: balance and save_amt grow."""
        try:
            data = json.loads(request.body or b'{}')
            coins = int(data['coins'])
        except (ValueError, KeyError, TypeError):
            return midas_answer({'error': 'send {"openid", "zoneid", "coins"}'})
        with self.lock:
            account = self._account({'openid': str(data.get('openid', '')),
                                     'zoneid': str(data.get('zoneid', '1'))})
            account['balance'] += coins
            account['save_amt'] += coins
            return midas_answer({'ret': 0, **account})

    def pay_page(self, request):
        from localdev.sandbox import pay_page
        token = request.path.rsplit('/', 1)[-1]
        order = self.orders.get(token)
        return pay_page('Midas sandbox', '米大师 sandbox', token,
                        order and f'{order.get("goodsmeta", "")} ({order["payitem"]})')

    def deliver(self, request):
        """The user paid: call Paygate's delivery URL with Tencent's signed GET; show the answer."""
        token = request.path.rsplit('/', 1)[-1]
        order = self.orders.get(token)
        if order is None:
            return midas_answer({'error': f'no sandbox order {token}'})
        fields = self.callback_fields(token, order)
        query = '&'.join(f'{k}={rawurlencode(v)}' for k, v in fields.items())
        reply = requests.get(f'{self.callback_url}?{query}', timeout=10)
        return midas_answer({'notified': self.callback_url, 'billno': fields['billno'],
                             'paygate_status': reply.status_code, 'paygate_answer': reply.text})

    def callback_fields(self, token, order):
        qpoints = sum(Decimal(price) * int(num) for _, price, num in
                      (item.split('*') for item in order['payitem'].split(';')))
        fields = {'openid': order['openid'], 'appid': self.appid, 'ts': str(int(time.time())),
                  'payitem': order['payitem'], 'token': token,
                  'billno': f'-APPDJSX{secrets.randbelow(10 ** 5)}-{time.strftime("%Y%m%d")}-'
                            f'{secrets.randbelow(10 ** 10)}',
                  'version': 'v3', 'zoneid': order.get('zoneid', '1'), 'providetype': '5',
                  'amt': str(int(qpoints * 10)), 'payamt_coins': '0', 'pubacct_payamt_coins': '',
                  'appmeta': order.get('app_metadata', '') + APPMETA_SUFFIX[order['login_type']],
                  'clientver': 'android', 'channel_id': '73213123-android-73213123-qq-1104466820'}
        fields['sig'] = callback_sig(self.callback_path, fields, self.appkey)
        return fields
