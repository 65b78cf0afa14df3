"""Free login: the authUrl's token, GET /cloudmarket/login/{token}, and the merchant's assertion."""
import hashlib
import hmac
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from chalicelib.cloudmarket import login
from tests.cloudmarket_fixtures import NOW, create_body, deliver, frozen, signed_query  # noqa: F401
from tests.conftest import CLOUDMARKET_LOGIN_SECRET, PUBLIC_URL
from tests.helpers import body_json


@pytest.fixture
def instance(client, frozen):
    answer = body_json(deliver(client, create_body()))
    path = answer['appInfo']['authUrl'][len(PUBLIC_URL):]
    return answer['signId'], path


def open_login(client, path, query=None):
    return client.http.get(path + ('?' + urlencode(query) if query else ''))


def merchant_hmac(expires, sign_id, secret=CLOUDMARKET_LOGIN_SECRET):
    """What the merchant recomputes: hex HMAC-SHA256(secret, "<expires>.<signId>")."""
    return hmac.new(secret.encode(), f'{expires}.{sign_id}'.encode(), hashlib.sha256).hexdigest()


def redirected_params(response):
    assert response.status_code == 302, response.body
    location = urlsplit(response.headers['Location'])
    assert (location.scheme, location.netloc, location.path) == ('https', 'saas.merchant.test', '/welcome')
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def action(client, name, sign_id, **fields):
    response = deliver(client, {'action': name, 'signId': sign_id, **fields})
    assert response.status_code == 200, response.body


def test_a_valid_token_redirects_with_a_short_lived_assertion(client, instance):
    sign_id, path = instance
    response = open_login(client, path)
    params = redirected_params(response)
    assert params['from'] == 'cloudmarket'          # the website's own query is kept
    assert params['signId'] == sign_id
    expires = int(params['expires'])
    assert NOW.timestamp() < expires <= NOW.timestamp() + 120
    assert params['signature'] == merchant_hmac(params['expires'], sign_id)
    assert response.headers['Cache-Control'] == 'no-store'
    assert response.headers['Referrer-Policy'] == 'no-referrer'
    assert login.verify_assertion(params, CLOUDMARKET_LOGIN_SECRET, now=NOW.timestamp()) == sign_id


def test_the_token_is_not_the_bare_sign_id(client, instance):
    sign_id, path = instance
    assert path != f'/cloudmarket/login/{sign_id}'
    response = open_login(client, f'/cloudmarket/login/{sign_id}')
    assert response.status_code == 403
    assert body_json(response)['error']['code'] == 'invalid_login_token'


def test_a_tampered_token_is_refused(client, instance):
    sign_id, path = instance
    last = path[-1]
    tampered = [path[:-1] + ('A' if last != 'A' else 'B'),      # the mac changed
                path.replace(sign_id, sign_id[:-1] + ('0' if sign_id[-1] != '0' else '1')),
                path + 'x', path.rsplit('.', 1)[0] + '.', '/cloudmarket/login/.',
                '/cloudmarket/login/' + login.login_token(sign_id, 'another-secret')]
    for attempt in tampered:
        response = open_login(client, attempt)
        assert response.status_code == 403, attempt
        assert 'Location' not in response.headers


def test_the_token_of_one_instance_does_not_open_another(client, instance):
    sign_id, path = instance
    other = body_json(deliver(client, create_body('MK-other')))['signId']
    mac = path.rsplit('.', 1)[1]
    assert open_login(client, f'/cloudmarket/login/{other}.{mac}').status_code == 403


def test_an_expired_instance_cannot_log_in_until_renewed(client, instance, frozen):
    sign_id, path = instance
    action(client, 'expireInstance', sign_id)
    response = open_login(client, path)
    assert response.status_code == 403 and body_json(response)['error']['code'] == 'instance_expired'
    action(client, 'renewInstance', sign_id, instanceExpireTime='2026-11-22 00:00:00')
    assert open_login(client, path).status_code == 302


def test_the_token_stops_working_when_the_expiry_passes(client, instance, frozen):
    _, path = instance
    frozen.set(NOW + timedelta(days=31))          # one month from Nov 22 is Dec 22
    response = open_login(client, path)
    assert response.status_code == 403 and body_json(response)['error']['code'] == 'instance_expired'


def test_a_destroyed_instance_revokes_the_token(client, instance):
    sign_id, path = instance
    action(client, 'destroyInstance', sign_id)
    response = open_login(client, path)
    assert response.status_code == 403 and body_json(response)['error']['code'] == 'login_revoked'


