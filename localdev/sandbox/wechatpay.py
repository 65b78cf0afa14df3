"""WeChat Pay's servers, emulated: login, API v2 (XML) and v3 (JSON), signed notifications.

Written from docs/providers/wechatpay.md independently of chalicelib, the way WeChat's
side would do it (hashlib/hmac for v2, `cryptography` for RSA and AES).
The sandbox plays WeChat Pay in public-key mode. `make_keys` generates two
throw-away RSA key pairs once, in .local/wechatpay-sandbox/ (git-ignored): the
merchant's (Paygate signs with it; the local stage reads it through a `file:`
reference) and the sandbox "WeChat Pay"'s (the emulator signs its answers and
notifications with it, Paygate verifies with its public half). They are
sandbox keys only and never leave this machine.

    GET  /wechatpay/sns/jscode2session          code -> openid (`invalid` -> 40029; a code works once)
    POST /wechatpay/pay/unifiedorder|orderquery|closeorder, /wechatpay/secapi/pay/refund     (v2)
    POST /wechatpay/v3/pay/transactions/jsapi|app|native|h5, .../out-trade-no/{no}/close,
         /wechatpay/v3/refund/domestic/refunds; GET .../out-trade-no/{no}?mchid=            (v3)
         (APP orders are made with PAYGATE_WECHATPAY_APP_APPID; v2 unifiedorder takes
         trade_type JSAPI, APP and NATIVE. Native orders get a weixin:// code_url, H5 orders an
         h5_url that opens the cashier page.)
    GET  /wechatpay/v3/bill/tradebill?bill_date=YYYY-MM-DD[&tar_type=GZIP], then the signed GET
         of the download_url it answers; POST /wechatpay/pay/downloadbill           (bills, type ALL)
    GET  /wechatpay/cashier/{out_trade_no}      a page with a Pay button (and the order's QR code URL)
    POST /wechatpay/cashier/{out_trade_no}      pay: sends Paygate the signed payment notification;
         with ?notify=drop the order is paid (the query API and the bill show it) but Paygate
         is sent nothing, as when a notification is lost
    POST /wechatpay/refund-notify/{out_refund_no}  finish a refund: sends the refund notification

Bills list the payments and refunds made here on a China day, in WeChat Pay's
format (see chalicelib/providers/wechatpay/bill.py), with a 0.60% fee
rounded to the fen; a day without any is NO_STATEMENT_EXIST / No Bill Exist.
"""
import base64
import gzip
import hashlib
import hmac
import html
import json
import secrets
import shutil
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from localdev import LOCAL_DIR, PROJECT_ROOT

PREFIX = '/wechatpay'
KEYS_DIR = 'wechatpay-sandbox'
SANDBOX_KEY = 'PAYGATE_SANDBOX_WECHATPAY_KEY'
BEIJING = timezone(timedelta(hours=8))
# Each scene's path (v3) and trade_type (v2, and in notifications).
TRADE_TYPES = {'jsapi': 'JSAPI', 'app': 'APP', 'native': 'NATIVE', 'h5': 'MWEB'}
V2_OK = {'return_code': 'SUCCESS', 'return_msg': 'OK'}
BILL_HEADER = ('交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,'
               '付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,'
               '退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注')
FEE_RATE = '0.60%'
BILL_SUMMARY = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额'


def generated_environment(environ):
    """The local stage reads the sandbox keys from files (`file:` references): make them once."""
    make_keys(LOCAL_DIR)
    return {}


def make_keys(local_dir):
    """Generate the sandbox key pairs (merchant and "WeChat Pay") once; return their directory."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    target = Path(local_dir) / KEYS_DIR
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix='.wechatpay-sandbox-'))
    for owner in ('merchant', 'wechatpay'):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (staging / f'{owner}_private_key.pem').write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (staging / f'{owner}_public_key.pem').write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    try:
        staging.rename(target)
    except OSError:  # another process made them first
        shutil.rmtree(staging)
    return target


def _read_key(value):
    """A private key from PEM text or a `file:` reference (from the project root), or None."""
    from cryptography.hazmat.primitives import serialization
    if value and value.startswith('file:'):
        path = PROJECT_ROOT / value[len('file:'):]
        value = path.read_text() if path.is_file() else None
    return serialization.load_pem_private_key(value.encode(), password=None) if value else None


def v2_sign(fields, key, sign_type='MD5'):
    """Sorted non-empty fields but sign, &key=, MD5 or HMAC-SHA256, upper-case hex."""
    text = '&'.join(f'{k}={fields[k]}' for k in sorted(fields) if k != 'sign' and fields[k] != '')
    text = f'{text}&key={key}'.encode()
    if sign_type == 'HMAC-SHA256':
        return hmac.new(key.encode(), text, hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text).hexdigest().upper()


def _openid():
    """The buyer's openid WeChat reports for a scene that sent none (APP, Native, H5)."""
    return 'oSbx' + secrets.token_hex(12)


