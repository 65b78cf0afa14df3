"""Midas game coins (游戏币) as Midas offers them: balance, deduct, roll back, present.

Coins are counted in the app's own unit; a product's coin price is its
catalog price at PAYGATE_MIDAS_COINS_PER_YUAN (the ratio set for the app in
the Midas console). A deduction (pay_m) is named by a billno: the same billno
never deducts twice. Paygate uses the order's out_trade_no as the billno, so
cancel_pay_m can name the deduction it rolls back.
"""
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import NotSupported
from chalicelib.providers.midas import api
from chalicelib.providers.midas.common import config, login

BALANCE_FIELDS = ('balance', 'gen_balance', 'first_save', 'save_amt')


def balance(payer_login):
    """get_balance_m: balance (gifted coins included), gen_balance, first_save, save_amt."""
    data = api.call('get_balance_m', payer_login)
    return {name: data.get(name) for name in BALANCE_FIELDS}


def coins_for(fen):
    """The coin price of `fen` at the configured ratio; NotSupported when it is not a whole coin."""
    rate = config().coins_per_yuan
    if fen * rate % 100:
        raise NotSupported('price_not_whole_coins',
                           f'{fen} fen is not a whole number of coins at {rate} coins per yuan', 'product_id')
    return fen * rate // 100


def deduct(payer_login, billno, coins):
    """pay_m: take `coins` from the payer under `billno`; Midas's answer."""
    reply = api.call('pay_m', payer_login, {'amt': str(coins), 'billno': billno})
    if str(reply.get('billno', billno)) != billno:
        raise ProviderError(f'pay_m answered for another billno {reply.get("billno")!r}')
    return reply


def cancel(order):
    """cancel_pay_m for a coin order; `order['payer']` must carry the payer's full login."""
    extra = {'amt': str(order['provider_data']['coins']), 'billno': order['out_trade_no']}
    api.call('cancel_pay_m', login(order['payer']), extra)


def present(payer_login, billno, coins, extra):
    """present_m: give the payer `coins` under `billno` (with discountid / giftid in `extra`)."""
    return api.call('present_m', payer_login, {'presenttimes': str(coins), 'billno': billno, **extra})
