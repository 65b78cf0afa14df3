"""GET /notify/midas: Tencent's delivery (发货) callback, verified and read.

Signed over every received parameter (sig excepted) with the callback's extra
value encoding and the path configured as the 发货 URL (sign.callback_sign).
The order is named by the appmeta prefix (our out_trade_no, before the first
`*`); a callback without appmeta by its token (a lookup). The token and the
items bought must be the order's, deduped by billno.

A buyer may pay with Q点/Q币/财付通 (`amt`, in 0.1 Q点 = fen), game coins
(`payamt_coins`, Q点) and vouchers (`pubacct_payamt_coins`, Q点), mixed, each
possibly empty: the callback is accepted when `amt` alone is the price of its
payitem (Tencent's worked example), or when the three parts add up to it; the
split is kept on the order.
Answers are JSON: {"ret":0,"msg":"OK"}, or ret 1/3/4 with Tencent's messages.
"""
import json
import re
from dataclasses import dataclass
from decimal import Decimal

from chalicelib import money, signing
from chalicelib.providers.contract import PAID, Expect, Notification, Rejected, Reply
from chalicelib.providers.midas import sign
from chalicelib.providers.midas.common import NAME, config, token_lookup

__all__ = ('NAME', 'SUCCESS', 'notification_keys', 'parse_notification', 'failure')

_PAYITEM = re.compile(r'\A([^*;]{1,64})\*([0-9]{1,9}(?:\.[0-9]{1,6})?)\*([1-9][0-9]{0,8})\Z')
PAYMENT_PARTS = {'amt': 1, 'payamt_coins': money.FEN_PER_QPOINT, 'pubacct_payamt_coins': money.FEN_PER_QPOINT}
DEFAULT_PARAMS = {Rejected.SIGNATURE: 'sig', Rejected.AMOUNT: 'amt', Rejected.MERCHANT: 'appid'}


def _reply(status, ret, msg):
    """Compact UTF-8 JSON, separators (',', ':'), no ASCII escaping: {"ret":0,"msg":"OK"} exactly."""
    body = json.dumps({'ret': ret, 'msg': msg}, ensure_ascii=False, separators=(',', ':'))
    return Reply(status, body, 'application/json; charset=utf-8')


SUCCESS = _reply(200, 0, 'OK')
BUSY = _reply(500, 1, '系统繁忙')
UNKNOWN_TOKEN = _reply(400, 3, 'token不存在')


@dataclass(frozen=True)
class Keys:
    appid: str
    appkey: str
    callback_path: str


def notification_keys(inbound):
    midas = config()
    return Keys(midas.appid, midas.appkey.value, midas.callback_path)


def parse_notification(inbound, keys, now):
    params = _single_values(inbound.query)
    received = params.pop('sig', '')
    expected = sign.callback_sign(inbound.method, keys.callback_path, params, keys.appkey)
    # A Base64 sig never holds a space: a '+' decoded as a space by a proxy is put back.
    if not received or not signing.equal(received.replace(' ', '+'), expected):
        raise Rejected(Rejected.SIGNATURE, f'bad sig on billno {params.get("billno")!r}', 'sig')
    if params.get('appid') != keys.appid:
        raise Rejected(Rejected.MERCHANT, f'appid {params.get("appid")!r} is not our offerid', 'appid')
    billno, token = params.get('billno', ''), params.get('token', '')
    if not billno:
        raise Rejected(Rejected.MALFORMED, 'billno is missing', 'billno')
    if not token:
        raise Rejected(Rejected.UNKNOWN_ORDER, 'token is missing', 'token')
    split = payment_split(params)
    payitem, price = canonical_payitem(params.get('payitem', ''))
    out_trade_no = params.get('appmeta', '').split('*', 1)[0]
    paid = paid_total(split, price)
    return Notification(
        event_id=billno, kind=PAID, out_trade_no=out_trade_no,
        lookup='' if out_trade_no else token_lookup(token), amount=paid, provider_trade_no=billno,
        expected=(Expect('token', token, Rejected.UNKNOWN_ORDER, 'token'),
                  Expect('payitem', payitem, Rejected.AMOUNT, 'payitem')),
        recorded={'paid_amount': paid, 'payment_split': split})


def _single_values(pairs):
    params = {}
    for key, value in pairs:
        if key in params:
            raise Rejected(Rejected.MALFORMED, f'parameter {key!r} appears twice', key)
        params[key] = value
    return params


def payment_split(params):
    """The callback's payment parts in fen: amt is in 0.1 Q点 (= fen), coins and vouchers in Q点;
    an empty or absent part is 0."""
    split = {}
    for name, fen_per_unit in PAYMENT_PARTS.items():
        try:
            split[name] = money.fen_from_integer_string(params.get(name) or '0') * fen_per_unit
        except money.MoneyError as exc:
            raise Rejected(Rejected.MALFORMED, f'{name}: {exc}', name) from None
    return split


def paid_total(split, price):
    """What the buyer paid for items of `price` fen: the price when amt alone is the price or the
    three parts together are; otherwise the three parts, which the order's amount then refuses."""
    if split['amt'] == price or sum(split.values()) == price:
        return price
    return sum(split.values())


def canonical_payitem(payitem):
    """(payitem as Paygate writes it, the items' price in fen): `id*price*num;...`, prices in whole
    Q点, so `g001*60.0*1` reads as `g001*60*1`."""
    items = []
    for part in payitem.split(';'):
        match = _PAYITEM.match(part)
        price = Decimal(match[2]) if match else None
        if price is None or price != price.to_integral_value():
            raise Rejected(Rejected.AMOUNT, f'payitem {payitem!r} is not id*price*num', 'payitem')
        items.append((match[1], int(price), int(match[3])))
    total = sum(price * num for _, price, num in items) * money.FEN_PER_QPOINT
    return ';'.join(f'{item}*{price}*{num}' for item, price, num in items), total


def failure(rejected):
    """ret 3 for a token that is not ours, ret 1 for our own fault, ret 4 naming the bad parameter."""
    if rejected.code == Rejected.UNKNOWN_ORDER:
        return UNKNOWN_TOKEN
    if rejected.code == Rejected.INTERNAL:
        return BUSY
    param = rejected.param or DEFAULT_PARAMS.get(rejected.code, rejected.code)
    return _reply(400, 4, f'请求参数错误：（{param}）')
