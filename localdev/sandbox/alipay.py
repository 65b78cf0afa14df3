"""Alipay's open API gateway, emulated for the local stage.

- POST /alipay/gateway.do answers alipay.trade.query / close / refund /
  fastpay.refund.query like Alipay: it checks our request signature with the
  app public key and signs every answer (over the exact `*_response` text)
  with the sandbox "Alipay" private key.
- POST /alipay/pay takes an order string (what the app hands the Alipay
  SDK) or the query of a wap pay_url, checks its signature, pays the trade
  and sends Paygate Alipay's signed asynchronous notification; posting the
  same string again resends the same notification (same notify_id), as
  Alipay's retries do. With ?notify=drop the trade is paid
  (alipay.trade.query and the bill show it) but Paygate is sent nothing, as
  when a notification is lost.
- GET /alipay/gateway.do?<a signed alipay.trade.wap.pay> is the mobile
  cashier a wap order's pay_url opens: a page whose Pay button posts it to
  /alipay/pay.
- alipay.trade.precreate answers a qr_code, GET /alipay/qr/{out_trade_no}:
  a page showing it with a Pay button; POST /alipay/qr/{out_trade_no}
  (?notify=drop as above) pays the trade as a scan would.
- alipay.data.dataservice.bill.downloadurl.query (bill_type trade) answers a
  URL on GET /alipay/downloadBillFile.resource: the zip of the day's two GBK
  CSV files in Alipay's format (see chalicelib/providers/alipay/bill.py),
  listing the trades paid and refunds made here that China day, with a
  0.60% 服务费 rounded to the fen; a day without any is isp.bill_not_exist.

Keys: `prepare` generates two throw-away RSA key pairs once, in
.local/alipay-sandbox/ (git-ignored): the app's (Paygate signs with its
private half, the local stage reads it through a `file:` reference) and the
sandbox "Alipay"'s (the emulator signs with it, Paygate verifies with its
public half). They are sandbox keys only and never leave this machine.

Signing here follows docs/providers/alipay.md#signing with pycryptodome directly,
independently of chalicelib.providers.alipay, as Alipay's servers would.
"""
import base64
import csv
import html
import io
import json
import secrets
import shutil
import tempfile
import threading
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import requests
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from localdev import LOCAL_DIR

PREFIX = '/alipay'
KEYS_DIR = 'alipay-sandbox'
SANDBOX_SELLER = '2088000000000001'
CHINA = timezone(timedelta(hours=8))
BILL_METHOD = 'alipay.data.dataservice.bill.downloadurl.query'
PRECREATE = 'alipay.trade.precreate'
PAYABLE_METHODS = ('alipay.trade.app.pay', 'alipay.trade.wap.pay')
DETAIL_HEADER = ['支付宝交易号', '商户订单号', '业务类型', '商品名称', '创建时间', '完成时间', '门店编号', '门店名称',
                 '操作员', '终端号', '对方账户', '订单金额（元）', '商家实收（元）', '支付宝红包（元）', '集分宝（元）',
                 '支付宝优惠（元）', '商家优惠（元）', '券核销金额（元）', '券名称', '商家红包消费金额（元）',
                 '卡消费金额（元）', '退款批次号/请求号', '服务费（元）', '分润（元）', '备注']
SUMMARY_HEADER = ['门店编号', '门店名称', '交易订单总笔数', '退款订单总笔数', '订单金额（元）', '商家实收（元）',
                  '支付宝优惠（元）', '商家优惠（元）', '卡消费金额（元）', '服务费（元）', '分润（元）', '实收净额（元）']
DETAIL_START = '#' + '-' * 41 + '业务明细列表' + '-' * 40
DETAIL_END = '#' + '-' * 41 + '业务明细列表结束' + '-' * 36
SUMMARY_START = '#' + '-' * 41 + '业务汇总列表' + '-' * 40
SUMMARY_END = '#' + '-' * 40 + '业务汇总列表结束' + '-' * 37


