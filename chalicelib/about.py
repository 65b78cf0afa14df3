"""What GET / answers: which Paygate this is, so a first request finds its way (no credential needed).

It shows nothing a client of the stage could not learn anyway: the stage's name, the providers
POST /orders accepts, and where the HTTP contract is written.
"""
from chalicelib import VERSION, settings

NAME = 'paygate'
# Where the contract lives: paths in Paygate's repository (the deployed code does not carry them).
DOCS = 'docs/api.md'
OPENAPI = 'docs/openapi.yaml'


def index():
    loaded = settings.get()
    return {'name': NAME, 'version': VERSION, 'stage': loaded.stage,
            'providers': list(loaded.providers), 'cloudmarket': loaded.cloudmarket is not None,
            'docs': DOCS, 'openapi': OPENAPI}
