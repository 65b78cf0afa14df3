"""WeChat Pay's trade bill (交易账单, bill type ALL): download it (API v3 or v2) and read it.

The file is UTF-8 text (a BOM and CRLF line ends occur), comma-separated:

    交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,...,费率备注
    `2026-11-22 16:01:02,`wx8888888888888888,`1900000109,`0,`,`4200...,`ord_...,...
    总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
    `3,`12.00,`6.00,`0.00,`0.06000,`18.00,`6.00

A header, one line per payment and per refund (every value starts with a
backtick), the summary's header and its one line of values. Amounts are
yuan; fees (手续费) have five decimals but are whole fen. A payment line has
微信退款单号 and 商户退款单号 `0`; a refund line has 交易状态 REFUND, both
refund numbers, 申请退款金额 (the refund asked for), 退款状态, and a
手续费 that is negative (the fee given back). Columns are found by name.

v3: GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL&tar_type=GZIP
answers {download_url, hash_type SHA1, hash_value} (signed); a signed GET of
download_url answers the gzip file, unsigned: the SHA1 of the unzipped file
must be hash_value. NO_STATEMENT_EXIST means no bill (nothing paid or
refunded that day), STATEMENT_CREATING not yet.
v2: POST /pay/downloadbill (bill_date yyyyMMdd, bill_type ALL, tar_type
GZIP) answers the file itself, or XML with return_code FAIL; `No Bill Exist`
(error_code 20002) means no bill.

totals: count (总交易单数), amount (订单总金额), refund_amount (申请退款总金额),
fee (手续费总金额: net of fees given back).
"""
import gzip
import hashlib
import zlib

from chalicelib.errors import ProviderError
from chalicelib.providers import bill
from chalicelib.providers.bill import PAYMENT, REFUND, BillError, BillLine
from chalicelib.providers.wechatpay import common, v2, v3, xmlfields

COLUMNS = ('交易时间', '微信订单号', '商户订单号', '交易状态', '微信退款单号', '商户退款单号',
           '退款状态', '手续费', '订单金额', '申请退款金额')
SUMMARY = '总交易单数'
TOTALS = {'count': '总交易单数', 'amount': '订单总金额', 'refund_amount': '申请退款总金额',
          'fee': '手续费总金额'}
NO_REFUND = ('', '0')
SUCCESS = 'SUCCESS'
V2_NO_BILL_MESSAGE, V2_NO_BILL_CODE = 'No Bill Exist', '20002'


def download(date, version=None):
    """The ALL bill of China day `date` (YYYY-MM-DD), through API `version` (default: configured)."""
    bill.check_date(date)
    version = version or common.config().api_version
    raw = _v3_file(date) if version == 'v3' else _v2_file(date)
    if raw is None:
        return bill.NoBill(common.NAME, date)
    lines, totals = parse(_text(raw))
    return bill.Bill(common.NAME, date, lines, totals)


def parse(text):
    """(lines, totals) of a bill file's text."""
    rows = text.lstrip('\ufeff').splitlines()
    while rows and not rows[-1].strip():
        rows.pop()
    if not rows:
        raise BillError('the bill file is empty')
    header = rows[0].split(',')
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise BillError(f'line 1: the header has no {", ".join(missing)}')
    column = {name: position for position, name in enumerate(header)}
    end = next((n for n, row in enumerate(rows) if row.startswith(SUMMARY)), None)
    if end is None:
        raise BillError(f'no summary line ({SUMMARY},...): the file is cut short')
    if len(rows) != end + 2:
        number = end + 2 if len(rows) < end + 2 else end + 3
        raise BillError(f'line {number}: expected exactly one line of summary values')
    lines = tuple(_line(_values(rows[n], len(header), n + 1), column, n + 1) for n in range(1, end))
    return lines, _totals(rows[end].split(','), rows[end + 1], end + 2)


def _values(row, count, number):
    """The backtick-prefixed values of one line (a comma inside a value does not split it)."""
    if not row.startswith('`'):
        raise BillError(f'line {number}: values do not start with a backtick: {row[:40]!r}')
    values = row[1:].split(',`')
    if len(values) != count:
        raise BillError(f'line {number}: {len(values)} values, the header names {count}')
    return values


