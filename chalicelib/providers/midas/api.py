"""Calls to the Midas server APIs, signed with OpenAPI V3 (docs/providers/midas.md).

Every call sends the payer's YSDK login (openid, openkey, pf, pfkey, zoneid),
our offerid as `appid`, `ts` and `sig`, plus the login cookie. The signature
path is `/v3/r` + the HTTP path. The HTTP method is the one the official SDK
uses for each API, and the signature is made over that same method.
"""
from chalicelib import clock, outbound, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import InsufficientFunds, InvalidPayer, LoginExpired
from chalicelib.providers.midas import sign

METHODS = {'buy_goods_m': 'GET', 'get_balance_m': 'GET', 'pay_m': 'POST',
           'cancel_pay_m': 'POST', 'present_m': 'POST'}
SESSIONS = {'qq': ('openid', 'kp_actoken'), 'wx': ('hy_gameid', 'wc_actoken'),
            'guest': ('hy_gameid', 'st_dummy')}
INSUFFICIENT_BALANCE = 1004
LOGIN_EXPIRED = 1018
BAD_PARAMETERS = 1001
BUSY = 1


class MidasError(ProviderError):
    """Midas answered with `ret` != 0."""

    def __init__(self, api, ret, msg):
        super().__init__(f'{api} ret {ret}: {msg}', code=str(ret), retryable=ret == BUSY)
        self.ret = ret


def cookie(login_type, path, org_loc_form):
    """The Cookie header for a login type: session_id, session_type, org_loc, values URL-encoded."""
    session_id, session_type = SESSIONS[login_type]
    org_loc = '/v3/r' + path if org_loc_form == 'sig_path' else path
    return '; '.join(f'{name}={sign.encode(value)}' for name, value in
                     (('session_id', session_id), ('session_type', session_type), ('org_loc', org_loc)))


def signed_params(api, login, extra, config, now):
    params = {'openid': login['openid'], 'openkey': login['openkey'], 'appid': config.appid,
              'ts': str(int(now.timestamp())), 'pf': login['pf'], 'pfkey': login['pfkey'],
              'zoneid': login['zoneid'], 'format': 'json', **extra}
    params['sig'] = sign.sign(METHODS[api], f'/v3/r/mpay/{api}', params, config.appkey.value)
    return params


def call(api, login, extra=None):
    """Call /mpay/<api> for the payer `login`; the reply's JSON object when `ret` is 0.

    Raises a Refusal the payer can act on (not enough coins, a login to renew,
    parameters refused), MidasError for Midas's other refusals, ProviderError
    (retryable) when Midas cannot be reached or answers something unreadable.
    """
    config = settings.get().provider('midas')
    path = f'/mpay/{api}'
    params = signed_params(api, login, extra or {}, config, clock.now())
    query = '&'.join(f'{key}={sign.encode(value)}' for key, value in params.items())
    headers = {'Cookie': cookie(login['login_type'], path, config.org_loc)}
    if METHODS[api] == 'GET':
        reply = outbound.request('GET', f'{config.base_url}{path}?{query}', headers=headers)
    else:
        headers['Content-Type'] = 'application/x-www-form-urlencoded'
        reply = outbound.request('POST', f'{config.base_url}{path}', data=query.encode('ascii'),
                                 headers=headers)
    return _result(api, reply)


def _result(api, reply):
    try:
        data = reply.json()
    except ValueError:
        raise ProviderError(f'{api}: non-JSON reply (HTTP {reply.status_code})', retryable=True) from None
    if not isinstance(data, dict) or isinstance(data.get('ret'), bool) or not isinstance(data.get('ret'), int):
        raise ProviderError(f'{api}: reply without a numeric ret (HTTP {reply.status_code})', retryable=True)
    if data['ret'] != 0:
        raise _refusal(MidasError(api, data['ret'], str(data.get('msg', ''))))
    return data


def _refusal(exc):
    """What the payer can act on, named; any other refusal stays a MidasError (the provider's)."""
    if exc.ret == INSUFFICIENT_BALANCE:
        return InsufficientFunds('insufficient_balance', 'the payer does not have enough game coins')
    if exc.ret == LOGIN_EXPIRED:
        return LoginExpired('relogin_required',
                            "Midas refused the payer's login (1018): log in again with YSDK and retry")
    if exc.ret == BAD_PARAMETERS:
        return InvalidPayer(f'Midas refused the parameters: {exc}')
    return exc