@pytest.mark.parametrize('age, status', [(0, 302), (119, 302), (120, 302), (121, 403), (-30, 302), (-31, 403)])
def test_the_marketplace_login_parameters_have_a_120_second_window(client, instance, age, status):
    """At most 120 s old, as the marketplace recommends; at most 30 s ahead (clock skew)."""
    _, path = instance
    query = signed_query(timestamp=int(NOW.timestamp()) - age)
    assert open_login(client, path, query).status_code == status


def test_wrong_marketplace_login_parameters_are_refused(client, instance):
    sign_id, path = instance
    assert open_login(client, path, {**signed_query(), 'signature': '0' * 64}).status_code == 403
    assert open_login(client, path, {'timestamp': str(int(NOW.timestamp()))}).status_code == 403
    assert open_login(client, path, signed_query(token='wrong-token')).status_code == 403
    assert open_login(client, path, {**signed_query(), 'signId': 'cm-another'}).status_code == 403
    assert open_login(client, path, {**signed_query(), 'signId': sign_id}).status_code == 302


def test_login_when_cloudmarket_is_disabled(client, instance, paygate_env):
    from chalicelib import settings
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'false')
    settings.reset()
    assert open_login(client, instance[1]).status_code == 404


def assertion(sign_id='cm0123456789abcdef012345', expires=1763780060, secret=CLOUDMARKET_LOGIN_SECRET):
    return {'signId': sign_id, 'expires': str(expires), 'signature': merchant_hmac(expires, sign_id, secret)}


def test_verify_assertion_accepts_a_genuine_one():
    assert login.verify_assertion(assertion(), CLOUDMARKET_LOGIN_SECRET, now=1763780000) \
        == 'cm0123456789abcdef012345'


@pytest.mark.parametrize('params, now', [
    ({**assertion(), 'signId': 'cm-someone-else'}, 1763780000),
    ({**assertion(), 'expires': '1763780100'}, 1763780000),
    ({**assertion(), 'signature': '0' * 64}, 1763780000),
    (assertion(secret='wrong-secret'), 1763780000),
    (assertion(), 1763780060),                                   # expired at that second
    (assertion(), 1763780061),
    (assertion(expires=1763780121), 1763780000),                 # more than 120 s ahead
    ({'signId': 'cm0123456789abcdef012345'}, 1763780000),
    ({}, 1763780000),
    ({**assertion(), 'expires': '-1'}, 1763780000),
])
def test_verify_assertion_refuses(params, now):
    with pytest.raises(ValueError):
        login.verify_assertion(params, CLOUDMARKET_LOGIN_SECRET, now=now)


def test_assertion_round_trip():
    params = login.assertion('cm-1', 'secret', 1763780000)
    assert login.verify_assertion(params, 'secret', now=1763780000) == 'cm-1'
    assert params['signature'] == merchant_hmac(params['expires'], 'cm-1', 'secret')


def test_the_documented_example_checks_paygate_assertions():
    """The merchant's verify_assertion, exactly as docs/cloudmarket.md documents it, against Paygate's output."""
    import re
    from localdev import PROJECT_ROOT
    page = (PROJECT_ROOT / 'docs' / 'cloudmarket.md').read_text(encoding='utf-8')
    [code] = [block for block in re.findall(r'```python\n(.*?)```', page, re.S)
              if 'def verify_assertion' in block]
    namespace = {}
    exec(compile(code, 'docs/cloudmarket.md', 'exec'), namespace)
    verify = namespace['verify_assertion']
    params = login.assertion('cm-readme', 'the-secret', 1763780000)
    assert verify(params, 'the-secret', now=1763780000) == 'cm-readme'
    for bad in ({**params, 'signId': 'cm-other'}, {**params, 'signature': '0' * 64}):
        with pytest.raises(ValueError):
            verify(bad, 'the-secret', now=1763780000)
    with pytest.raises(ValueError):
        verify(params, 'the-secret', now=1763780000 + 61)


def test_the_marketplaces_login_parameters_log_in_once(client, instance):
    """A login URL with the marketplace's signed parameters may leak (a Referer, a log): it is good
    for one login; the bare authUrl keeps working, as the marketplace shows it for good."""
    _, path = instance
    query = signed_query()
    assert open_login(client, path, query).status_code == 302
    again = open_login(client, path, query)
    assert again.status_code == 403 and body_json(again)['error']['code'] == 'login_used'
    assert open_login(client, path, signed_query()).status_code == 302
    assert open_login(client, path).status_code == 302
