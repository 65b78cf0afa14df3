"""POST /orders with provider midas: buy_goods_m on the wire, what is stored, errors."""
import pytest
from urllib.parse import urlsplit

from tests import table
from tests.helpers import PUBLISHABLE, body_json, midas_sig, post_json
from tests.midas_fixtures import APPID, APPKEY, COOKIES, PAYER, buy_goods_answer, expect

pytestmark = pytest.mark.usefixtures('midas_env')


def order_body(product_id='gold_60', payer=None, **extra):
    return {'provider': 'midas', 'product_id': product_id, 'payer': payer or PAYER, **extra}


def test_buy_goods_m_request_and_client_params(client, http_mock):
    calls = []
    expect(http_mock, 'buy_goods_m', buy_goods_answer, calls)
    response = post_json(client, '/orders', order_body(client_ip='203.0.113.7'))
    assert response.status_code == 201, response.body
    order = body_json(response)
    [(request, params)] = calls
    assert request.method == 'GET' and urlsplit(request.url).path == '/mpay/buy_goods_m'
    assert set(params) == {'openid', 'openkey', 'appid', 'ts', 'pf', 'pfkey', 'zoneid', 'format', 'payitem',
                           'goodsmeta', 'goodsurl', 'appmode', 'app_metadata', 'userip', 'sig'}
    assert params['payitem'] == 'g001*60*1'
    assert params['goodsmeta'] == '金币*60个金币'
    assert (params['goodsurl'], params['appmode'], params['format']) == ('', '1', 'json')
    assert params['app_metadata'] == order['out_trade_no']
    assert (params['appid'], params['openkey'], params['pfkey']) == (APPID, PAYER['openkey'], PAYER['pfkey'])
    assert params['userip'] == '203.0.113.7'
    assert params['sig'] == midas_sig('GET', '/v3/r/mpay/buy_goods_m', params, APPKEY)
    assert '&goodsmeta=%E9%87%91%E5%B8%81%2A60%E4%B8%AA%E9%87%91%E5%B8%81&' in request.url
    assert request.headers['Cookie'] == COOKIES['qq'].format(api='buy_goods_m')
    token = 'TOKEN' + order['out_trade_no']
    assert order['client_params'] == {
        'token': token, 'url_params': f'/v1/r/{APPID}/mobile_goods_info?token_id={token}',
        'payitem': 'g001*60*1'}
    assert order['amount'] == 600 and order['status'] == 'CREATED'


def test_only_openid_zoneid_pf_and_login_type_are_stored(client, http_mock):
    expect(http_mock, 'buy_goods_m', buy_goods_answer)
    order = body_json(post_json(client, '/orders', order_body()))
    stored = table.order(order['order_id'])
    assert stored['payer'] == {'openid': PAYER['openid'], 'zoneid': '1', 'pf': PAYER['pf'], 'login_type': 'qq'}
    assert stored['provider_data'] == {'mode': 'item', 'token': 'TOKEN' + order['out_trade_no'],
                                       'payitem': 'g001*60*1'}
    assert PAYER['openkey'] not in repr(stored) and PAYER['pfkey'] not in repr(stored)
    assert table.lookup('midas#token#TOKEN' + order['out_trade_no']) == order['out_trade_no']


@pytest.mark.parametrize('login_type', ['qq', 'wx', 'guest'])
def test_cookie_bytes_per_login_type(client, http_mock, login_type):
    calls = []
    expect(http_mock, 'buy_goods_m', buy_goods_answer, calls)
    post_json(client, '/orders', order_body(payer={**PAYER, 'login_type': login_type}))
    assert calls[0][0].headers['Cookie'] == COOKIES[login_type].format(api='buy_goods_m')


def test_org_loc_can_name_the_signature_path(client, http_mock, midas_env):
    from tests.conftest import reset_caches
    midas_env.setenv('PAYGATE_MIDAS_ORG_LOC', 'sig_path')
    reset_caches()
    calls = []
    expect(http_mock, 'buy_goods_m', buy_goods_answer, calls)
    post_json(client, '/orders', order_body(payer={**PAYER, 'login_type': 'wx'}))
    assert calls[0][0].headers['Cookie'] == \
        'session_id=hy_gameid; session_type=wc_actoken; org_loc=%2Fv3%2Fr%2Fmpay%2Fbuy_goods_m'


