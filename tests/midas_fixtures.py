"""Midas settings for the tests, YSDK payers, and Midas's servers mocked at the transport."""
import json
from urllib.parse import parse_qsl, quote, urlsplit

from tests.helpers import midas_callback_sig

APPID = '1450000000'
APPKEY = 'MidasTestAppKey0123456789abcdefX'
URL = 'https://ysdktest.test'
CATALOG = [
    {'id': 'gold_60', 'name': '60 金币', 'price': 600, 'description': '60 gold coins',
     'providers': {'midas': {'item_id': 'g001', 'goodsmeta': '金币*60个金币'}}},
    {'id': 'plain', 'name': 'Plain', 'price': 100, 'description': 'no goodsmeta',
     'providers': {'midas': {'item_id': 'p1'}}},
    {'id': 'odd_15', 'name': '半价', 'price': 15, 'providers': {'midas': {'item_id': 'g015'}}},
    {'id': 'not_midas', 'name': 'Codepay only', 'price': 600},
]
PAYER = {'openid': 'OPENID00000000000000000000000001', 'openkey': 'PAYTOKEN0000000000000000000001',
         'pf': 'desktop_m_qq-2001-android-2011-ysdk', 'pfkey': 'PFKEY000000000000001',
         'login_type': 'qq', 'zoneid': '1'}
# The HTTP method the official YSDK SDK uses for each API (and signs over).
METHODS = {'buy_goods_m': 'GET', 'get_balance_m': 'GET', 'pay_m': 'POST', 'cancel_pay_m': 'POST',
           'present_m': 'POST'}
COOKIES = {
    'qq': 'session_id=openid; session_type=kp_actoken; org_loc=%2Fmpay%2F{api}',
    'wx': 'session_id=hy_gameid; session_type=wc_actoken; org_loc=%2Fmpay%2F{api}',
    'guest': 'session_id=hy_gameid; session_type=st_dummy; org_loc=%2Fmpay%2F{api}',
}


def midas_environment():
    """The settings that enable Midas in the test stage (see the midas_env fixture)."""
    return {'PAYGATE_PROVIDERS': 'codepay,midas', 'PAYGATE_MIDAS_APPID': APPID,
            'PAYGATE_MIDAS_APPKEY': APPKEY, 'PAYGATE_MIDAS_ENV': 'sandbox', 'PAYGATE_MIDAS_URL': URL,
            'PAYGATE_CATALOG': json.dumps(CATALOG, ensure_ascii=False)}


def params_of(request):
    """The parameters of a request to Midas: query string, or form body for POST."""
    text = urlsplit(request.url).query if request.method == 'GET' else request.body.decode('ascii')
    return dict(parse_qsl(text, keep_blank_values=True))


def expect(http_mock, name, answer=None, calls=None, status=200):
    """Answer /mpay/<name> with `answer` (a dict, or a function of the params); record the calls."""
    def reply(request):
        params = params_of(request)
        if calls is not None:
            calls.append((request, params))
        data = answer(params) if callable(answer) else answer
        return status, {}, data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    http_mock.add_callback(METHODS[name], f'{URL}/mpay/{name}', callback=reply)


def buy_goods_answer(params):
    return {'ret': 0, 'token': 'TOKEN' + params['app_metadata'], 'attach': '',
            'url_params': f'/v1/r/{APPID}/mobile_goods_info?token_id=TOKEN{params["app_metadata"]}'}


def delivery(order, appkey=APPKEY, path='/notify/midas', **change):
    """The delivery callback Tencent sends for a paid item order, signed; `change` edits fields
    (None removes one) before signing."""
    fields = {'openid': PAYER['openid'], 'appid': APPID, 'ts': '1763780000', 'payitem': 'g001*60*1',
              'token': order['client_params']['token'], 'billno': '-APPDJSX21374-20251122-1512345678',
              'version': 'v3', 'zoneid': '1', 'providetype': '5', 'amt': '600', 'payamt_coins': '0',
              'pubacct_payamt_coins': '', 'appmeta': order['out_trade_no'] + '*qdqb*qq',
              'clientver': 'android', 'channel_id': '73213123-android-73213123-qq-1104466820'}
    fields.update(change)
    fields = {k: v for k, v in fields.items() if v is not None}
    fields['sig'] = midas_callback_sig(path, fields, appkey)
    return fields


def query_of(fields):
    """A query string as Tencent sends it: every value percent-encoded (RFC 3986)."""
    return '&'.join(f'{k}={quote(v, safe="")}' for k, v in fields.items())
