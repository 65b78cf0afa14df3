"""Shared fixtures: a test stage environment, moto, DynamoDB Local, the route client."""
import os
import threading
import uuid

import pytest

from localdev.dynamodb_local import DynamoDBLocal, client_environment
from tests import reliability

pytest_plugins = ('tests.secrets_scan',)

PK = 'pk_test_unit'
SK = 'sk_test_unit'
CODEPAY_KEY = 'codepay-test-key-0123456789'
CODEPAY_ID = '60905'
CODEPAY_URL = 'https://codepay.test'
PUBLIC_URL = 'https://pay.test'
CLOUDMARKET_TOKEN = 'paygate-test-token'
CLOUDMARKET_LOGIN_SECRET = 'cloudmarket-login-secret-for-tests'
CLOUDMARKET_WEBSITE = 'https://saas.merchant.test/welcome?from=cloudmarket'

TEST_ENV = {
    'PAYGATE_STAGE': 'test',
    'PAYGATE_TABLE': 'paygate-test',
    'PAYGATE_PUBLIC_URL': PUBLIC_URL,
    'PAYGATE_CATALOG': 'file:chalicelib/catalog.sample.json',
    'PAYGATE_PUBLISHABLE_KEYS': f'pk_test_old,{PK}',
    'PAYGATE_SECRET_KEYS': SK,
    'PAYGATE_PROVIDERS': 'codepay',
    'PAYGATE_CODEPAY_ID': CODEPAY_ID,
    'PAYGATE_CODEPAY_KEY': CODEPAY_KEY,
    'PAYGATE_CODEPAY_URL': CODEPAY_URL,
    'PAYGATE_CLOUDMARKET_ENABLED': 'true',
    'PAYGATE_CLOUDMARKET_TOKEN': CLOUDMARKET_TOKEN,
    'PAYGATE_CLOUDMARKET_WEBSITE': CLOUDMARKET_WEBSITE,
    'PAYGATE_CLOUDMARKET_LOGIN_SECRET': CLOUDMARKET_LOGIN_SECRET,
    'AWS_ACCESS_KEY_ID': 'testing',
    'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_DEFAULT_REGION': 'us-east-1',
}


def reset_caches():
    from chalicelib import aws, catalog, settings
    from chalicelib.store import keys as key_store
    settings.reset()
    catalog.reset()
    aws.reset()
    key_store.forget()


@pytest.fixture(autouse=True)
def paygate_env(monkeypatch):
    """Every test runs with the test stage's settings and no real AWS."""
    for name in list(os.environ):
        if name.startswith(('PAYGATE_', 'AWS_')):
            monkeypatch.delenv(name)
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    yield monkeypatch
    reset_caches()


_moto_lock = threading.Lock()


@pytest.fixture
def moto_table(paygate_env, monkeypatch):
    """moto, with each DynamoDB request made atomic as in the real service.

    moto runs a transaction by snapshotting the table and restoring it on
    failure, which wipes writes other threads made meanwhile. Serialising
    moto's request handler gives it DynamoDB's per-request atomicity; our
    requests still interleave freely between one another.
    """
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler
    from chalicelib import aws, tables
    original = DynamoHandler.call_action

    def atomic_call_action(self):
        with _moto_lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, 'call_action', atomic_call_action)
    with mock_aws():
        tables.create(aws.client('dynamodb'), TEST_ENV['PAYGATE_TABLE'])
        yield 'moto'


@pytest.fixture(scope='session')
def dynamodb_local():
    with DynamoDBLocal() as engine:
        yield engine


@pytest.fixture
def local_table(paygate_env, dynamodb_local):
    """A fresh table in DynamoDB Local, reached over a real connection."""
    from chalicelib import aws, tables
    for name, value in client_environment(dynamodb_local.endpoint).items():
        paygate_env.setenv(name, value)
    table = f'paygate-test-{uuid.uuid4().hex[:12]}'
    paygate_env.setenv('PAYGATE_TABLE', table)
    reset_caches()
    tables.create(aws.client('dynamodb'), table)
    yield 'dynamodb-local'


