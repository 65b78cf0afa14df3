"""Alipay's trade bill: the zip of GBK CSV files parsed exactly; the download URL asked of a
gateway whose answer must verify."""
import pytest

from chalicelib.errors import ProviderError
from chalicelib.providers.alipay import bill
from chalicelib.providers.bill import Bill, BillError, BillLine, NoBill
from tests import alipay_sdk
from tests.alipay_fixtures import expect_gateway
from tests.bill_fixtures import BILL_DATE, alipay_texts, alipay_zip

PAY_1, PAY_2, PAY_3 = ('pg20261122091520a1b2c3d4e5f6', 'pg20261122123955b7c8d9e0f1a2',
                       'pg20261122180340c3d4e5f6a7b8')
TRADE = '20261122220014043705000001'
LINES = (
    BillLine('payment', PAY_1, TRADE + '01', 600, 4, '交易', time='2026-11-22T01:15:30Z'),
    BillLine('payment', PAY_2, TRADE + '02', 3000, 18, '交易', time='2026-11-22T04:40:02Z'),
    BillLine('payment', PAY_3, TRADE + '03', 1800, 11, '交易', time='2026-11-22T10:03:47Z'),
    BillLine('refund', PAY_3, TRADE + '03', 600, -4, '退款', refund_no='rf_partial_0001',
             time='2026-11-22T12:11:09Z'),
    BillLine('refund', PAY_2, TRADE + '02', 3000, -18, '退款', refund_no='rf_full_0002',
             time='2026-11-22T15:58:41Z'),
)
TOTALS = {'count': 5, 'net_amount': 1800, 'fee': 11}
METHOD = 'alipay.data.dataservice.bill.downloadurl.query'
URL = ('https://dwbillcenter.alipay.test/downloadBillFile.resource?bizType=trade&userId=20881011223344550156'
       '&fileType=csv.zip&bizDates=20261122&downloadFileName=20881011223344550156_20261122.csv.zip&fileId=1')


def test_the_bill_zip_is_read_exactly():
    assert bill.parse(alipay_zip()) == (LINES, TOTALS)


def test_utf8_names_and_crlf_line_ends_read_the_same():
    detail, summary = (text.replace('\n', '\r\n') for text in alipay_texts())
    assert bill.parse(alipay_zip(detail, summary, gbk_names=False)) == (LINES, TOTALS)


def detail_with(old, new):
    detail = alipay_texts()[0]
    assert old in detail
    return alipay_zip(detail=detail.replace(old, new, 1))


@pytest.mark.parametrize('zipped, message', [
    (b'PK\x03\x04 not really', 'not a readable zip'),
    (alipay_zip(extra=[('20881011223344550156_20261121_业务明细.csv', '#')]), '2 files named *_业务明细.csv'),
    (detail_with('#-----------------------------------------业务明细列表结束', '#'), 'no "业务明细列表结束" line'),
    (detail_with('交易\t,新手礼包', '充值\t,新手礼包'), "业务明细.csv line 8: 业务类型 '充值' is neither 交易 nor 退款"),
    (detail_with('rf_full_0002\t', '\t'), 'line 10: a refund without 退款批次号/请求号'),
    (detail_with(',-6.00,-6.00,', ',6.00,6.00,'), 'line 9: 订单金额 6.00 has the wrong sign for 退款'),
    (detail_with(',30.00,30.00,', ',-30.00,-30.00,'), 'line 7: 订单金额 -30.00 has the wrong sign for 交易'),
    (detail_with(',-0.04,0.00,', ',-0.035,0.00,'), 'line 6 服务费: not a whole number of fen'),
    (detail_with(',0.00\t,0.00,\t,-0.18', ',0.00\t,\t,-0.18'), 'line 7: 24 values, the header names 25'),
    (detail_with('服务费（元）', '手续费（元）'), 'the header has no 服务费（元）'),
    (detail_with('2026-11-22 12:40:02', '2026-11-22'), "line 7: time '2026-11-22'"),
    (alipay_zip(summary=alipay_texts()[1].replace('合计,,3,', ',,3,')), '0 合计 rows, expected one'),
])
def test_a_malformed_bill_is_refused_naming_the_file_and_line(zipped, message):
    with pytest.raises(BillError) as refused:
        bill.parse(zipped)
    assert message in str(refused.value)


def test_download_asks_for_the_trade_bill_then_reads_the_zip(alipay_env, alipay_keys, http_mock):
    calls = []
    expect_gateway(http_mock, alipay_keys, {METHOD: {'code': '10000', 'msg': 'Success',
                                                     'bill_download_url': URL}}, calls)
    http_mock.add('GET', URL, body=alipay_zip(), content_type='application/oct-stream')
    assert bill.download(BILL_DATE) == Bill('alipay', BILL_DATE, LINES, TOTALS)
    [call] = calls
    assert (call['method'], call['biz']) == (METHOD, {'bill_type': 'trade', 'bill_date': '2026-11-22'})


def test_a_badly_signed_answer_is_refused_and_nothing_is_downloaded(alipay_env, alipay_keys, http_mock):
    forged = alipay_sdk.KeyPair()
    expect_gateway(http_mock, alipay_keys, {METHOD: lambda params: alipay_sdk.answer_json(
        METHOD, {'code': '10000', 'msg': 'Success', 'bill_download_url': URL}, forged)})
    with pytest.raises(ProviderError) as refused:
        bill.download(BILL_DATE)
    assert refused.value.code == 'signature'


@pytest.mark.parametrize('sub_code', ['isp.bill_not_exist', 'BILL_NOT_EXIST'])
def test_bill_not_exist_is_no_bill(alipay_env, alipay_keys, http_mock, sub_code):
    expect_gateway(http_mock, alipay_keys, {METHOD: {'code': '40004', 'msg': 'Business Failed',
                                                     'sub_code': sub_code, 'sub_msg': '账单不存在'}})
    assert bill.download(BILL_DATE) == NoBill('alipay', BILL_DATE)


def test_other_failures_are_errors(alipay_env, alipay_keys, http_mock):
    expect_gateway(http_mock, alipay_keys, {METHOD: {'code': '40004', 'msg': 'Business Failed',
                                                     'sub_code': 'isv.invalid-arguments',
                                                     'sub_msg': '参数不合法'}})
    with pytest.raises(ProviderError) as refused:
        bill.download(BILL_DATE)
    assert refused.value.code == 'isv.invalid-arguments'


@pytest.mark.filterwarnings('ignore:Duplicate name')
def test_a_zip_naming_a_file_twice_is_refused():
    twice = alipay_zip(extra=[('20881011223344550156_20261122_业务明细.csv', alipay_texts()[0])])
    with pytest.raises(BillError, match='two files of the same name'):
        bill.parse(twice)