def generated_environment(environ):
    """The local stage reads the sandbox keys from files (`file:` references): make them once."""
    make_keys(LOCAL_DIR)
    return {}


def make_keys(local_dir):
    """Generate the sandbox key pairs (app and "Alipay") once; return their directory."""
    target = Path(local_dir) / KEYS_DIR
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix='.alipay-sandbox-'))
    for owner in ('app', 'alipay'):
        key = RSA.generate(2048)
        (staging / f'{owner}_private_key.pem').write_bytes(key.export_key(pkcs=8))
        (staging / f'{owner}_public_key.pem').write_bytes(key.public_key().export_key())
    try:
        staging.rename(target)
    except OSError:  # another process made them first
        shutil.rmtree(staging)
    return target


def sign_text(text, private_key):
    return base64.b64encode(pkcs1_15.new(private_key).sign(SHA256.new(text.encode('utf-8')))).decode()


def verify_text(text, signature, public_key):
    try:
        pkcs1_15.new(public_key).verify(SHA256.new(text.encode('utf-8')), base64.b64decode(signature))
    except (ValueError, TypeError):
        return False
    return True


def pairs(params, exclude):
    return '&'.join(f'{k}={params[k]}' for k in sorted(params) if k not in exclude and params[k])


def china_now():
    return datetime.now(CHINA).strftime('%Y-%m-%d %H:%M:%S')


def fen(yuan):
    whole, _, cents = yuan.partition('.')
    return int(whole) * 100 + int((cents + '00')[:2])


def yuan(amount):
    return f'{"-" if amount < 0 else ""}{abs(amount) // 100}.{abs(amount) % 100:02d}'


def service_fee(amount):
    """The sandbox's 服务费: 0.60%, rounded half up to the fen (given back in proportion on refunds)."""
    return (amount * 6 + 500) // 1000


class GbkName(zipfile.ZipInfo):
    """A zip entry named in GBK without the UTF-8 flag, as in Alipay's bill zips (zipfile on its
    own writes a non-ASCII name as UTF-8 and sets the flag)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode('gbk'), self.flag_bits


def _is_day(text):
    try:
        datetime.strptime(text, '%Y-%m-%d')
    except ValueError:
        return False
    return True


def _trade_values(trade):
    amount, fee = trade['total_amount'], service_fee(fen(trade['total_amount']))
    return [trade['trade_no'] + '\t', trade['out_trade_no'] + '\t', '交易\t', trade['subject'], trade['gmt_create'],
            trade['gmt_payment'], '\t', '\t', '\t', '\t', 'san***@sandbox.com\t', amount, amount, '0.00', '0.00',
            '0.00', '0.00', '0.00', '', '0.00\t', '0.00', '\t', yuan(-fee), '0.00', '']


def _refund_values(trade, request_no):
    amount = trade['refunds'][request_no]
    return [trade['trade_no'] + '\t', trade['out_trade_no'] + '\t', '退款\t', trade['subject'], trade['gmt_create'],
            trade['refunded_at'][request_no], '\t', '\t', '\t', '\t', 'san***@sandbox.com\t', yuan(-amount),
            yuan(-amount), '0.00', '0.00', '0.00', '0.00', '0.00', '', '0.00\t', '0.00', request_no + '\t',
            yuan(service_fee(amount)), '0.00', '']


def _csv(rows):
    text = io.StringIO()
    csv.writer(text, lineterminator='\n').writerows(rows)
    return text.getvalue().rstrip('\n')


def _zip(files):
    """A zip of GB18030 (GBK) text files with GBK names, as Alipay sends bills."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            info = GbkName(name, datetime.now(CHINA).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode('gb18030'))
    return buffer.getvalue()


