import pytest

from chalicelib import settings
from tests.conftest import TEST_ENV


def test_settings_are_typed_and_secrets_hidden():
    loaded = settings.get()
    assert loaded.stage == 'test'
    assert loaded.order_ttl_seconds == 1800
    assert loaded.notify_url('codepay') == 'https://pay.test/notify/codepay'
    assert loaded.provider('codepay').key.value == TEST_ENV['PAYGATE_CODEPAY_KEY']
    assert TEST_ENV['PAYGATE_CODEPAY_KEY'] not in repr(loaded)
    assert loaded.provider('alipay') is None


@pytest.mark.parametrize('name', ['PAYGATE_TABLE', 'PAYGATE_SECRET_KEYS', 'PAYGATE_CATALOG',
                                  'PAYGATE_CODEPAY_KEY', 'PAYGATE_CODEPAY_ID'])
def test_a_missing_setting_fails_at_start_naming_it(paygate_env, name):
    paygate_env.delenv(name)
    settings.reset()
    with pytest.raises(settings.SettingsError, match=name):
        settings.get()


def test_a_missing_setting_fails_the_app_import():
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != 'PAYGATE_PUBLIC_URL'}
    run = subprocess.run([sys.executable, '-c', 'import app'], env=env, capture_output=True,
                         text=True, cwd=str(__import__('localdev').PROJECT_ROOT))
    assert run.returncode != 0
    assert 'missing required setting PAYGATE_PUBLIC_URL' in run.stderr


def test_bad_values_are_named(paygate_env):
    paygate_env.setenv('PAYGATE_ORDER_TTL_SECONDS', 'soon')
    with pytest.raises(settings.SettingsError, match='PAYGATE_ORDER_TTL_SECONDS'):
        settings.Settings.load(__import__('os').environ)
    paygate_env.setenv('PAYGATE_ORDER_TTL_SECONDS', '60')
    paygate_env.setenv('PAYGATE_PROVIDERS', 'codepay,paypal')
    with pytest.raises(settings.SettingsError, match='paypal'):
        settings.Settings.load(__import__('os').environ)


def test_references_resolve_on_first_use_once_per_container(paygate_env):
    from moto import mock_aws
    from chalicelib import aws
    with mock_aws():
        ssm = aws.client('ssm')
        ssm.put_parameter(Name='/paygate/test/codepay-key', Value='from-ssm', Type='SecureString')
        aws.client('secretsmanager').create_secret(Name='paygate-sk', SecretString='sk_from_sm')
        paygate_env.setenv('PAYGATE_CODEPAY_KEY', 'ssm:/paygate/test/codepay-key')
        paygate_env.setenv('PAYGATE_SECRET_KEYS', 'secretsmanager:paygate-sk')
        settings.reset()
        loaded = settings.get()
        assert loaded.provider('codepay').key.value == 'from-ssm'
        assert loaded.secret_keys.value == 'sk_from_sm'
        ssm.put_parameter(Name='/paygate/test/codepay-key', Value='rotated', Type='SecureString',
                          Overwrite=True)
        assert loaded.provider('codepay').key.value == 'from-ssm'


@pytest.mark.parametrize('name', ['PAYGATE_CLOUDMARKET_TOKEN', 'PAYGATE_CLOUDMARKET_WEBSITE',
                                  'PAYGATE_CLOUDMARKET_LOGIN_SECRET'])
def test_cloudmarket_settings_are_required_only_when_enabled(paygate_env, name):
    paygate_env.delenv(name)
    with pytest.raises(settings.SettingsError, match=name):
        settings.Settings.load(__import__('os').environ)
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'false')
    assert settings.Settings.load(__import__('os').environ).cloudmarket is None
    paygate_env.delenv('PAYGATE_CLOUDMARKET_ENABLED')
    assert settings.Settings.load(__import__('os').environ).cloudmarket is None


def test_cloudmarket_settings_are_checked_and_hidden(paygate_env):
    loaded = settings.get().cloudmarket
    assert loaded.token.value == TEST_ENV['PAYGATE_CLOUDMARKET_TOKEN']
    assert TEST_ENV['PAYGATE_CLOUDMARKET_TOKEN'] not in repr(settings.get())
    assert TEST_ENV['PAYGATE_CLOUDMARKET_LOGIN_SECRET'] not in repr(settings.get())
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'sometimes')
    with pytest.raises(settings.SettingsError, match='PAYGATE_CLOUDMARKET_ENABLED'):
        settings.Settings.load(__import__('os').environ)
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'TRUE')
    paygate_env.setenv('PAYGATE_CLOUDMARKET_WEBSITE', 'saas.merchant.test')
    with pytest.raises(settings.SettingsError, match='PAYGATE_CLOUDMARKET_WEBSITE'):
        settings.Settings.load(__import__('os').environ)
