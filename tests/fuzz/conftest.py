"""Fixtures for the fuzzing: the seeded app in DynamoDB Local, providers mocked; the Hypothesis profiles.

Profiles: `quick` (the default, what `make test` runs) stops a route at its first
failure; `fuzz` (HYPOTHESIS_PROFILE=fuzz, what `make fuzz` runs) runs every case,
counts what breaks a property and prints a table of it at the end.
"""
import os
import re
import uuid
from types import SimpleNamespace

import pytest
import responses
from hypothesis import HealthCheck, Phase, settings

from chalicelib import clock
from localdev.dynamodb_local import client_environment
from tests import alipay_sdk
from tests.cloudmarket_fixtures import NOW
from tests.conftest import TEST_ENV, reset_caches
from tests.fuzz.harness import FuzzedApp, Table
from tests.fuzz.properties import Stats
from tests.fuzz.seed import fuzz_environment, seed_table

HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
          HealthCheck.large_base_example, HealthCheck.filter_too_much]
# No shrinking in `quick`: a failure is shown as generated (mostly one field off a valid
# request), which keeps `make test` within its time on code that still fails.
settings.register_profile('quick', max_examples=50, deadline=None, derandomize=True, database=None,
                          suppress_health_check=HEALTH, phases=[Phase.explicit, Phase.generate])
settings.register_profile('fuzz', max_examples=int(os.environ.get('FUZZ_EXAMPLES', 600)), deadline=None,
                          database=None, suppress_health_check=HEALTH)
PROFILE = os.environ.get('HYPOTHESIS_PROFILE', 'quick')
settings.load_profile(PROFILE)
COLLECTING = PROFILE != 'quick'    # count every failure and go on, instead of stopping at the first
STATS = Stats()
PROVIDER_HOSTS = re.compile(r'https?://(?!127\.0\.0\.1).*')


def pytest_terminal_summary(terminalreporter):
    if STATS.counts:
        terminalreporter.section(f'fuzz summary (Hypothesis profile {PROFILE})')
        terminalreporter.write_line(STATS.summary())


@pytest.fixture(scope='session')
def fuzz_alipay_keys():
    return SimpleNamespace(app=alipay_sdk.KeyPair(), alipay=alipay_sdk.KeyPair())


@pytest.fixture(scope='module')
def seeded(fuzz_alipay_keys, wechatpay_keys, dynamodb_local):
    """A table in DynamoDB Local seeded once per module (each request puts it back as it was).

    DynamoDB Local, not moto: moto accepts what DynamoDB refuses (an empty map key, a
    key over 2,048 bytes in a read), and those refusals are what the fuzzing is after.
    """
    from chalice.test import Client
    from chalicelib import aws, tables
    environment = {**TEST_ENV, **fuzz_environment(fuzz_alipay_keys, wechatpay_keys),
                   **client_environment(dynamodb_local.endpoint),
                   'PAYGATE_TABLE': f'paygate-fuzz-{uuid.uuid4().hex[:12]}'}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.setattr(clock, 'now', lambda: NOW)
        reset_caches()
        tables.create(aws.client('dynamodb'), environment['PAYGATE_TABLE'])
        import app
        with Client(app.app, stage_name='test') as client:
            seed = seed_table(client, fuzz_alipay_keys, wechatpay_keys)
            yield SimpleNamespace(client=client, seed=seed, table=Table(), environment=environment)
        reset_caches()


@pytest.fixture
def fuzzed_app(seeded, paygate_env, monkeypatch):
    """The seeded app, with every outbound HTTP call answered as each case says."""
    for name, value in seeded.environment.items():
        paygate_env.setenv(name, value)
    reset_caches()
    monkeypatch.setattr(clock, 'now', lambda: NOW)
    app = FuzzedApp(seeded.client, seeded.seed, seeded.table)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ('GET', 'POST', 'PUT', 'DELETE', 'PATCH'):
            mock.add_callback(method, PROVIDER_HOSTS, callback=app.answer_outbound)
        yield app
