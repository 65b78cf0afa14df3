"""Every route of app.py under generated requests: no 5xx, no stack trace, no unsigned state change."""
import pytest
from hypothesis import given

from tests.fuzz.conftest import COLLECTING, STATS
from tests.fuzz.properties import describe, violations
from tests.fuzz.routes import ROUTE_NAMES, all_routes


def test_every_route_of_the_app_is_fuzzed(app_module):
    declared = {f'{method} {path}' for path, entries in app_module.app.routes.items() for method in entries}
    assert declared == set(ROUTE_NAMES)


@pytest.mark.parametrize('name', ROUTE_NAMES)
def test_route(fuzzed_app, name):
    route = all_routes(fuzzed_app.seed)[name]

    @given(route.cases)
    def request_keeps_the_properties(case):
        outcome = fuzzed_app.send(case)
        found = violations(case, outcome, route.stateful)
        STATS.record(name, case, outcome, found)
        if found and not COLLECTING:
            raise AssertionError(describe(case, outcome, found))

    request_keeps_the_properties()
    if COLLECTING:
        assert not STATS.failures_of(name), f'{name} broke the properties: see the fuzz summary below'
