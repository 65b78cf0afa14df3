"""docs/openapi.yaml: valid OpenAPI 3.1, exactly the app's routes, and every example valid."""
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests import openapi_check
from tests.openapi_check import METHODS, pointer, resolve, schema_errors, spec


def test_the_spec_is_valid_openapi_3_1():
    assert spec()['openapi'].startswith('3.1.')
    validate(spec())


def test_the_validator_refuses_a_broken_spec():
    broken = {**spec(), 'paths': {'/orders': {'get': {'responses': {'200': {'content': 'none'}}}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_paths_and_methods_are_exactly_the_apps_routes(app_module):
    routes = {(path, method.lower()) for path, methods in app_module.app.routes.items() for method in methods}
    documented = {(path, method) for path, item in spec()['paths'].items() for method in item
                  if method in METHODS}
    assert documented - routes == set(), 'documented, but not routes of app.py'
    assert routes - documented == set(), 'routes of app.py missing from docs/openapi.yaml'


def _examples():
    """(where, schema location, example value) of every example in the spec."""
    for path, item in spec()['paths'].items():
        for method, found in item.items():
            if method not in METHODS:
                continue
            at = ('paths', path, method)
            for index, parameter in enumerate(found.get('parameters', [])):
                yield from _parameter_examples(parameter, at + ('parameters', index))
            body = found.get('requestBody')
            if body:
                yield from _media_examples(resolve(body), at + ('requestBody',), body)
            for status, response in found['responses'].items():
                yield from _media_examples(resolve(response), at + ('responses', status), response)
    for name, parameter in spec()['components'].get('parameters', {}).items():
        yield from _parameter_examples(parameter, ('components', 'parameters', name))
    for name, schema in spec()['components']['schemas'].items():
        for index, value in enumerate(schema.get('examples', [])):
            yield f'schema {name} example {index}', pointer('components', 'schemas', name), value


def _parameter_examples(parameter, at):
    """Examples of a parameter defined here (one given by $ref is checked where it is defined)."""
    if 'example' in parameter:
        yield '/'.join(map(str, at)), pointer(*at, 'schema'), parameter['example']


def _media_examples(declared, at, original):
    if '$ref' in original:
        at = tuple(original['$ref'].lstrip('#/').split('/'))
    for media, content in (declared.get('content') or {}).items():
        schema_at = pointer(*at, 'content', media, 'schema')
        if 'example' in content:
            yield f'{"/".join(map(str, at))} {media}', schema_at, content['example']
        for name, example in (content.get('examples') or {}).items():
            yield f'{"/".join(map(str, at))} {media} {name}', schema_at, resolve(example)['value']


EXAMPLES = list(_examples())


def test_there_are_examples_to_check():
    assert len(EXAMPLES) > 30


@pytest.mark.parametrize('where, location, value', EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_validates_against_its_schema(where, location, value):
    assert schema_errors(location, value) == []


def test_a_wrong_example_is_caught():
    order = resolve({'$ref': '#/components/examples/PaidCodepayOrder'})['value']
    assert schema_errors(pointer('components', 'schemas', 'Order'), {**order, 'amount': '6.00'})
    assert schema_errors(pointer('components', 'schemas', 'Order'), {**order, 'status': 'DONE'})


def test_check_refuses_undeclared_statuses_and_wrong_bodies():
    json_type = {'Content-Type': 'application/json'}
    openapi_check.check('GET', '/orders/ord_1', 404, json_type, b'{"error": {"code": "not_found", "message": "no"}}')
    with pytest.raises(AssertionError):
        openapi_check.check('GET', '/orders/ord_1', 418, json_type, b'{}')
    with pytest.raises(AssertionError):
        openapi_check.check('GET', '/orders/ord_1', 404, json_type, b'{"error": "not found"}')
    with pytest.raises(AssertionError):
        openapi_check.check('POST', '/notify/codepay', 200, {'Content-Type': 'text/plain'}, b'ok')