def _line(values, column, number):
    def value(name):
        return values[column[name]]

    where = f'line {number}'
    if not value('商户订单号') or not value('微信订单号'):
        raise BillError(f'{where}: no 商户订单号 or 微信订单号')
    known = {'out_trade_no': value('商户订单号'), 'provider_trade_no': value('微信订单号'),
             'fee': bill.fen(value('手续费'), f'{where} 手续费'),
             'time': bill.utc_time(value('交易时间'), where)}
    refund_id = value('微信退款单号')
    if refund_id in NO_REFUND:
        return BillLine(PAYMENT, amount=_positive(value('订单金额'), f'{where} 订单金额'),
                        status=value('交易状态'), succeeded=value('交易状态') == SUCCESS, **known)
    if value('交易状态') != 'REFUND':
        raise BillError(f'{where}: refund {refund_id} with 交易状态 {value("交易状态")!r}')
    return BillLine(REFUND, amount=_positive(value('申请退款金额'), f'{where} 申请退款金额'),
                    status=value('退款状态'), refund_no=value('商户退款单号'),
                    provider_refund_id=refund_id, succeeded=value('退款状态') == SUCCESS, **known)


def _positive(text, where):
    amount = bill.fen(text, where)
    if amount <= 0:
        raise BillError(f'{where}: {text} is not a positive amount')
    return amount


def _totals(names, row, number):
    values = _values(row, len(names), number)
    stated = dict(zip(names, values))
    missing = [name for name in TOTALS.values() if name not in stated]
    if missing:
        raise BillError(f'line {number - 1}: the summary has no {", ".join(missing)}')
    if not stated[SUMMARY].isdigit():
        raise BillError(f'line {number}: {SUMMARY} {stated[SUMMARY]!r} is not a count')
    return {key: int(stated[name]) if name == SUMMARY else bill.fen(stated[name], f'line {number} {name}')
            for key, name in TOTALS.items()}


def _v3_file(date):
    """The unzipped file once its SHA1 matches, or None when WeChat Pay has no bill that day."""
    try:
        reply = v3.get(f'/v3/bill/tradebill?bill_date={date}&bill_type=ALL&tar_type=GZIP')
    except ProviderError as exc:
        if exc.code == 'NO_STATEMENT_EXIST':
            return None
        if exc.code == 'STATEMENT_CREATING':
            raise bill.not_ready(f'WeChat Pay is still making the bill of {date}') from None
        raise
    if reply.get('hash_type') != 'SHA1' or not reply.get('hash_value') or not reply.get('download_url'):
        raise ProviderError('tradebill answered without download_url and a SHA1 hash_value')
    content = _gunzip(v3.fetch(reply['download_url']))
    if hashlib.sha1(content).hexdigest() != str(reply['hash_value']).lower():
        raise ProviderError(f'the bill of {date} does not have the SHA1 WeChat Pay gave',
                            code='hash', retryable=True)
    return content


def _v2_file(date):
    """The unzipped file, or None when WeChat Pay has no bill that day."""
    reply = v2.post('/pay/downloadbill', {'bill_date': date.replace('-', ''), 'bill_type': 'ALL',
                                          'tar_type': 'GZIP'})
    if reply.status_code != 200:
        raise ProviderError(f'downloadbill answered HTTP {reply.status_code}', retryable=True)
    if not reply.content.lstrip().startswith(b'<xml'):
        return _gunzip(reply.content)
    try:
        fields = xmlfields.parse(reply.content)
    except xmlfields.XMLError as exc:
        raise ProviderError(f'downloadbill: unreadable reply: {exc}', retryable=True) from None
    message, code = fields.get('return_msg', ''), fields.get('error_code', '')
    if message == V2_NO_BILL_MESSAGE or code == V2_NO_BILL_CODE:
        return None
    raise ProviderError(f'downloadbill: {message or "return_code FAIL"}', code=code or 'return_code')


def _gunzip(data):
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise BillError(f'the bill file is not gzip as asked: {exc}') from None


def _text(raw):
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise BillError(f'the bill file is not UTF-8: {exc}') from None
