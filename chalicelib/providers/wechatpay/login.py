"""Mini program login: a `wx.login` code exchanged for the buyer's openid (auth.code2Session).

Only the openid leaves this module; the session_key in the reply is never
stored, logged or returned.
"""
from chalicelib import outbound
from chalicelib.errors import ApiError, ProviderError
from chalicelib.providers.wechatpay import common

ERRORS = {
    40029: (400, 'invalid_js_code', 'js_code is invalid or expired; call wx.login again'),
    40163: (400, 'js_code_used', 'js_code was already used; call wx.login again'),
    40226: (403, 'payer_blocked', 'WeChat blocks this user as high-risk'),
    45011: (429, 'rate_limited', 'too many logins for this user; retry in a minute'),
    -1: (503, 'wechat_busy', 'WeChat login is busy; retry shortly'),
}


def openid(js_code):
    """The openid for `js_code`, or an ApiError the mini program can act on."""
    config = common.config()
    if config.app_secret is None:
        raise ApiError(400, 'invalid_request', 'js_code login is not configured; send payer.openid',
                       'payer.js_code')
    try:
        reply = outbound.request('GET', f'{config.login_url}/sns/jscode2session', params={
            'appid': config.appid, 'secret': config.app_secret.value, 'js_code': js_code,
            'grant_type': 'authorization_code'})
        data = reply.json()
    except ProviderError:
        raise ApiError(503, 'wechat_unreachable',
                       'WeChat login could not be reached; retry shortly') from None
    except ValueError:
        raise ApiError(502, 'provider_error', f'jscode2session answered HTTP {reply.status_code}') from None
    return _openid(data if isinstance(data, dict) else {})


def _openid(data):
    code = data.get('errcode') or 0
    if code in ERRORS:
        status, error, message = ERRORS[code]
        raise ApiError(status, error, message, 'payer.js_code')
    if code or not data.get('openid'):
        raise ApiError(502, 'provider_error', f'jscode2session failed with errcode {code}')
    return data['openid']
