"""Alipay's trade bill (业务账单, bill_type `trade`): download it and read it.

alipay.data.dataservice.bill.downloadurl.query (biz_content bill_type
`trade`, bill_date `yyyy-MM-dd`) answers `bill_download_url` (signed and
verified like every answer; `bill_not_exist` means no bill for that day).
The URL gives a zip of two GBK CSV files, named in GBK without the zip's
UTF-8 flag: `<account>_<yyyyMMdd>_业务明细.csv` and `..._业务明细(汇总).csv`.

Both files put `#` comment lines before and after their table:

    #支付宝业务明细查询
    #账号：[20881011223344550156]
    #起始日期：[2026年11月22日 00:00:00]   终止日期：[2026年11月23日 00:00:00]
    #-----------------------------------------业务明细列表----------------------------------------
    支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,...,订单金额（元）,...
    2026112222001404370500000101<TAB>,pg2026...<TAB>,交易<TAB>,60 金币,...
    #-----------------------------------------业务明细列表结束------------------------------------
    #交易合计：... / #退款合计：... / #导出时间：[...]

Text values end with a tab. 业务类型 is 交易 (a payment) or 退款 (a
refund, whose 退款批次号/请求号 is our out_request_no); amounts are signed
as they move the merchant's balance: a refund's 订单金额 is negative, and
服务费 is negative when charged and positive when a refund gives it back.
The summary file's table ends with a `合计` row.

totals: count (交易订单总笔数 + 退款订单总笔数), net_amount (订单金额:
payments less refunds), fee (服务费 charged, net of fees given back).
"""
import csv
import io
import zipfile

from chalicelib import outbound
from chalicelib.errors import ProviderError
from chalicelib.providers import bill
from chalicelib.providers.alipay import gateway
from chalicelib.providers.bill import PAYMENT, REFUND, BillError, BillLine

METHOD = 'alipay.data.dataservice.bill.downloadurl.query'
DETAIL, SUMMARY = '_业务明细.csv', '_业务明细(汇总).csv'
DETAIL_END, SUMMARY_END = '业务明细列表结束', '业务汇总列表结束'
KINDS = {'交易': PAYMENT, '退款': REFUND}
COLUMNS = ('支付宝交易号', '商户订单号', '业务类型', '完成时间', '订单金额（元）', '退款批次号/请求号',
           '服务费（元）')
TOTAL_COLUMNS = ('交易订单总笔数', '退款订单总笔数', '订单金额（元）', '服务费（元）')


def download(date):
    """The trade bill of China day `date` (YYYY-MM-DD)."""
    bill.check_date(date)
    answer = gateway.call(METHOD, {'bill_type': 'trade', 'bill_date': date})
    if answer.sub_code.lower().endswith('bill_not_exist'):
        return bill.NoBill(gateway.NAME, date)
    if not answer.ok:
        raise answer.failure()
    url = answer.data.get('bill_download_url')
    if not url:
        raise ProviderError(f'{METHOD} answered without bill_download_url')
    reply = outbound.request('GET', url)
    if reply.status_code != 200:
        raise ProviderError(f'bill download answered HTTP {reply.status_code}', retryable=True)
    lines, totals = parse(reply.content)
    return bill.Bill(gateway.NAME, date, lines, totals)


def parse(zip_bytes):
    """(lines, totals) of the bill zip as Alipay sends it."""
    files = _files(zip_bytes)
    detail, summary = _one(files, DETAIL), _one(files, SUMMARY)
    return _lines(detail, _text(files[detail], detail)), _totals(summary, _text(files[summary], summary))


