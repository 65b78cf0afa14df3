import json
import os
import subprocess
import sys

import pytest

from chalicelib import settings
from localdev import PROJECT_ROOT
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


IMPORT_AND_ASK = """
import app
from chalice.test import Client
with Client(app.app, stage_name='test') as client:
    answer = client.http.get('/')
print(json.dumps({'answer': [answer.status_code, answer.body.decode()]}))
"""


def test_bad_settings_are_one_log_line_at_import_and_each_request_a_plain_500():
    """In Lambda: the import goes on (a misspelt name is only a warning), each line is one JSON log line,
    and a request that needs the settings is answered 500 without naming a secret."""
    env = {k: v for k, v in os.environ.items() if k != 'PAYGATE_PUBLIC_URL'}
    env.update(AWS_LAMBDA_FUNCTION_NAME='paygate-test-orders', PAYGATE_WECHATPAY_API_VERISON='v2')
    run = subprocess.run([sys.executable, '-c', 'import json' + IMPORT_AND_ASK], env=env, capture_output=True,
                         text=True, cwd=str(PROJECT_ROOT), timeout=120)
    assert run.returncode == 0 and run.stderr == '', run.stderr
    *logged, answer = [json.loads(line) for line in run.stdout.splitlines()]
    where = '(stage test: .chalice/config.json, stages.test.environment_variables)'
    assert [(line['level'], line['message']) for line in logged] == [
        ('WARNING', 'PAYGATE_WECHATPAY_API_VERISON is not a Paygate setting; '
                    'did you mean PAYGATE_WECHATPAY_API_VERSION?'),
        ('ERROR', f'settings not usable, requests will fail with 500: missing required setting '
                  f'PAYGATE_PUBLIC_URL {where}'),
        ('ERROR', f'index failed: missing required setting PAYGATE_PUBLIC_URL {where}')]
    assert 'exception' not in logged[2]
    status, body = answer['answer']
    assert status == 500 and json.loads(body) == {
        'error': {'code': 'internal_error', 'message': 'something went wrong on our side'}}
    assert TEST_ENV['PAYGATE_CODEPAY_KEY'] not in run.stdout


@pytest.mark.parametrize('name, message', [
    ('PAYGATE_WECHATPAY_API_VERISON', 'did you mean PAYGATE_WECHATPAY_API_VERSION?'),
    ('PAYGATE_TABEL', 'did you mean PAYGATE_TABLE?'),
    ('PAYGATE_CODEPAY_KEYS', 'did you mean PAYGATE_CODEPAY_KEY?'),
    ('PAYGATE_DEBUG', 'docs/configuration.md lists the settings'),
])
def test_an_unknown_name_is_named_with_the_closest_known_one(name, message):
    assert settings.unknown_names({name: 'x', 'PAYGATE_TABLE': 't', 'PATH': '/bin'}) == [
        f'{name} is not a Paygate setting; {message}']


def test_names_of_other_tools_are_fine_where_they_are_said_to_be():
    assert settings.unknown_names({**TEST_ENV}) == []
    assert settings.unknown_names({'PAYGATE_URL': 'u'}, also_known={'PAYGATE_URL'}) == []
    assert settings.unknown_names({'PAYGATE_URL': 'u'}) != []


def test_bad_values_are_named(paygate_env):
    paygate_env.setenv('PAYGATE_ORDER_TTL_SECONDS', 'soon')
    with pytest.raises(settings.SettingsError, match='PAYGATE_ORDER_TTL_SECONDS'):
        settings.Settings.load(os.environ)
    paygate_env.setenv('PAYGATE_ORDER_TTL_SECONDS', '60')
    paygate_env.setenv('PAYGATE_PROVIDERS', 'codepay,paypal')
    with pytest.raises(settings.SettingsError, match='paypal'):
        settings.Settings.load(os.environ)


def test_references_resolve_on_first_use_once_per_container(paygate_env):
    import boto3
    from moto import mock_aws
    with mock_aws():
        ssm = boto3.client('ssm')           # the store, as an operator fills it (Paygate's client only reads)
        ssm.put_parameter(Name='/paygate/test/codepay-key', Value='from-ssm', Type='SecureString')
        boto3.client('secretsmanager').create_secret(Name='paygate-sk', SecretString='sk_from_sm')
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
        settings.Settings.load(os.environ)
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'false')
    assert settings.Settings.load(os.environ).cloudmarket is None
    paygate_env.delenv('PAYGATE_CLOUDMARKET_ENABLED')
    assert settings.Settings.load(os.environ).cloudmarket is None