def _code_url():
    return 'weixin://wxpay/bizpayurl?pr=' + secrets.token_urlsafe(6)


def to_xml(fields):
    return '<xml>' + ''.join(f'<{k}><![CDATA[{v}]]></{k}>' for k, v in fields.items()) + '</xml>'


def _fee(fen):
    """The sandbox's fee: 0.60%, rounded half up to the fen (given back in proportion on refunds)."""
    return (fen * 6 + 500) // 1000


def _yuan(fen):
    return f'{"-" if fen < 0 else ""}{abs(fen) // 100}.{abs(fen) % 100:02d}'


def _backticked(values):
    return ','.join('`' + value for value in values)


def _bill_day(text, pattern):
    try:
        return datetime.strptime(text, pattern).date()
    except ValueError:
        return None


class Emulator:
    def __init__(self, environ, base_url, paygate_url):
        self.appid = environ.get('PAYGATE_WECHATPAY_APPID', '')
        self.app_appid = environ.get('PAYGATE_WECHATPAY_APP_APPID', '')
        self.app_secret = environ.get('PAYGATE_WECHATPAY_APP_SECRET', '')
        self.mch_id = environ.get('PAYGATE_WECHATPAY_MCH_ID', '')
        self.key = environ.get('PAYGATE_WECHATPAY_KEY', '')
        self.apiv3_key = environ.get('PAYGATE_WECHATPAY_APIV3_KEY', '')
        self.public_key_id = environ.get('PAYGATE_WECHATPAY_PUBLIC_KEY_ID', '')
        self.merchant_key = _read_key(environ.get('PAYGATE_WECHATPAY_PRIVATE_KEY'))
        self.wechat_key = _read_key(environ.get(SANDBOX_KEY)
                                    or f'file:{LOCAL_DIR / KEYS_DIR / "wechatpay_private_key.pem"}')
        self.base_url = base_url
        self.orders, self.refunds, self.used_codes, self.bill_files = {}, {}, set(), {}
        self.lock = threading.Lock()

    def routes(self):
        return [('GET', f'{PREFIX}/sns/jscode2session', self.login),
                ('POST', f'{PREFIX}/pay/unifiedorder', self.unifiedorder),
                ('POST', f'{PREFIX}/pay/orderquery', self.orderquery),
                ('POST', f'{PREFIX}/pay/closeorder', self.closeorder),
                ('POST', f'{PREFIX}/secapi/pay/refund', self.v2_refund),
                *(('POST', f'{PREFIX}/v3/pay/transactions/{scene}', self.v3_prepay) for scene in TRADE_TYPES),
                ('GET', f'{PREFIX}/v3/pay/transactions/out-trade-no/', self.v3_query),
                ('POST', f'{PREFIX}/v3/pay/transactions/out-trade-no/', self.v3_close),
                ('POST', f'{PREFIX}/v3/refund/domestic/refunds', self.v3_refund),
                ('GET', f'{PREFIX}/v3/bill/tradebill', self.v3_tradebill),
                ('GET', f'{PREFIX}/v3/billdownload/file', self.v3_bill_file),
                ('POST', f'{PREFIX}/pay/downloadbill', self.v2_downloadbill),
                ('GET', f'{PREFIX}/cashier/', self.cashier),
                ('POST', f'{PREFIX}/cashier/', self.pay),
                ('POST', f'{PREFIX}/refund-notify/', self.finish_refund)]

    # ---- login ------------------------------------------------------------------------------

    def login(self, request):
        from localdev.sandbox import json_answer
        code, query = request.query.get('js_code', ''), request.query
        if (query.get('appid'), query.get('secret')) != (self.appid, self.app_secret):
            return json_answer({'errcode': 40125, 'errmsg': 'invalid appsecret'})
        if not code or code == 'invalid':
            return json_answer({'errcode': 40029, 'errmsg': 'invalid code'})
        with self.lock:
            if code in self.used_codes:
                return json_answer({'errcode': 40163, 'errmsg': 'code been used'})
            self.used_codes.add(code)
        openid = 'oSbx' + hashlib.sha256(code.encode()).hexdigest()[:24]
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        return json_answer({'openid': openid, 'session_key': session_key})

    # ---- API v2 -------------------------------------------------------------------------------

    def _v2_request(self, request):
        """The request's fields once its ids and signature check out, else the FAIL answer."""
        from defusedxml.ElementTree import ParseError, fromstring
        try:
            fields = {child.tag: child.text or '' for child in fromstring(request.body, forbid_dtd=True)}
        except (ParseError, ValueError):
            return None, self._v2_answer({'return_code': 'FAIL', 'return_msg': 'XML格式错误'})
        sign_type = fields.get('sign_type', 'MD5')
        if fields.get('appid') not in (self.appid, self.app_appid) or fields.get('mch_id') != self.mch_id:
            return None, self._v2_answer({'return_code': 'FAIL', 'return_msg': 'appid/mch_id 错误'})
        if fields.get('sign') != v2_sign(fields, self.key, sign_type):
            return None, self._v2_answer({'return_code': 'FAIL', 'return_msg': '签名错误'})
        return fields, None

    def _v2_answer(self, fields, sign_type='MD5', appid=None):
        from localdev.sandbox import Answer
        if fields.get('return_code', 'SUCCESS') == 'SUCCESS':
            fields = {**V2_OK, 'appid': appid or self.appid, 'mch_id': self.mch_id,
                      'nonce_str': secrets.token_hex(16), **fields}
            fields['sign'] = v2_sign(fields, self.key, sign_type)
        return Answer(200, to_xml(fields), 'text/xml')

    def unifiedorder(self, request):
        fields, refused = self._v2_request(request)
        if refused:
            return refused
        trade_type = fields.get('trade_type')
        app_appid = fields['appid'] == self.app_appid
        if trade_type not in ('JSAPI', 'APP', 'NATIVE') or (trade_type == 'APP') != app_appid:
            return self._v2_answer({'result_code': 'FAIL', 'err_code': 'PARAM_ERROR',
                                    'err_code_des': 'trade_type 与 appid 不匹配'},
                                   fields.get('sign_type'), fields['appid'])
        prepay_id = 'wx' + datetime.now(BEIJING).strftime('%d%H%M%S') + secrets.token_hex(12)
        with self.lock:
            self.orders[fields['out_trade_no']] = {
                'version': 'v2', 'total': int(fields['total_fee']), 'openid': fields.get('openid') or _openid(),
                'body': fields.get('body', ''), 'appid': fields['appid'], 'trade_type': trade_type,
                'notify_url': fields['notify_url'], 'sign_type': fields.get('sign_type', 'MD5'),
                'state': 'NOTPAY', 'transaction_id': '', 'code_url': _code_url() if trade_type == 'NATIVE' else ''}
            answer = {'result_code': 'SUCCESS', 'trade_type': trade_type, 'prepay_id': prepay_id}
            if trade_type == 'NATIVE':
                answer['code_url'] = self.orders[fields['out_trade_no']]['code_url']
        return self._v2_answer(answer, fields.get('sign_type', 'MD5'), fields['appid'])

    def orderquery(self, request):
        fields, refused = self._v2_request(request)
        if refused:
            return refused
        order = self.orders.get(fields.get('out_trade_no'))
        if order is None:
            return self._v2_answer({'result_code': 'FAIL', 'err_code': 'ORDERNOTEXIST'},
                                   fields.get('sign_type'), fields['appid'])
        return self._v2_answer({'result_code': 'SUCCESS', 'trade_state': order['state'],
                                'out_trade_no': fields['out_trade_no'], 'total_fee': str(order['total']),
                                'transaction_id': order['transaction_id']}, fields.get('sign_type'),
                               fields['appid'])

    def closeorder(self, request):
        fields, refused = self._v2_request(request)
        if refused:
            return refused
        return self._v2_answer(self._close(fields.get('out_trade_no')), fields.get('sign_type'), fields['appid'])

    def _close(self, out_trade_no):
        with self.lock:
            order = self.orders.get(out_trade_no)
            if order and order['state'] == 'SUCCESS':
                return {'result_code': 'FAIL', 'err_code': 'ORDERPAID'}
            if order:
                order['state'] = 'CLOSED'
        return {'result_code': 'SUCCESS'}

    def v2_refund(self, request):
        fields, refused = self._v2_request(request)
        if refused:
            return refused
        refund = self._new_refund(fields['out_trade_no'], fields['out_refund_no'], int(fields['refund_fee']))
        if refund is None:
            return self._v2_answer({'result_code': 'FAIL', 'err_code': 'ERROR',
                                    'err_code_des': '订单未支付'}, fields.get('sign_type'), fields['appid'])
        return self._v2_answer({'result_code': 'SUCCESS', 'refund_id': refund['refund_id'],
                                'out_refund_no': fields['out_refund_no'], 'refund_fee': fields['refund_fee']},
                               fields.get('sign_type'), fields['appid'])

    def _new_refund(self, out_trade_no, out_refund_no, amount):
        with self.lock:
            order = self.orders.get(out_trade_no)
            if order is None or order['state'] != 'SUCCESS':
                return None
            refund = self.refunds.setdefault(out_refund_no, {
                'out_trade_no': out_trade_no, 'out_refund_no': out_refund_no, 'amount': amount,
                'refund_id': '503' + secrets.token_hex(12), 'status': 'PROCESSING',
                'created_at': datetime.now(BEIJING)})
            return refund

    # ---- API v3 -------------------------------------------------------------------------------

    def _v3_refused(self, request):
        """The 401 answer when the request's Authorization does not verify with the merchant's key."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from localdev.sandbox import json_answer
        scheme, _, rest = request.headers.get('authorization', '').partition(' ')
        fields = dict(part.split('=', 1) for part in rest.split(',') if '=' in part)
        fields = {k: v.strip('"') for k, v in fields.items()}
        url = request.path + (f'?{request.raw_query}' if request.raw_query else '')
        message = (f'{request.method}\n{url}\n{fields.get("timestamp")}\n{fields.get("nonce_str")}\n'
                   .encode() + request.body + b'\n')
        try:
            if scheme != 'WECHATPAY2-SHA256-RSA2048' or fields.get('mchid') != self.mch_id:
                raise InvalidSignature()
            self.merchant_key.public_key().verify(base64.b64decode(fields.get('signature', '')), message,
                                                  padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return json_answer({'code': 'SIGN_ERROR', 'message': '签名错误'}, 401)
        return None

    def _v3_answer(self, data=None, status=200):
        from localdev.sandbox import Answer
        body = json.dumps(data, ensure_ascii=False) if data is not None else ''
        return Answer(status, body, headers=self._signed_headers(body.encode()))

    def _signed_headers(self, body):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = f'{timestamp}\n{nonce}\n'.encode() + body + b'\n'
        signature = self.wechat_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {'Wechatpay-Timestamp': timestamp, 'Wechatpay-Nonce': nonce,
                'Wechatpay-Serial': self.public_key_id,
                'Wechatpay-Signature': base64.b64encode(signature).decode(),
                'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048'}

    def v3_prepay(self, request):
        """POST /v3/pay/transactions/<scene>: jsapi and app answer a prepay_id, native a code_url,
        h5 an h5_url (here: the cashier page)."""
        from localdev.sandbox import json_answer
        refused = self._v3_refused(request)
        if refused:
            return refused
        scene, body = request.path.rsplit('/', 1)[-1], json.loads(request.body)
        appid = self.app_appid if scene == 'app' else self.appid
        if (body.get('appid'), body.get('mchid')) != (appid, self.mch_id):
            return json_answer({'code': 'PARAM_ERROR', 'message': 'appid和mch_id不匹配'}, 400)
        if scene == 'h5' and not (body.get('scene_info') or {}).get('payer_client_ip'):
            return json_answer({'code': 'PARAM_ERROR', 'message': '缺少参数 scene_info.payer_client_ip'}, 400)
        with self.lock:
            self.orders[body['out_trade_no']] = {
                'version': 'v3', 'total': body['amount']['total'],
                'openid': (body.get('payer') or {}).get('openid') or _openid(),
                'body': body.get('description', ''), 'appid': appid, 'trade_type': TRADE_TYPES[scene],
                'notify_url': body['notify_url'], 'state': 'NOTPAY', 'transaction_id': '',
                'code_url': _code_url() if scene == 'native' else ''}
        if scene == 'native':
            return self._v3_answer({'code_url': self.orders[body['out_trade_no']]['code_url']})
        if scene == 'h5':
            return self._v3_answer({'h5_url': f'{self.base_url}{PREFIX}/cashier/{body["out_trade_no"]}'})
        return self._v3_answer({'prepay_id': 'wx' + secrets.token_hex(16)})

    def v3_query(self, request):
        refused = self._v3_refused(request)
        if refused:
            return refused
        out_trade_no = request.path.rsplit('/', 1)[-1]
        order = self.orders.get(out_trade_no)
        if order is None:
            return self._v3_answer({'code': 'ORDER_NOT_EXIST', 'message': '订单不存在'}, 404)
        return self._v3_answer(self._transaction(out_trade_no, order))

    def v3_close(self, request):
        refused = self._v3_refused(request)
        if refused:
            return refused
        outcome = self._close(request.path.split('/')[-2])
        if outcome['result_code'] != 'SUCCESS':
            return self._v3_answer({'code': outcome['err_code'], 'message': '订单已支付'}, 400)
        return self._v3_answer(status=204)

    def v3_refund(self, request):
        refused = self._v3_refused(request)
        if refused:
            return refused
        body = json.loads(request.body)
        refund = self._new_refund(body['out_trade_no'], body['out_refund_no'], body['amount']['refund'])
        if refund is None:
            return self._v3_answer({'code': 'INVALID_REQUEST', 'message': '订单未支付'}, 400)
        return self._v3_answer({'refund_id': refund['refund_id'], 'out_refund_no': refund['out_refund_no'],
                                'status': 'PROCESSING', 'amount': {'refund': refund['amount']}})

    def _transaction(self, out_trade_no, order):
        return {'appid': order['appid'], 'mchid': self.mch_id, 'out_trade_no': out_trade_no,
                'transaction_id': order['transaction_id'], 'trade_type': order['trade_type'],
                'trade_state': order['state'],
                'success_time': datetime.now(BEIJING).isoformat(timespec='seconds'),
                'payer': {'openid': order['openid']},
                'amount': {'total': order['total'], 'payer_total': order['total'], 'currency': 'CNY',
                           'payer_currency': 'CNY'}}

    def _encrypted(self, resource, original_type):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        nonce = secrets.token_hex(6)
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(),
                                                         original_type.encode())
        return {'original_type': original_type, 'algorithm': 'AEAD_AES_256_GCM', 'nonce': nonce,
                'associated_data': original_type, 'ciphertext': base64.b64encode(sealed).decode()}

    # ---- bills (type ALL) -----------------------------------------------------------------------

    def v3_tradebill(self, request):
        refused = self._v3_refused(request)
        if refused:
            return refused
        day = _bill_day(request.query.get('bill_date', ''), '%Y-%m-%d')
        if day is None or request.query.get('bill_type', 'ALL') != 'ALL':
            return self._v3_answer({'code': 'PARAM_ERROR',
                                    'message': 'the sandbox serves bill_type ALL of a yyyy-MM-dd bill_date'}, 400)
        text = self.bill_text(day)
        if text is None:
            return self._v3_answer({'code': 'NO_STATEMENT_EXIST', 'message': '账单文件不存在'}, 400)
        raw, token = text.encode(), secrets.token_urlsafe(24)
        with self.lock:
            self.bill_files[token] = gzip.compress(raw) if request.query.get('tar_type') == 'GZIP' else raw
        return self._v3_answer({'hash_type': 'SHA1', 'hash_value': hashlib.sha1(raw).hexdigest(),
                                'download_url': f'{self.base_url}{PREFIX}/v3/billdownload/file?token={token}'})

    def v3_bill_file(self, request):
        """The file a download_url names; as at WeChat Pay, this answer is not signed."""
        from localdev.sandbox import Answer, json_answer
        refused = self._v3_refused(request)
        if refused:
            return refused
        content = self.bill_files.get(request.query.get('token', ''))
        if content is None:
            return json_answer({'code': 'INVALID_REQUEST', 'message': '下载链接已过期'}, 400)
        return Answer(200, content, 'application/octet-stream')

    def v2_downloadbill(self, request):
        """The bill itself (gzip with tar_type GZIP), or an unsigned FAIL."""
        from localdev.sandbox import Answer
        fields, refused = self._v2_request(request)
        if refused:
            return refused
        day = _bill_day(fields.get('bill_date', ''), '%Y%m%d')
        if day is None or fields.get('bill_type', 'ALL') != 'ALL':
            return self._v2_answer({'return_code': 'FAIL', 'return_msg': 'invalid bill_date or bill_type',
                                    'error_code': '20001'})
        text = self.bill_text(day)
        if text is None:
            return self._v2_answer({'return_code': 'FAIL', 'return_msg': 'No Bill Exist', 'error_code': '20002'})
        if fields.get('tar_type') == 'GZIP':
            return Answer(200, gzip.compress(text.encode()), 'application/x-gzip')
        return Answer(200, text, 'text/plain')

    def bill_text(self, day):
        """The ALL bill of China day `day`: orders paid and refunds made that day, or None."""
        with self.lock:
            payments = [(no, order) for no, order in self.orders.items()
                        if order.get('paid_at') and order['paid_at'].date() == day]
            refunds = [refund for refund in self.refunds.values() if refund['created_at'].date() == day]
            rows = sorted([(order['paid_at'], self._payment_values(no, order)) for no, order in payments] +
                          [(refund['created_at'], self._refund_values(refund)) for refund in refunds],
                          key=lambda row: row[0])
        if not rows:
            return None
        paid = sum(order['total'] for _, order in payments)
        refunded = sum(refund['amount'] for refund in refunds)
        fee = sum(_fee(order['total']) for _, order in payments) - sum(_fee(r['amount']) for r in refunds)
        summary = [str(len(rows)), _yuan(paid), _yuan(refunded), '0.00', _yuan(fee) + '000', _yuan(paid),
                   _yuan(refunded)]
        return '\r\n'.join([BILL_HEADER, *(_backticked(values) for _, values in rows), BILL_SUMMARY,
                             _backticked(summary)]) + '\r\n'

    def _payment_values(self, out_trade_no, order):
        total = _yuan(order['total'])
        return [order['paid_at'].strftime('%Y-%m-%d %H:%M:%S'), order['appid'], self.mch_id, '0', '',
                order['transaction_id'], out_trade_no, order['openid'], order['trade_type'], 'SUCCESS', 'OTHERS',
                'CNY',
                total, '0.00', '0', '0', '0.00', '0.00', '', '', order['body'], '',
                _yuan(_fee(order['total'])) + '000', FEE_RATE, total, '0.00', '']

    def _refund_values(self, refund):
        order, amount = self.orders[refund['out_trade_no']], _yuan(refund['amount'])
        return [refund['created_at'].strftime('%Y-%m-%d %H:%M:%S'), order['appid'], self.mch_id, '0', '',
                order['transaction_id'], refund['out_trade_no'], order['openid'], order['trade_type'], 'REFUND',
                'OTHERS', 'CNY', '0.00', '0.00', refund['refund_id'], refund['out_refund_no'], amount, '0.00', 'ORIGINAL',
                refund['status'], order['body'], '', _yuan(-_fee(refund['amount'])) + '000', FEE_RATE, '0.00',
                amount, '']

    # ---- the buyer's side: pay, and WeChat's notifications ------------------------------------

    def cashier(self, request):
        from localdev.sandbox import Answer, qr_figure
        out_trade_no = request.path.rsplit('/', 1)[-1]
        order = self.orders.get(out_trade_no)
        if order is None:
            return Answer(404, f'<p>No WeChat Pay sandbox order {html.escape(out_trade_no)}</p>', 'text/html')
        code_url = qr_figure(order['code_url']) if order.get('code_url') else ''
        return Answer(200, f'''<!doctype html><title>WeChat Pay sandbox</title>
<h1>微信支付 sandbox ({order["version"]}, {order["trade_type"]})</h1>
<p>Order {html.escape(out_trade_no)}: ¥{order["total"] / 100:.2f}</p>{code_url}
<form method="post"><button>Pay</button></form>
<form method="post" action="?notify=drop"><button>Pay, but lose the notification</button></form>''', 'text/html')

    def pay(self, request):
        """Pay the order: send Paygate WeChat's signed notification (unless ?notify=drop), show
        what it answered."""
        from localdev.sandbox import json_answer
        out_trade_no = request.path.rsplit('/', 1)[-1]
        with self.lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                return json_answer({'error': f'no sandbox order {out_trade_no}'}, 404)
            order['state'] = 'SUCCESS'
            order['transaction_id'] = order['transaction_id'] or '42000' + secrets.token_hex(10)
            order['paid_at'] = order.get('paid_at') or datetime.now(BEIJING)
        if request.query.get('notify') == 'drop':
            return json_answer({'dropped': order['notify_url'], 'transaction_id': order['transaction_id']})
        if order['version'] == 'v2':
            fields = {**V2_OK, 'appid': order['appid'], 'mch_id': self.mch_id, 'nonce_str': secrets.token_hex(16),
                      'result_code': 'SUCCESS', 'openid': order['openid'], 'trade_type': order['trade_type'],
                      'bank_type': 'OTHERS', 'total_fee': str(order['total']),
                      'cash_fee': str(order['total']), 'fee_type': 'CNY',
                      'transaction_id': order['transaction_id'], 'out_trade_no': out_trade_no,
                      'time_end': datetime.now(BEIJING).strftime('%Y%m%d%H%M%S')}
            if order['sign_type'] != 'MD5':
                fields['sign_type'] = order['sign_type']
            fields['sign'] = v2_sign(fields, self.key, order['sign_type'])
            reply = self._post(order['notify_url'], to_xml(fields).encode(), {'Content-Type': 'text/xml'})
        else:
            reply = self._v3_notify(order['notify_url'], 'TRANSACTION.SUCCESS',
                                    self._encrypted(self._transaction(out_trade_no, order), 'transaction'))
        return json_answer({'notified': order['notify_url'], 'transaction_id': order['transaction_id'],
                            'paygate_status': reply.status_code, 'paygate_answer': reply.text})

    def finish_refund(self, request):
        """The refund reaches the buyer: send Paygate the refund notification."""
        from localdev.sandbox import json_answer
        refund = self.refunds.get(request.path.rsplit('/', 1)[-1])
        if refund is None:
            return json_answer({'error': 'no such sandbox refund'}, 404)
        order = self.orders[refund['out_trade_no']]
        refund['status'] = 'SUCCESS'
        info = {'out_trade_no': refund['out_trade_no'], 'out_refund_no': refund['out_refund_no'],
                'refund_id': refund['refund_id'], 'transaction_id': order['transaction_id'],
                'refund_status': 'SUCCESS',
                'success_time': datetime.now(BEIJING).strftime('%Y-%m-%d %H:%M:%S')}
        if order['version'] == 'v2':
            root = '<root>' + ''.join(f'<{k}><![CDATA[{v}]]></{k}>' for k, v in {
                **info, 'total_fee': order['total'], 'refund_fee': refund['amount']}.items()) + '</root>'
            body = to_xml({'return_code': 'SUCCESS', 'appid': order['appid'], 'mch_id': self.mch_id,
                           'nonce_str': secrets.token_hex(16), 'req_info': self._req_info(root)})
            reply = self._post(order['notify_url'], body.encode(), {'Content-Type': 'text/xml'})
        else:
            resource = {**info, 'mchid': self.mch_id, 'amount': {
                'total': order['total'], 'refund': refund['amount'], 'payer_total': order['total'],
                'payer_refund': refund['amount']}}
            reply = self._v3_notify(order['notify_url'], 'REFUND.SUCCESS',
                                    self._encrypted(resource, 'refund'))
        return json_answer({'paygate_status': reply.status_code, 'paygate_answer': reply.text})

    def _req_info(self, root):
        """AES-256-ECB, key = lower-case hex MD5 of the API key, PKCS#7 to 16 bytes (WeChat's Java side)."""
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        padder = padding.PKCS7(128).padder()
        padded = padder.update(root.encode()) + padder.finalize()
        key = hashlib.md5(self.key.encode()).hexdigest().encode()
        encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()

    def _v3_notify(self, url, event_type, resource):
        body = json.dumps({
            'id': secrets.token_hex(16), 'create_time': datetime.now(BEIJING).isoformat(timespec='seconds'),
            'resource_type': 'encrypt-resource', 'event_type': event_type,
            'summary': '支付成功' if event_type.startswith('TRANSACTION') else '退款成功',
            'resource': resource}, ensure_ascii=False).encode()
        return self._post(url, body, {'Content-Type': 'application/json', **self._signed_headers(body)})

    @staticmethod
    def _post(url, body, headers):
        return requests.post(url, data=body, headers=headers, timeout=10)
