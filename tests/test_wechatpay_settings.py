"""WeChat Pay settings: what each API version needs, named when missing or wrong."""
import pytest

from chalicelib import settings


@pytest.mark.parametrize('version, missing', [
    ('v3', 'PAYGATE_WECHATPAY_APIV3_KEY'), ('v3', 'PAYGATE_WECHATPAY_PRIVATE_KEY'),
    ('v3', 'PAYGATE_WECHATPAY_CERT_SERIAL'), ('v2', 'PAYGATE_WECHATPAY_KEY'),
    ('v2', 'PAYGATE_WECHATPAY_APPID'), ('v3', 'PAYGATE_WECHATPAY_MCH_ID'),
])
def test_each_version_names_what_it_needs(wechatpay_env, version, missing):
    wechatpay_env(version=version, **{missing: None})
    with pytest.raises(settings.SettingsError, match=missing):
        settings.get()


def test_the_other_versions_keys_are_optional(wechatpay_env):
    wechatpay_env(version='v2', PAYGATE_WECHATPAY_APIV3_KEY=None, PAYGATE_WECHATPAY_PRIVATE_KEY=None,
                  PAYGATE_WECHATPAY_CERT_SERIAL=None, PAYGATE_WECHATPAY_PUBLIC_KEY=None,
                  PAYGATE_WECHATPAY_PUBLIC_KEY_ID=None, PAYGATE_WECHATPAY_APP_SECRET=None)
    loaded = settings.get().provider('wechatpay')
    assert loaded.api_version == 'v2' and loaded.apiv3_key is None and loaded.app_secret is None


@pytest.mark.parametrize('change, named', [
    ({'PAYGATE_WECHATPAY_API_VERSION': 'v4'}, 'PAYGATE_WECHATPAY_API_VERSION'),
    ({'PAYGATE_WECHATPAY_SIGN_TYPE': 'SHA1'}, 'PAYGATE_WECHATPAY_SIGN_TYPE'),
    ({'PAYGATE_WECHATPAY_PUBLIC_KEY_ID': None}, 'PAYGATE_WECHATPAY_PUBLIC_KEY_ID'),
])
def test_bad_values_are_named(wechatpay_env, change, named):
    wechatpay_env(**change)
    with pytest.raises(settings.SettingsError, match=named):
        settings.get()


def test_secrets_never_show_in_the_settings_repr(wechatpay_env):
    from tests.wechatpay_fixtures import APIV3_KEY, APP_SECRET, KEY
    shown = repr(settings.get())
    assert 'wechatpay' in shown
    assert KEY not in shown and APIV3_KEY not in shown and APP_SECRET not in shown
    assert 'PRIVATE KEY' not in shown
