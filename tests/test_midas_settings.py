"""MidasSettings: environment hosts, the callback path, the org_loc form; the appkey stays hidden."""
import os

import pytest

from chalicelib import settings
from tests.midas_fixtures import APPKEY

pytestmark = pytest.mark.usefixtures('midas_env')


def load():
    return settings.Settings.load(os.environ).provider('midas')


def test_defaults_and_the_hidden_appkey(midas_env):
    midas_env.delenv('PAYGATE_MIDAS_URL')
    loaded = load()
    assert (loaded.base_url, loaded.callback_path, loaded.org_loc, loaded.coins_per_yuan) == (
        'https://ysdktest.qq.com', '/notify/midas', 'path', 10)
    assert loaded.appkey.value == APPKEY and APPKEY not in repr(settings.Settings.load(os.environ))
    midas_env.setenv('PAYGATE_MIDAS_ENV', 'production')
    assert load().base_url == 'https://ysdk.qq.com'


def test_the_callback_path_follows_the_public_url(midas_env):
    midas_env.setenv('PAYGATE_PUBLIC_URL', 'https://abc.execute-api.ap-guangzhou.amazonaws.com/api/')
    assert load().callback_path == '/api/notify/midas'
    midas_env.setenv('PAYGATE_MIDAS_CALLBACK_PATH', '/cgi-bin/deliver')
    assert load().callback_path == '/cgi-bin/deliver'


@pytest.mark.parametrize('name, value', [
    ('PAYGATE_MIDAS_ENV', 'test'), ('PAYGATE_MIDAS_ENV', ''), ('PAYGATE_MIDAS_APPKEY', ''),
    ('PAYGATE_MIDAS_APPID', ''), ('PAYGATE_MIDAS_ORG_LOC', 'uri'),
    ('PAYGATE_MIDAS_CALLBACK_PATH', 'notify/midas'), ('PAYGATE_MIDAS_COINS_PER_YUAN', 'ten'),
])
def test_bad_settings_are_named(midas_env, name, value):
    midas_env.setenv(name, value)
    with pytest.raises(settings.SettingsError, match=name):
        load()
