"""GET /: a first request answers which Paygate this is, without a credential."""
import re

from chalicelib import VERSION
from localdev import PROJECT_ROOT
from tests.helpers import PUBLISHABLE, body_json
from tests.openapi_check import check_response, spec


def test_the_index_names_the_stage_its_version_providers_and_docs(client):
    response = check_response('GET', '/', client.http.get('/'))
    assert response.status_code == 200
    assert body_json(response) == {'name': 'paygate', 'version': VERSION, 'stage': 'test',
                                   'providers': ['codepay'], 'cloudmarket': True,
                                   'docs': 'docs/api.md', 'openapi': 'docs/openapi.yaml'}
    assert all((PROJECT_ROOT / body_json(response)[name]).is_file() for name in ('docs', 'openapi'))


def test_the_index_follows_the_settings_and_ignores_keys(client, paygate_env):
    paygate_env.setenv('PAYGATE_CLOUDMARKET_ENABLED', 'false')
    from tests.conftest import reset_caches
    reset_caches()
    shown = body_json(check_response('GET', '/', client.http.get('/', headers=PUBLISHABLE)))
    assert shown['cloudmarket'] is False and shown['providers'] == ['codepay']


def test_the_version_is_the_latest_release_everywhere():
    changelog = (PROJECT_ROOT / 'CHANGELOG.md').read_text(encoding='utf-8')
    latest = re.search(r'^## \[(\d+\.\d+\.\d+)\]', changelog, re.MULTILINE)[1]
    assert VERSION == latest == spec()['info']['version']
