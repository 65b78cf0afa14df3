"""docs/openapi.yaml for the tests: load it, and check an answer of the app against it.

    from tests.openapi_check import check_response
    response = client.http.get('/orders/ord_1', headers=PUBLISHABLE)
    check_response('GET', '/orders/ord_1', response)

The answer's status must be one the operation declares, its content type one of that status's media
types (parameters such as `; charset=utf-8` aside), and its body valid under that media type's schema
(JSON bodies parsed, text bodies as strings); a status declared without content must come with no body.
Schemas are JSON Schema 2020-12, as OpenAPI 3.1 says; `$ref`s resolve inside the spec.
"""
import functools
import json
import re

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from localdev import PROJECT_ROOT

SPEC_PATH = PROJECT_ROOT / 'docs' / 'openapi.yaml'
SPEC_URI = 'urn:paygate:openapi'
METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace')


@functools.lru_cache(maxsize=1)
def spec():
    """The spec as loaded from docs/openapi.yaml."""
    return yaml.safe_load(SPEC_PATH.read_text(encoding='utf-8'))


@functools.lru_cache(maxsize=1)
def _registry():
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec(), DRAFT202012))


def pointer(*parts):
    """A JSON pointer into the spec ('/paths/~1orders/post')."""
    return ''.join('/' + str(part).replace('~', '~0').replace('/', '~1') for part in parts)


def validator_at(location):
    """A validator for the schema at JSON pointer `location` of the spec."""
    return Draft202012Validator({'$ref': f'{SPEC_URI}#{location}'}, registry=_registry())


def schema_errors(location, instance):
    """Messages of every way `instance` breaks the schema at `location` (empty when valid)."""
    return [f'{"/".join(map(str, error.absolute_path)) or "(body)"}: {error.message}'
            for error in validator_at(location).iter_errors(instance)]


def resolve(node):
    """A `$ref` object followed to what it names (other objects as they are)."""
    while isinstance(node, dict) and '$ref' in node:
        node = _at(node['$ref'])
    return node


def _at(reference):
    found = spec()
    for part in reference.lstrip('#').strip('/').split('/'):
        found = found[part.replace('~1', '/').replace('~0', '~')]
    return found


def operation(method, path):
    """(path template, operation) of the spec that serves `method` `path`; AssertionError if none."""
    candidates = []
    for template, item in spec()['paths'].items():
        parts = re.split(r'(\{[^}]+\})', template)
        pattern = '^' + ''.join('[^/]+' if p.startswith('{') else re.escape(p) for p in parts) + '$'
        if method.lower() in item and re.match(pattern, path.split('?')[0]):
            candidates.append((template.count('{'), template, item[method.lower()]))
    assert candidates, f'{method} {path} is not in docs/openapi.yaml'
    _, template, found = min(candidates, key=lambda c: c[0])
    return template, found


def check(method, path, status, headers, body):
    """Check one answer (status, headers dict, body bytes or text) against the spec."""
    template, found = operation(method, path)
    responses = found['responses']
    where = f'{method} {template} {status}'
    assert str(status) in responses, f'{where}: status not declared in docs/openapi.yaml'
    declared = resolve(responses[str(status)])
    text = body.decode('utf-8') if isinstance(body, bytes) else (body or '')
    content = declared.get('content')
    if not content:
        assert text == '', f'{where}: declared without a body, answered {text[:200]!r}'
        for name in declared.get('headers', {}):
            assert name.lower() in {k.lower() for k in headers}, f'{where}: no {name} header'
        return
    content_type = {k.lower(): v for k, v in headers.items()}.get('content-type', '')
    media = content_type.split(';')[0].strip().lower()
    assert media in content, f'{where}: content type {content_type!r}, declared {sorted(content)}'
    instance = json.loads(text) if media.endswith('json') else text
    location = pointer('paths', template, method.lower(), 'responses', str(status))
    if '$ref' in responses[str(status)]:
        location = responses[str(status)]['$ref'].lstrip('#')
    errors = schema_errors(location + pointer('content', media, 'schema'), instance)
    assert not errors, f'{where}: the body does not match docs/openapi.yaml:\n' + '\n'.join(errors)


def check_response(method, path, response):
    """Check a chalice.test.Client response to `method` `path` against the spec."""
    check(method, path, response.status_code, dict(response.headers), response.body)
    return response
