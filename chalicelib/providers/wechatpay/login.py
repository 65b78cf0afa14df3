"""Mini program login: a `wx.login` code exchanged for the buyer's openid (auth.code2Session).

Only the openid leaves this module; the session_key in the reply is never
stored, logged or returned. WeChat's refusals become contract Refusals the
mini program can act on.
"""
from chalicelib import outbound
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import Forbidden, InvalidPayer, PayerRefused, RateLimited, Unavailable
from chalicelib.providers.wechatpay import common

FIELD = 'payer.js_code'
ERRORS = {
    40029: (PayerRefused, 'invalid_js_code', 'js_code is invalid or expired; call wx.login again'),
    40163: (PayerRefused, 'js_code_used', 'js_code was already used; call wx.login again'),
    40226: (Forbidden, 'payer_blocked', 'WeChat blocks this user as high-risk'),
    45011: (RateLimited, 'rate_limited', 'too many logins for this user; retry in a minute'),
    -1: (Unavailable, 'wechat_busy', 'WeChat login is busy; retry shortly'),
}


def openid(js_code):
    """The openid for `js_code`, or a Refusal (ProviderError when WeChat answers nonsense)."""
    config = common.config()
    if config.app_secret is None:
        raise InvalidPayer('js_code login is not configured; send payer.openid', FIELD)
    try:
        reply = outbound.request('GET', f'{config.login_url}/sns/jscode2session', params={
            'appid': config.appid, 'secret': config.app_secret.value, 'js_code': js_code,
            'grant_type': 'authorization_code'})
        data = reply.json()
    except ProviderError:
        raise Unavailable('wechat_unreachable', 'WeChat login could not be reached; retry shortly',
                          FIELD) from None
    except ValueError:
        raise ProviderError(f'jscode2session answered HTTP {reply.status_code}') from None
    return _openid(data if isinstance(data, dict) else {})


def _openid(data):
    code = data.get('errcode') or 0
    if code in ERRORS:
        refusal, error, message = ERRORS[code]
        raise refusal(error, message, FIELD)
    if code or not data.get('openid'):
        raise ProviderError(f'jscode2session failed with errcode {code}')
    return data['openid']
