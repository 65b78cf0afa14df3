"""WeChat Pay's trade bill: parsed exactly, downloaded through v3 (hash checked) and v2, gzip."""
import gzip
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.errors import ProviderError
from chalicelib.providers.bill import Bill, BillError, BillLine, NoBill
from chalicelib.providers.wechatpay import bill
from tests.bill_fixtures import BILL_DATE, DOWNLOAD_URL, bill_file, downloadbill, hashed, tradebill, wechat_text

PAY_1, PAY_2, PAY_3 = ('pg20261122091520a1b2c3d4e5f6', 'pg20261122123955b7c8d9e0f1a2',
                       'pg20261122180340c3d4e5f6a7b8')
TX = '42000012342026112200000001'
LINES = (
    BillLine('payment', PAY_1, TX + '01', 600, 4, 'SUCCESS', time='2026-11-22T01:15:30Z'),
    BillLine('payment', PAY_2, TX + '02', 3000, 18, 'SUCCESS', time='2026-11-22T04:40:02Z'),
    BillLine('payment', PAY_3, TX + '03', 1800, 11, 'SUCCESS', time='2026-11-22T10:03:47Z'),
    BillLine('refund', PAY_3, TX + '03', 600, -4, 'SUCCESS', refund_no='rf_partial_0001',
             provider_refund_id='50300001232026112200000000201', time='2026-11-22T12:11:09Z'),
    BillLine('refund', PAY_2, TX + '02', 3000, -18, 'PROCESSING', refund_no='rf_full_0002',
             provider_refund_id='50300001232026112200000000202', time='2026-11-22T15:58:41Z', succeeded=False),
)
TOTALS = {'count': 5, 'amount': 5400, 'refund_amount': 3600, 'fee': 11}


def test_the_bill_is_read_exactly():
    assert bill.parse(wechat_text()) == (LINES, TOTALS)


def test_a_bom_and_crlf_line_ends_read_the_same():
    assert bill.parse('\ufeff' + wechat_text().replace('\n', '\r\n')) == (LINES, TOTALS)


def test_a_bill_with_no_lines_has_its_summary():
    header = wechat_text().splitlines()[0]
    empty = f'{header}\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n' \
            '`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00\n'
    assert bill.parse(empty) == ((), {'count': 0, 'amount': 0, 'refund_amount': 0, 'fee': 0})


def replace_line(number, old, new):
    rows = wechat_text().splitlines()
    assert old in rows[number - 1]
    rows[number - 1] = rows[number - 1].replace(old, new, 1)
    return '\n'.join(rows)


@pytest.mark.parametrize('text, message', [
    ('', 'the bill file is empty'),
    (replace_line(1, '申请退款金额,', ''), 'line 1: the header has no 申请退款金额'),
    (replace_line(2, '`2026-11-22 09:15:30', '2026-11-22 09:15:30'),
     'line 2: values do not start with a backtick'),
    (replace_line(3, ',`0.60%', ''), 'line 3: 26 values, the header names 27'),
    (replace_line(2, '`0.04000', '`0.03600'), 'line 2 手续费: not a whole number of fen'),
    (replace_line(2, '`0.60%,`6.00', '`0.60%,`-6.00'), 'line 2 订单金额: -6.00 is not a positive amount'),
    (replace_line(5, '`REFUND', '`SUCCESS'), "line 5: refund 50300001232026112200000000201 with 交易状态 'SUCCESS'"),
    (replace_line(6, '`2026-11-22 23:58:41', '`2026/11/22 23:58:41'), 'line 6: time'),
    (replace_line(4, '`pg20261122180340c3d4e5f6a7b8', '`'), 'line 4: no 商户订单号 or 微信订单号'),
    ('\n'.join(wechat_text().splitlines()[:5]), 'no summary line'),
    (wechat_text() + '`1,`2\n', 'line 9: expected exactly one line of summary values'),
    (replace_line(8, '`5,', '`five,'), "line 8: 总交易单数 'five' is not a count"),
    (replace_line(7, ',申请退款总金额', ''), 'line 8: 7 values, the header names 6'),
])
def test_a_malformed_bill_is_refused_naming_the_line(text, message):
    with pytest.raises(BillError) as refused:
        bill.parse(text)
    assert message in str(refused.value)


# ---- API v3: tradebill, then the file ------------------------------------------------------

