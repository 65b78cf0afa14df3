"""`python -m deploy.aws_models`: write the trimmed botocore service models chalicelib/aws.py loads.

A deployed function that reads its settings from SSM (or Secrets Manager) makes
a botocore client for it, and botocore parses the service's whole model to make
one: SSM's is nearly 1 MB of JSON, 30 ms of a cold start, for the one or two
calls Paygate makes. chalicelib/aws_models/ holds the same models cut down to
those operations and the shapes they use, taken from the installed botocore;
tests/test_aws_clients.py checks they still match it.
"""
import gzip
import json
from pathlib import Path

import botocore

from localdev import PROJECT_ROOT

TARGET = PROJECT_ROOT / 'chalicelib' / 'aws_models'
# service -> (api version, the operations Paygate calls)
KEPT = {'ssm': ('2014-11-06', ('GetParameters', 'GetParameter')),
        'secretsmanager': ('2017-10-17', ('GetSecretValue',))}


def full_model(service, version):
    folder = Path(botocore.__file__).parent / 'data' / service / version
    plain, packed = folder / 'service-2.json', folder / 'service-2.json.gz'
    raw = packed.read_bytes() if packed.exists() else plain.read_bytes()
    return json.loads(gzip.decompress(raw) if packed.exists() else raw)


def trimmed(model, operations):
    """`model` with only `operations`, the shapes they reach, and no documentation."""
    kept = {name: _undocumented(model['operations'][name]) for name in operations}
    shapes, wanted = {}, [ref['shape'] for op in kept.values()
                          for ref in [op.get('input'), op.get('output'), *op.get('errors', [])] if ref]
    while wanted:
        name = wanted.pop()
        if name in shapes:
            continue
        shapes[name] = shape = _undocumented(model['shapes'][name])
        wanted += [shape[key]['shape'] for key in ('member', 'key', 'value') if key in shape]
        wanted += [member['shape'] for member in shape.get('members', {}).values()]
    return {'version': model.get('version', '2.0'), 'metadata': model['metadata'], 'operations': kept,
            'shapes': dict(sorted(shapes.items()))}


def _undocumented(node):
    if isinstance(node, dict):
        return {key: _undocumented(value) for key, value in node.items() if key != 'documentation'}
    return node


def models():
    """{relative path: model} of every trimmed model."""
    return {f'{service}/{version}/service-2.json': trimmed(full_model(service, version), operations)
            for service, (version, operations) in KEPT.items()}


def main():
    for path, model in models().items():
        target = TARGET / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(model, indent=1, sort_keys=True) + '\n', encoding='utf-8')
        print(f'wrote {target.relative_to(PROJECT_ROOT)}')


if __name__ == '__main__':
    main()