def _files(zip_bytes):
    """{name: bytes} of the zip's files; names without the UTF-8 flag are read as GBK."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes), metadata_encoding='gbk') as archive:
            entries = [info for info in archive.infolist() if not info.is_dir()]
            files = {info.filename: archive.read(info) for info in entries}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, UnicodeDecodeError, EOFError) as exc:
        raise BillError(f'the bill is not a readable zip: {exc}') from None
    if len(files) != len(entries):
        raise BillError('the bill zip holds two files of the same name')
    return files


def _one(files, suffix):
    found = [name for name in files if name.endswith(suffix)]
    if len(found) != 1:
        raise BillError(f'the bill zip has {len(found)} files named *{suffix} (it has {sorted(files)})')
    return found[0]


def _text(raw, name):
    try:
        return raw.decode('gb18030')
    except UnicodeDecodeError as exc:
        raise BillError(f'{name}: not GBK text: {exc}') from None


def _table(name, text, end_marker):
    """(header, [(line number, values)]) of the table between the comment lines."""
    rows = list(enumerate(text.splitlines(), start=1))
    if not any(row.startswith('#') and end_marker in row for _, row in rows):
        raise BillError(f'{name}: no "{end_marker}" line: the file is cut short')
    table = [(number, row) for number, row in rows if row.strip() and not row.startswith('#')]
    if not table:
        raise BillError(f'{name}: no table header')
    parsed = [(number, [value.strip() for value in values])
              for (number, _), values in zip(table, csv.reader(row for _, row in table))]
    (_, header), body = parsed[0], parsed[1:]
    header = [value.replace('(', '（').replace(')', '）') for value in header]
    for number, values in body:
        if len(values) != len(header):
            raise BillError(f'{name} line {number}: {len(values)} values, the header names {len(header)}')
    return header, body


def _columns(name, header, wanted):
    missing = [column for column in wanted if column not in header]
    if missing:
        raise BillError(f'{name}: the header has no {", ".join(missing)}')
    return {column: header.index(column) for column in wanted}


def _lines(name, text):
    header, body = _table(name, text, DETAIL_END)
    column = _columns(name, header, COLUMNS)
    return tuple(_line(name, number, {key: values[at] for key, at in column.items()})
                 for number, values in body)


def _line(name, number, value):
    where = f'{name} line {number}'
    kind = KINDS.get(value['业务类型'])
    if kind is None:
        raise BillError(f'{where}: 业务类型 {value["业务类型"]!r} is neither 交易 nor 退款')
    if not value['商户订单号'] or not value['支付宝交易号']:
        raise BillError(f'{where}: no 商户订单号 or 支付宝交易号')
    amount = bill.fen(value['订单金额（元）'], f'{where} 订单金额')
    if (amount <= 0) if kind == PAYMENT else (amount >= 0):
        raise BillError(f'{where}: 订单金额 {value["订单金额（元）"]} has the wrong sign for {value["业务类型"]}')
    if kind == REFUND and not value['退款批次号/请求号']:
        raise BillError(f'{where}: a refund without 退款批次号/请求号')
    return BillLine(kind, out_trade_no=value['商户订单号'], provider_trade_no=value['支付宝交易号'],
                    amount=abs(amount), fee=-bill.fen(value['服务费（元）'], f'{where} 服务费'),
                    status=value['业务类型'], refund_no=value['退款批次号/请求号'] if kind == REFUND else '',
                    time=bill.utc_time(value['完成时间'], where))


def _totals(name, text):
    header, body = _table(name, text, SUMMARY_END)
    column = _columns(name, header, TOTAL_COLUMNS)
    rows = [(number, values) for number, values in body if values[0] == '合计']
    if len(rows) != 1:
        raise BillError(f'{name}: {len(rows)} 合计 rows, expected one')
    number, values = rows[0]
    counts = [values[column['交易订单总笔数']], values[column['退款订单总笔数']]]
    if not all(count.isdigit() for count in counts):
        raise BillError(f'{name} line {number}: 交易/退款订单总笔数 {counts} are not counts')
    where = f'{name} line {number}'
    return {'count': sum(int(count) for count in counts),
            'net_amount': bill.fen(values[column['订单金额（元）']], f'{where} 订单金额'),
            'fee': -bill.fen(values[column['服务费（元）']], f'{where} 服务费')}