def test_v3_asks_for_the_all_bill_gzipped_and_reads_the_file_it_names(wechat):
    tradebill(wechat, hashed(wechat_text()))
    bill_file(wechat, gzip.compress(wechat_text().encode()))
    assert bill.download(BILL_DATE) == Bill('wechatpay', BILL_DATE, LINES, TOTALS)
    asked, fetched = wechat.requests
    assert parse_qs(urlsplit(asked.url).query) == {'bill_date': ['2026-11-22'], 'bill_type': ['ALL'],
                                                   'tar_type': ['GZIP']}
    assert fetched.url == DOWNLOAD_URL


def test_v3_refuses_a_file_whose_sha1_is_not_the_one_given(wechat):
    tradebill(wechat, hashed(wechat_text()))
    bill_file(wechat, gzip.compress(wechat_text().replace('`6.00', '`0.06').encode()))
    with pytest.raises(ProviderError) as refused:
        bill.download(BILL_DATE)
    assert refused.value.code == 'hash' and refused.value.retryable


def test_v3_refuses_a_file_that_is_not_gzip(wechat):
    tradebill(wechat, hashed(wechat_text()))
    bill_file(wechat, wechat_text().encode())
    with pytest.raises(BillError, match='not gzip'):
        bill.download(BILL_DATE)


def test_v3_no_statement_is_no_bill_and_a_bill_in_the_making_is_not_ready(wechat):
    tradebill(wechat, {'code': 'NO_STATEMENT_EXIST', 'message': '账单文件不存在'}, status=400)
    assert bill.download(BILL_DATE) == NoBill('wechatpay', BILL_DATE)
    assert bill.download(BILL_DATE).totals == {'count': 0, 'fee': 0}
    tradebill(wechat, {'code': 'STATEMENT_CREATING', 'message': '账单生成中'}, status=400)
    with pytest.raises(ProviderError) as later:
        bill.download(BILL_DATE)
    assert later.value.code == 'not_ready' and later.value.retryable


def test_v3_tradebill_reply_must_be_signed_by_wechat_pay(wechat, wechatpay_keys):
    wechat.v3('GET', '/v3/bill/tradebill', body=hashed(wechat_text()), key=wechatpay_keys.merchant)
    with pytest.raises(ProviderError) as refused:
        bill.download(BILL_DATE)
    assert refused.value.code == 'signature'


def test_the_date_must_be_a_calendar_day(wechat):
    for bad in ('20261122', '2026-11-31', '2026-1-2', None):
        with pytest.raises(ValueError):
            bill.download(bad)


# ---- API v2: downloadbill --------------------------------------------------------------------

@pytest.mark.parametrize('sign_type', ['MD5', 'HMAC-SHA256'])
def test_v2_asks_with_the_compact_date_and_reads_the_gzip_file(wechat, wechatpay_env, sign_type):
    wechatpay_env(version='v2', sign_type=sign_type)
    downloadbill(wechat, gzip.compress(wechat_text().encode()))
    assert bill.download(BILL_DATE) == Bill('wechatpay', BILL_DATE, LINES, TOTALS)
    [sent] = wechat.requests
    assert {k: sent[k] for k in ('bill_date', 'bill_type', 'tar_type', 'sign_type')} == {
        'bill_date': '20261122', 'bill_type': 'ALL', 'tar_type': 'GZIP', 'sign_type': sign_type}


def test_v2_no_bill_exist_is_no_bill_and_other_failures_are_errors(wechat, wechatpay_env):
    wechatpay_env(version='v2')
    downloadbill(wechat, b'<xml><return_code><![CDATA[FAIL]]></return_code>'
                         b'<return_msg><![CDATA[No Bill Exist]]></return_msg>'
                         b'<error_code><![CDATA[20002]]></error_code></xml>')
    assert bill.download(BILL_DATE) == NoBill('wechatpay', BILL_DATE)
    downloadbill(wechat, b'<xml><return_code><![CDATA[FAIL]]></return_code>'
                         b'<return_msg><![CDATA[invalid bill_date]]></return_msg>'
                         b'<error_code><![CDATA[20001]]></error_code></xml>')
    with pytest.raises(ProviderError) as refused:
        bill.download(BILL_DATE)
    assert (refused.value.code, str(refused.value)) == ('20001', 'downloadbill: invalid bill_date')