def test_cloudmarket_settings_are_checked_and_hidden(paygate_env):
    loaded = settings.get().cloudmarket
    assert loaded.token.value == TEST_ENV['PAYGATE_CLOUDMARKET_TOKEN']
    assert TEST_ENV['PAYGATE_CLOUDMARKET_TOKEN'] not in repr(settings.get())
    assert TEST_ENV['PAYGATE_CLOUDMARKET_LOGIN_SECRET'] not in repr(settings.get())
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'sometimes')
    with pytest.raises(settings.SettingsError, match='PAYGATE_CLOUDMARKET_ENABLED'):
        settings.Settings.load(os.environ)
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'TRUE')
    paygate_env.setenv('PAYGATE_CLOUDMARKET_WEBSITE', 'saas.merchant.test')
    with pytest.raises(settings.SettingsError, match='PAYGATE_CLOUDMARKET_WEBSITE'):
        settings.Settings.load(os.environ)


def test_file_references_read_from_the_project_root_on_first_use(paygate_env):
    paygate_env.setenv('PAYGATE_CODEPAY_KEY', 'file:chalicelib/catalog.sample.json')
    paygate_env.setenv('PAYGATE_SECRET_KEYS', 'file:.local/does-not-exist.pem')
    settings.reset()
    loaded = settings.get()
    assert loaded.provider('codepay').key.value.startswith('[')
    with pytest.raises(settings.SettingsError, match='cannot read .*does-not-exist.pem'):
        loaded.secret_keys.value


ALIPAY_KEY_MODE = {'PAYGATE_PROVIDERS': 'alipay', 'PAYGATE_ALIPAY_APP_ID': '2021000123456789',
                   'PAYGATE_ALIPAY_SELLER_ID': '2088000123456789',
                   'PAYGATE_ALIPAY_APP_PRIVATE_KEY': 'ssm:/paygate/test/alipay/app-private-key',
                   'PAYGATE_ALIPAY_PUBLIC_KEY': 'ALIPAYPUBLICKEY'}
ALIPAY_CERTS = {'PAYGATE_ALIPAY_APP_CERT': 'APPCERT', 'PAYGATE_ALIPAY_PUBLIC_CERT': 'ALIPAYCERT',
                'PAYGATE_ALIPAY_ROOT_CERT': 'ROOTCERT'}


def test_alipay_settings_in_public_key_mode(paygate_env):
    for name, value in ALIPAY_KEY_MODE.items():
        paygate_env.setenv(name, value)
    settings.reset()
    alipay = settings.get().provider('alipay')
    assert (alipay.app_id.value, alipay.cert_mode, alipay.verify_key) == ('2021000123456789', False, 'ALIPAYPUBLICKEY')
    assert alipay.gateway_url == 'https://openapi.alipay.com/gateway.do' and alipay.seller_id.value == '2088000123456789'
    assert 'app-private-key' not in repr(alipay)


def test_alipay_settings_in_certificate_mode(paygate_env):
    for name, value in {**ALIPAY_KEY_MODE, **ALIPAY_CERTS, 'PAYGATE_ALIPAY_SIGN_MODE': 'cert'}.items():
        paygate_env.setenv(name, value)
    paygate_env.delenv('PAYGATE_ALIPAY_PUBLIC_KEY')
    settings.reset()
    alipay = settings.get().provider('alipay')
    assert (alipay.cert_mode, alipay.verify_key, alipay.app_cert.value) == (True, 'ALIPAYCERT', 'APPCERT')


@pytest.mark.parametrize('mode, missing', [('key', 'PAYGATE_ALIPAY_PUBLIC_KEY'), ('cert', 'PAYGATE_ALIPAY_ROOT_CERT'),
                                           ('key', 'PAYGATE_ALIPAY_APP_ID'), ('key', 'PAYGATE_ALIPAY_SELLER_ID'),
                                           ('rsa', 'PAYGATE_ALIPAY_SIGN_MODE')])
def test_alipay_settings_name_what_is_missing(paygate_env, mode, missing):
    for name, value in {**ALIPAY_KEY_MODE, **ALIPAY_CERTS, 'PAYGATE_ALIPAY_SIGN_MODE': mode}.items():
        paygate_env.setenv(name, value)
    if missing != 'PAYGATE_ALIPAY_SIGN_MODE':
        paygate_env.delenv(missing)
    settings.reset()
    with pytest.raises(settings.SettingsError, match=missing):
        settings.get()


def test_codepay_defaults_to_its_documented_https_api_endpoint(paygate_env):
    paygate_env.delenv('PAYGATE_CODEPAY_URL')
    assert settings.get().provider('codepay').base_url == 'https://codepay.fateqq.com:51888'
