"""Providers' bills in their real formats, for the bill tests (files in tests/data/bills/).

wechatpay_all.txt: a WeChat Pay trade bill, bill type ALL, of 2026-11-22: three
payments (one product name with a comma in it), a partial and a full refund,
and the summary. Format from WeChat Pay's documentation (header, backtick
before every value, summary header and values) and bills printed in public
SDK tests (WxJava WxPayBillResultTest, wechatpay-go): 27 columns; a payment
line has 微信退款单号/商户退款单号 `0`; a refund line has 交易状态 REFUND,
应结订单金额 and 订单金额 0.00, 申请退款金额 and 退款状态; 手续费 with five
decimals, whole fen (6.00 at 0.60% -> 0.04000).
UNCONFIRMED:
- that 总交易单数 counts refund lines too (sample bills with both disagree or
  are made up); the parser reports it and checks nothing against it;
- that a refund line's 手续费 is the fee given back, negative (only summaries
  of REFUND bills show a negative 手续费总金额, -0.02000);
- that a refund line's 交易时间 is the refund's time (the REFUND bill has
  separate 退款申请时间/退款成功时间 columns, ALL has not);
- the v2 error codes other than `No Bill Exist` / 20002.

alipay_detail.csv, alipay_summary.csv: the two files of an Alipay trade bill
zip for the same day, kept here as UTF-8 so they stay readable; `alipay_zip`
encodes them in GBK and zips them with GBK names and no UTF-8 flag, as
Alipay does (per dax-pay's and other public parsers, which unzip with GBK).
Comment lines, column names, trailing tabs, negative 订单金额 on refunds and
the 合计 row follow bills printed in public code (a 2019 sandbox bill) and
dax-pay's AliReconcileBillDetail/Total.
UNCONFIRMED:
- the sign of 服务费: taken as the merchant's balance sees it (negative when
  charged, positive when a refund gives it back), like 商家实收; no public
  bill with a non-zero 服务费 was found;
- that 合计 订单金额 is net of refunds;
- the store row of the summary (only 合计 is read);
- that `isp.bill_not_exist` is the sub_code for a day without bill (an old
  document names the error BILL_NOT_EXIST; the parser accepts both) and that
  Alipay answers it on a day without trades;
- line ends (LF here, CRLF in a test: both are read).
"""
import hashlib
import io
import json
import secrets
import time
import zipfile
from pathlib import Path

from tests.wechatpay_fixtures import KEY, PUB_KEY_ID, WX_URL, check_authorization, signed_headers, v2_fields, v2_sign

BILLS = Path(__file__).parent / 'data' / 'bills'
BILL_DATE = '2026-11-22'
ALIPAY_ACCOUNT = '20881011223344550156'
DOWNLOAD_URL = f'{WX_URL}/v3/billdownload/file?token=6XIv5TUPto7pByrTQKhd6kwvyKLG2uY2wMMR8cNXqaA'


def wechat_text():
    return (BILLS / 'wechatpay_all.txt').read_text(encoding='utf-8')


def alipay_texts():
    """(detail, summary) as text."""
    return ((BILLS / 'alipay_detail.csv').read_text(encoding='utf-8'),
            (BILLS / 'alipay_summary.csv').read_text(encoding='utf-8'))


class GbkName(zipfile.ZipInfo):
    """A zip entry whose name is written in GBK without the UTF-8 flag, as in Alipay's zips
    (zipfile on its own writes a non-ASCII name as UTF-8 and sets the flag)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode('gbk'), self.flag_bits


def alipay_zip(detail=None, summary=None, gbk_names=True, extra=()):
    """The bill zip: the fixture texts (or the given ones) in GBK, under Alipay's file names."""
    texts = alipay_texts()
    files = [(f'{ALIPAY_ACCOUNT}_20261122_业务明细.csv', texts[0] if detail is None else detail),
             (f'{ALIPAY_ACCOUNT}_20261122_业务明细(汇总).csv', texts[1] if summary is None else summary),
             *extra]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, text in files:
            info = (GbkName if gbk_names else zipfile.ZipInfo)(name, (2026, 11, 23, 5, 46, 49))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode('gbk'))
    return buffer.getvalue()


# ---- WeChat Pay API v3 serving a bill: tradebill, then the file ---------------------------------

def tradebill(wechat, body, status=200, key=None, serial=PUB_KEY_ID):
    """GET /v3/bill/tradebill answering `body`, signed with the WeChat Pay public key's (or `key`)."""
    def answer(request):
        check_authorization(request, wechat.keys.merchant)
        wechat.requests.append(request)
        raw = json.dumps(body).encode()
        return status, {**signed_headers(raw, key or wechat.keys.wechat, serial, int(time.time()),
                                         nonce=secrets.token_hex(16)), 'Content-Type': 'application/json'}, raw
    wechat.http.add_callback('GET', f'{WX_URL}/v3/bill/tradebill', callback=answer)


def bill_file(wechat, content):
    """The download URL's answer: the gzip file, not signed (WeChat Pay signs no file)."""
    def answer(request):
        check_authorization(request, wechat.keys.merchant)
        wechat.requests.append(request)
        return 200, {'Content-Type': 'application/octet-stream'}, content
    wechat.http.add_callback('GET', DOWNLOAD_URL.split('?')[0], callback=answer)


def hashed(text):
    return {'hash_type': 'SHA1', 'hash_value': hashlib.sha1(text.encode()).hexdigest(),
            'download_url': DOWNLOAD_URL}


def downloadbill(wechat, content):
    """API v2's downloadbill answering `content` (the file itself), after checking our sign."""
    def answer(request):
        sent = v2_fields(request.body)
        assert sent['sign'] == v2_sign(sent, KEY, sent['sign_type'])
        wechat.requests.append(sent)
        return 200, {'Content-Type': 'text/plain'}, content
    wechat.http.add_callback('POST', f'{WX_URL}/pay/downloadbill', callback=answer)