class Emulator:
    def __init__(self, environ, base_url, paygate_url):
        self.keys_dir = Path(environ.get('PAYGATE_SANDBOX_ALIPAY_KEYS') or LOCAL_DIR / KEYS_DIR)
        self.app_id = environ.get('PAYGATE_ALIPAY_APP_ID', '')
        self.seller_id = environ.get('PAYGATE_ALIPAY_SELLER_ID') or SANDBOX_SELLER
        self.base_url = base_url
        self.trades, self.bill_files = {}, {}
        self.lock = threading.Lock()
        self._keys = {}

    def routes(self):
        return [('POST', f'{PREFIX}/gateway.do', self.gateway), ('POST', f'{PREFIX}/pay', self.pay),
                ('GET', f'{PREFIX}/gateway.do', self.wap_cashier),
                ('GET', f'{PREFIX}/qr/', self.qr_cashier), ('POST', f'{PREFIX}/qr/', self.pay_qr),
                ('GET', f'{PREFIX}/downloadBillFile.resource', self.bill_file)]

    def key(self, name):
        if name not in self._keys:
            self._keys[name] = RSA.import_key((self.keys_dir / f'{name}.pem').read_bytes())
        return self._keys[name]

    def gateway(self, request):
        params = {**request.query, **dict(parse_qsl(request.body.decode('utf-8'), keep_blank_values=True))}
        method = params.get('method', '')
        refused = self._refusal(params)
        if refused:
            return self._unsigned_error(*refused)
        handler = {'alipay.trade.query': self._query, 'alipay.trade.close': self._close,
                   'alipay.trade.refund': self._refund,
                   'alipay.trade.fastpay.refund.query': self._refund_query,
                   PRECREATE: self._precreate, BILL_METHOD: self._bill_url}.get(method)
        if handler is None:
            return self._unsigned_error('isv.invalid-method', f'不存在的方法名 {method}')
        biz = json.loads(params.get('biz_content') or '{}')
        with self.lock:
            if method == PRECREATE:
                return self.answer(method, self._precreate(biz, params.get('notify_url', '')))
            return self.answer(method, handler(biz, self.trades.get(biz.get('out_trade_no'))))

    def _refusal(self, params):
        if params.get('app_id') != self.app_id:
            return 'isv.invalid-app-id', '无效的AppID参数'
        if params.get('sign_type') != 'RSA2' or not verify_text(
                pairs(params, ('sign',)), params.get('sign', ''), self.key('app_public_key')):
            return 'isv.invalid-signature', '验签出错'
        return None

    def answer(self, method, payload):
        """The answer text: the response node, signed over its exact text."""
        inner = json.dumps(payload, ensure_ascii=False, separators=(',', ':'))
        node = method.replace('.', '_') + '_response'
        text = f'{{"{node}":{inner},"sign":"{sign_text(inner, self.key("alipay_private_key"))}"}}'
        from localdev.sandbox import Answer
        return Answer(200, text, 'text/html')

    def _unsigned_error(self, sub_code, sub_msg):
        from localdev.sandbox import json_answer
        return json_answer({'error_response': {'code': '40002', 'msg': 'Invalid Arguments',
                                               'sub_code': sub_code, 'sub_msg': sub_msg}})

    @staticmethod
    def _failed(sub_code, sub_msg):
        return {'code': '40004', 'msg': 'Business Failed', 'sub_code': sub_code, 'sub_msg': sub_msg}

    def _query(self, biz, trade):
        if trade is None:
            return self._failed('ACQ.TRADE_NOT_EXIST', '交易不存在')
        return {'code': '10000', 'msg': 'Success', 'trade_no': trade['trade_no'],
                'out_trade_no': trade['out_trade_no'], 'buyer_logon_id': 'san***@sandbox.com',
                'trade_status': trade['status'], 'total_amount': trade['total_amount'],
                'buyer_pay_amount': trade['total_amount'], 'send_pay_date': trade['gmt_payment']}

    def _close(self, biz, trade):
        if trade is None:
            return self._failed('ACQ.TRADE_NOT_EXIST', '交易不存在')
        if trade['status'] != 'WAIT_BUYER_PAY':
            return self._failed('ACQ.TRADE_STATUS_ERROR', '交易状态不合法')
        trade['status'] = 'TRADE_CLOSED'
        return {'code': '10000', 'msg': 'Success', 'trade_no': trade['trade_no'],
                'out_trade_no': trade['out_trade_no']}

    def _refund(self, biz, trade):
        if trade is None:
            return self._failed('ACQ.TRADE_NOT_EXIST', '交易不存在')
        amount, request_no = fen(biz['refund_amount']), biz.get('out_request_no') or trade['out_trade_no']
        earlier = trade['refunds'].get(request_no)
        if earlier is not None and earlier != amount:
            return self._failed('ACQ.INVALID_PARAMETER', '退款请求号对应的退款金额不一致')
        fund_change = 'N'
        if earlier is None:
            if trade['status'] != 'TRADE_SUCCESS':
                return self._failed('ACQ.TRADE_STATUS_ERROR', '交易状态不合法')
            if sum(trade['refunds'].values()) + amount > fen(trade['total_amount']):
                return self._failed('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限')
            trade['refunds'][request_no] = amount
            trade['refunded_at'][request_no] = china_now()
            fund_change = 'Y'
            if sum(trade['refunds'].values()) == fen(trade['total_amount']):
                trade['status'] = 'TRADE_CLOSED'
        return {'code': '10000', 'msg': 'Success', 'trade_no': trade['trade_no'],
                'out_trade_no': trade['out_trade_no'], 'buyer_logon_id': 'san***@sandbox.com',
                'fund_change': fund_change, 'refund_fee': yuan(sum(trade['refunds'].values())),
                'gmt_refund_pay': china_now()}

    def _refund_query(self, biz, trade):
        if trade is None:
            return self._failed('ACQ.TRADE_NOT_EXIST', '交易不存在')
        answer = {'code': '10000', 'msg': 'Success', 'trade_no': trade['trade_no'],
                  'out_trade_no': trade['out_trade_no'], 'out_request_no': biz.get('out_request_no')}
        amount = trade['refunds'].get(biz.get('out_request_no'))
        if amount is not None:
            answer.update(refund_amount=yuan(amount), total_amount=trade['total_amount'],
                          refund_status='REFUND_SUCCESS')
        return answer

    def _precreate(self, biz, notify_url):
        """A trade waiting for the buyer to scan its QR code (the lock is held)."""
        trade = self.trades.setdefault(biz['out_trade_no'], {
            **self._new_trade(biz), 'status': 'WAIT_BUYER_PAY', 'gmt_payment': '', 'notify_url': notify_url})
        return {'code': '10000', 'msg': 'Success', 'out_trade_no': trade['out_trade_no'],
                'qr_code': f'{self.base_url}{PREFIX}/qr/{trade["out_trade_no"]}'}

    def _bill_url(self, biz, trade):
        """Make the day's bill zip (the lock is held) and answer the URL that serves it."""
        day = biz.get('bill_date', '')
        if biz.get('bill_type') != 'trade' or not _is_day(day):
            return self._failed('isv.invalid-arguments', 'the sandbox serves bill_type trade of a yyyy-MM-dd day')
        zipped = self._bill_zip(day)
        if zipped is None:
            return self._failed('isp.bill_not_exist', '账单不存在')
        token = secrets.token_hex(16)
        self.bill_files[token] = zipped
        return {'code': '10000', 'msg': 'Success',
                'bill_download_url': f'{self.base_url}{PREFIX}/downloadBillFile.resource?fileId={token}'}

    def bill_file(self, request):
        from localdev.sandbox import Answer, json_answer
        zipped = self.bill_files.get(request.query.get('fileId', ''))
        if zipped is None:
            return json_answer({'error': 'no such bill file'}, 404)
        return Answer(200, zipped, 'application/zip')

    def _bill_zip(self, day):
        """The zip of `day`'s detail and summary files, or None when nothing was paid or refunded."""
        payments = [trade for trade in self.trades.values() if trade['gmt_payment'].startswith(day)]
        refunds = [(trade, request_no) for trade in self.trades.values()
                   for request_no, at in trade['refunded_at'].items() if at.startswith(day)]
        if not payments and not refunds:
            return None
        rows = sorted([(trade['gmt_payment'], _trade_values(trade)) for trade in payments] +
                      [(trade['refunded_at'][no], _refund_values(trade, no)) for trade, no in refunds],
                      key=lambda row: row[0])
        paid = sum(fen(trade['total_amount']) for trade in payments)
        refunded = sum(trade['refunds'][no] for trade, no in refunds)
        fee = (sum(service_fee(fen(trade['total_amount'])) for trade in payments)
               - sum(service_fee(trade['refunds'][no]) for trade, no in refunds))
        start = datetime.strptime(day, '%Y-%m-%d')
        top = [f'#账号：[{self.seller_id}0156]',
               f'#起始日期：[{start:%Y年%m月%d日} 00:00:00]   终止日期：[{start + timedelta(days=1):%Y年%m月%d日} 00:00:00]']
        end = f'#导出时间：[{datetime.now(CHINA):%Y年%m月%d日 %H:%M:%S}]'
        detail = ['#支付宝业务明细查询', *top, DETAIL_START, _csv([DETAIL_HEADER, *(values for _, values in rows)]),
                  DETAIL_END, f'#交易合计：{len(payments)}笔，商家实收共{yuan(paid)}元，商家优惠共0.00元',
                  f'#退款合计：{len(refunds)}笔，商家实收退款共{yuan(-refunded)}元，商家优惠退款共0.00元', end]
        totals = [str(len(payments)), str(len(refunds)), yuan(paid - refunded), yuan(paid - refunded), '0.00',
                  '0.00', '0.00', yuan(-fee), '0.00', yuan(paid - refunded - fee)]
        summary = ['#支付宝业务汇总查询', *top, SUMMARY_START,
                   _csv([SUMMARY_HEADER, ['', '', *totals], ['合计', '', *totals]]), SUMMARY_END, end]
        name = f'{self.seller_id}0156_{day.replace("-", "")}_业务明细'
        return _zip({f'{name}.csv': '\n'.join(detail) + '\n', f'{name}(汇总).csv': '\n'.join(summary) + '\n'})

    def _signed_payment(self, params):
        """The error answer when `params` are not an app or wap payment signed by this app, else None."""
        from localdev.sandbox import json_answer
        if params.get('app_id') != self.app_id or params.get('method') not in PAYABLE_METHODS or not verify_text(
                pairs(params, ('sign',)), params.get('sign', ''), self.key('app_public_key')):
            return json_answer({'error': 'not an app or wap payment signed by this app'}, 400)
        return None

    def pay(self, request):
        """Pay the trade of an order string (or a wap pay_url's query); send Paygate the signed
        notification."""
        params = dict(parse_qsl(request.body.decode('utf-8'), keep_blank_values=True))
        refused = self._signed_payment(params)
        if refused:
            return refused
        biz = json.loads(params['biz_content'])
        with self.lock:
            trade = self.trades.setdefault(biz['out_trade_no'], self._new_trade(biz))
        return self._notify(trade, params['notify_url'], request.query.get('notify') == 'drop')

    def wap_cashier(self, request):
        """The page a wap pay_url opens: the order, and a Pay button posting the payment to /alipay/pay."""
        from localdev.sandbox import Answer
        refused = self._signed_payment(request.query)
        if refused:
            return refused
        biz = json.loads(request.query['biz_content'])
        inputs = ''.join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in request.query.items())
        return Answer(200, f'''<!doctype html><title>Alipay sandbox</title>
<h1>支付宝 sandbox (wap)</h1><p>Order {html.escape(biz["out_trade_no"])}: ¥{html.escape(biz["total_amount"])}</p>
<form method="post" action="{PREFIX}/pay">{inputs}<button>Pay</button></form>''', 'text/html')

    def qr_cashier(self, request):
        """What scanning a precreated trade's QR code shows: the order and a Pay button."""
        from localdev.sandbox import Answer, qr_figure
        trade = self.trades.get(request.path.rsplit('/', 1)[-1])
        if trade is None:
            return Answer(404, '<p>No such precreated trade</p>', 'text/html')
        return Answer(200, f'''<!doctype html><title>Alipay sandbox</title>
<h1>支付宝 sandbox (qr)</h1><p>Order {html.escape(trade["out_trade_no"])}: ¥{html.escape(trade["total_amount"])}</p>
{qr_figure(self.base_url + request.path)}
<form method="post"><button>Pay</button></form>''', 'text/html')

    def pay_qr(self, request):
        """Pay a precreated trade, as the buyer scanning its QR code would."""
        from localdev.sandbox import json_answer
        with self.lock:
            trade = self.trades.get(request.path.rsplit('/', 1)[-1])
            if trade is None or 'notify_url' not in trade:
                return json_answer({'error': 'no such precreated trade'}, 404)
            if trade['status'] == 'WAIT_BUYER_PAY':
                trade.update(status='TRADE_SUCCESS', gmt_payment=china_now())
        return self._notify(trade, trade['notify_url'], request.query.get('notify') == 'drop')

    def _notify(self, trade, notify_url, drop):
        from localdev.sandbox import json_answer
        if drop:
            return json_answer({'dropped': notify_url, 'trade_no': trade['trade_no']})
        fields = self._notification(trade)
        reply = requests.post(notify_url, data=urlencode(fields), timeout=10,
                              headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
        return json_answer({'notified': notify_url, 'trade_no': trade['trade_no'],
                            'notify_id': fields['notify_id'], 'paygate_status': reply.status_code,
                            'paygate_answer': reply.text})

    @staticmethod
    def _new_trade(biz):
        now = china_now()
        return {'trade_no': datetime.now(CHINA).strftime('%Y%m%d') + '22001' + secrets.token_hex(6),
                'out_trade_no': biz['out_trade_no'], 'total_amount': biz['total_amount'],
                'subject': biz.get('subject', ''), 'status': 'TRADE_SUCCESS', 'gmt_create': now,
                'gmt_payment': now, 'notify_id': secrets.token_hex(16), 'refunds': {}, 'refunded_at': {}}

    def _notification(self, trade):
        amount = trade['total_amount']
        fields = {
            'notify_time': china_now(), 'notify_type': 'trade_status_sync',
            'notify_id': trade['notify_id'], 'app_id': self.app_id, 'charset': 'utf-8',
            'version': '1.0', 'sign_type': 'RSA2', 'trade_no': trade['trade_no'],
            'out_trade_no': trade['out_trade_no'], 'buyer_id': '2088102177846880',
            'buyer_logon_id': 'san***@sandbox.com', 'seller_id': self.seller_id,
            'trade_status': 'TRADE_SUCCESS', 'total_amount': amount, 'receipt_amount': amount,
            'invoice_amount': amount, 'buyer_pay_amount': amount, 'point_amount': '0.00',
            'subject': trade['subject'], 'gmt_create': trade['gmt_create'],
            'gmt_payment': trade['gmt_payment'],
            'fund_bill_list': json.dumps([{'amount': amount, 'fundChannel': 'ALIPAYACCOUNT'}],
                                         separators=(',', ':')),
        }
        fields['sign'] = sign_text(pairs(fields, ('sign', 'sign_type')), self.key('alipay_private_key'))
        return fields