def test_quantity_role_id_and_default_goodsmeta(client, http_mock):
    calls = []
    expect(http_mock, 'buy_goods_m', buy_goods_answer, calls)
    payer = {**PAYER, 'zoneid': '2', 'roleid': '勇者-7'}
    response = post_json(client, '/orders', order_body('plain', payer, quantity=3))
    assert response.status_code == 201
    request, params = calls[0]
    assert params['payitem'] == 'p1*10*3' and body_json(response)['amount'] == 300
    assert params['goodsmeta'] == 'Plain*no goodsmeta'
    # 查询余额接口: the role id is URL-encoded before it is joined to the zone id with '_'.
    assert params['zoneid'] == '2_%E5%8B%87%E8%80%85-7'
    assert '&zoneid=2_%25E5%258B%2587%25E8%2580%2585-7&' in request.url
    assert params['sig'] == midas_sig('GET', '/v3/r/mpay/buy_goods_m', params, APPKEY)
    assert 'userip' not in params


def test_a_price_that_is_not_a_whole_q_point_is_refused(client, http_mock):
    response = post_json(client, '/orders', order_body('odd_15'))
    assert response.status_code == 422
    assert body_json(response)['error']['code'] == 'price_not_whole_qpoints'
    assert len(http_mock.calls) == 0


def test_a_product_without_a_midas_item_id_is_refused(client, http_mock):
    response = post_json(client, '/orders', order_body('not_midas'))
    assert response.status_code == 422
    assert 'item_id' in body_json(response)['error']['message']


def test_out_trade_no_with_a_star_is_refused_and_not_kept(client, http_mock):
    response = post_json(client, '/orders', order_body(out_trade_no='abc*12345'))
    assert response.status_code == 400
    assert body_json(response)['error']['field'] == 'out_trade_no'
    assert table.order_by_trade_no('abc*12345') is None


@pytest.mark.parametrize('change, field', [
    ({'openkey': ''}, 'payer.openkey'), ({'openid': None}, 'payer.openid'), ({'pfkey': None}, 'payer.pfkey'),
    ({'login_type': 'weibo'}, 'payer.login_type'), ({'pf': 'a\nb'}, 'payer.pf'),
    ({'zoneid': 'x' * 513}, 'payer.zoneid'),
])
def test_a_bad_payer_is_400_before_anything_is_asked(client, http_mock, change, field):
    payer = {k: v for k, v in {**PAYER, **change}.items() if v is not None}
    response = post_json(client, '/orders', order_body(payer=payer))
    assert response.status_code == 400
    assert body_json(response)['error']['field'] == field


@pytest.mark.parametrize('answer, status, code', [
    ({'ret': 1018, 'msg': '登录校验失败'}, 401, 'relogin_required'),
    ({'ret': 1001, 'msg': '参数错误'}, 400, 'invalid_request'),
    ({'ret': 4, 'msg': '请求参数错误：（sig）'}, 502, 'provider_error'),
    ({'ret': 1, 'msg': '系统繁忙'}, 502, 'provider_unavailable'),
    ({'ret': 0, 'url_params': '/v1/x'}, 502, 'provider_error'),
    ('<html>busy</html>', 502, 'provider_unavailable'),
])
def test_midas_refusals_are_clear_and_leave_no_order(client, http_mock, answer, status, code):
    expect(http_mock, 'buy_goods_m', answer)
    response = post_json(client, '/orders', order_body(out_trade_no='midas-order-1'))
    assert response.status_code == status
    assert body_json(response)['error']['code'] == code
    assert table.order_by_trade_no('midas-order-1') is None


def test_retry_with_a_refreshed_login_returns_the_same_order(client, http_mock):
    expect(http_mock, 'buy_goods_m', buy_goods_answer)
    first = post_json(client, '/orders', order_body(out_trade_no='midas-order-2'))
    again = post_json(client, '/orders', order_body(payer={**PAYER, 'openkey': 'NEWPAYTOKEN'},
                                                    out_trade_no='midas-order-2'))
    assert (first.status_code, again.status_code) == (201, 200)
    assert body_json(again)['order_id'] == body_json(first)['order_id']
    other = post_json(client, '/orders', order_body(payer={**PAYER, 'openid': 'SOMEONE'},
                                                    out_trade_no='midas-order-2'))
    assert other.status_code == 409


def test_the_appkey_is_never_logged(client, http_mock, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    expect(http_mock, 'buy_goods_m', {'ret': 1, 'msg': 'busy'})
    post_json(client, '/orders', order_body())
    assert APPKEY not in caplog.text and PAYER['openkey'] not in caplog.text


def test_midas_disabled_is_an_unknown_provider(client, http_mock, midas_env):
    from tests.conftest import reset_caches
    midas_env.setenv('PAYGATE_PROVIDERS', 'codepay')
    reset_caches()
    response = post_json(client, '/orders', order_body())
    assert response.status_code == 400
    assert client.http.get('/midas/balance', headers=PUBLISHABLE).status_code == 404