@pytest.fixture(params=['moto', 'dynamodb-local'])
def any_table(request):
    """Run a test under moto and again against DynamoDB Local."""
    yield request.getfixturevalue('moto_table' if request.param == 'moto' else 'local_table')


@pytest.fixture
def midas_env(paygate_env):
    """The test stage with Midas enabled, pointed at a mocked Midas (tests/midas_fixtures.py)."""
    from tests.midas_fixtures import midas_environment
    for name, value in midas_environment().items():
        paygate_env.setenv(name, value)
    reset_caches()
    return paygate_env


@pytest.fixture(scope='session')
def alipay_keys():
    from tests.alipay_fixtures import new_keys
    return new_keys()


@pytest.fixture
def alipay_env(paygate_env, alipay_keys):
    """The test stage with Alipay enabled in public-key mode."""
    from tests.alipay_fixtures import environment
    for name, value in environment(alipay_keys).items():
        paygate_env.setenv(name, value)
    reset_caches()
    return alipay_keys


@pytest.fixture
def every_provider_env(paygate_env, wechatpay_keys, alipay_keys):
    """The test stage with every provider enabled (outbound calls left to the test to mock)."""
    from tests import alipay_fixtures, midas_fixtures, wechatpay_fixtures
    enabled = {**alipay_fixtures.environment(alipay_keys), **wechatpay_fixtures.environment(wechatpay_keys),
               **midas_fixtures.midas_environment(),
               'PAYGATE_CATALOG': 'file:chalicelib/catalog.sample.json',
               'PAYGATE_PROVIDERS': 'codepay,alipay,wechatpay,midas'}
    for name, value in enabled.items():
        paygate_env.setenv(name, value)
    reset_caches()
    return paygate_env


@pytest.fixture
def app_module(paygate_env):
    import app
    return app


@pytest.fixture
def client(moto_table, app_module):
    from chalice.test import Client
    with Client(app_module.app, stage_name='test') as test_client:
        yield test_client


@pytest.fixture
def http_mock():
    """Outbound HTTP mocked at the transport; every registered call must happen.

    Requested after moto (which patches requests too); servers the tests start
    on 127.0.0.1 are reached for real.
    """
    import responses
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add_passthru('http://127.0.0.1')
        yield mock


@pytest.fixture(scope='session')
def wechatpay_keys():
    from tests.wechatpay_fixtures import Keys
    return Keys.generate()


@pytest.fixture
def wechatpay_env(paygate_env, wechatpay_keys):
    """WeChat Pay enabled, both API versions' keys set; call it to change the settings."""
    from tests.wechatpay_fixtures import environment

    def configure(version='v3', sign_type='MD5', **overrides):
        for name, value in {**environment(wechatpay_keys, version, sign_type), **overrides}.items():
            if value is None:
                paygate_env.delenv(name, raising=False)
            else:
                paygate_env.setenv(name, value)
        reset_caches()
    configure()
    return configure


@pytest.fixture
def wechat(wechatpay_env, wechatpay_keys, moto_table, http_mock):
    """WeChat Pay's API, mocked at the transport (after moto)."""
    from tests.wechatpay_fixtures import WeChat
    return WeChat(http_mock, wechatpay_keys)


@pytest.fixture
def notify_log(caplog):
    """Records of the `paygate.notify` logger (Chalice stops `paygate.*` from reaching the root)."""
    import logging
    logger = logging.getLogger('paygate.notify')
    level, propagate = logger.level, logger.propagate
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.setLevel(level)
    logger.propagate = propagate


def pytest_terminal_summary(terminalreporter):
    figures = reliability.lines()
    if figures:
        terminalreporter.section('reliability figures')
        for line in figures:
            terminalreporter.write_line(line)
