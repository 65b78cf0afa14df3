"""`make package STAGE=<stage>`: a deployable template with one function per endpoint group.

    python -m deploy.package --stage prod [--out build/prod] [--project-dir .]

1. Loads the app as Chalice does for the stage and places every route and event
   handler (deploy/functions.py); a route no rule covers stops here, and so does
   a stage variable still holding one of the config's example values (each one
   named), or a `file:` setting naming a file the deployment package does not carry.
2. Writes <out>/project: the project's code and a .chalice/config.json that adds,
   for this stage, `autogen_policy: false` and per-function `iam_policy_file`s,
   memory, timeout and reserved concurrency, with the generated policy files
   beside it. Generated at every run from the code and the committed config,
   so they are never stale; the committed .chalice/config.json stays as written.
3. Writes <out>/merge.json (deploy/template.py) and <out>/resources.json (the
   table and queues alone, for a `chalice deploy` stack).
4. Runs `chalice package --stage <stage> --merge-template <out>/merge.json <out>`
   (-> <out>/sam.json and deployment.zip) and checks both templates with cfn-lint.
5. Finishes deployment.zip (deploy/lambda_zip.py: compiled bytecode added,
   packages' test suites left out), prints its size and its ten largest
   entries, and stops when it is over ZIP_LIMIT.

Chalice needs a region configured (AWS_DEFAULT_REGION), no credentials.
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from deploy import functions, lambda_zip, plan, policy, template

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ('app.py', 'chalicelib', 'requirements.txt', 'vendor')
CHALICE = 'import sys; from chalice.cli import main; sys.exit(main())'
# Every function carries the whole package; a small one loads fast and stays far from
# Lambda's 50 MB limit. cryptography (for WeChat Pay .p12 files) stays in the dev tools.
ZIP_LIMIT = 5_000_000
LARGEST = 10


def load(project_dir, stage_name):
    """The stage and its functions. Imports the app with the stage's environment, as Chalice does."""
    from chalice.cli.factory import CLIFactory
    factory = CLIFactory(str(project_dir), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage_name)
    return plan.Stage.from_config(config), plan.build(config.chalice_app)


# The example values .chalice/config.json's deployed stages ship with: CHANGE-ME-..., URLs at the
# domains reserved for examples (RFC 2606), and all-zero serials and key ids (`0000...`,
# `PUB_KEY_ID_0000...`, `wx0000...`).
CHANGE_ME = 'CHANGE-ME'
EXAMPLE_DOMAINS = ('example.com', 'example.net', 'example.org')
ALL_ZEROS = re.compile(r'[A-Za-z_]*0{8,}')


def placeholders(env):
    """(name, value) of each variable in `env` that still holds an example value."""
    return [(name, value) for name, value in sorted(env.items())
            if CHANGE_ME in value or ALL_ZEROS.fullmatch(value) or _example_url(value)]


def _example_url(value):
    if not value.startswith(('http://', 'https://')):
        return False
    host = urlsplit(value).hostname or ''
    return any(host == domain or host.endswith(f'.{domain}') for domain in EXAMPLE_DOMAINS)


def check_placeholders(stage):
    """Refuse a stage that still holds example values, naming every one of them."""
    found = placeholders(stage.env)
    if found:
        listed = ''.join(f'\n  {name} = {value!r}' for name, value in found)
        raise functions.PackagingError(
            f'stage {stage.name} still holds example values; set (or remove) them in .chalice/config.json, '
            f'stages.{stage.name}.environment_variables:{listed}')


def check_file_settings(stage, project_dir):
    """A `file:` setting is read from the deployed code: it must name a file in chalicelib/
    (Chalice packages app.py and chalicelib/; .local/ and the rest stay behind)."""
    packaged = (project_dir / 'chalicelib').resolve()
    for name, value in sorted(stage.env.items()):
        kind, _, path = value.partition(':')
        target = (project_dir / path).resolve()
        if kind == 'file' and not (target.is_relative_to(packaged) and target.is_file()):
            raise functions.PackagingError(
                f'stage {stage.name}: {name} is {value}, a file the deployment package does not carry; '
                'make it an ssm: or secretsmanager: reference')


def staged_config(config_json, plan_functions, stage_name):
    """The project's config with each Chalice-made function's role and size for this stage."""
    config = copy.deepcopy(config_json)
    stage = config['stages'].setdefault(stage_name, {})
    stage['autogen_policy'] = False
    per_function = stage.setdefault('lambda_functions', {})
    for function in plan_functions:
        if not function.is_copy:
            per_function.setdefault(function.chalice_name, {}).update({
                'iam_policy_file': policy_file(function),
                'lambda_memory_size': function.spec.memory,
                'lambda_timeout': function.spec.timeout,
                'reserved_concurrency': function.spec.reserved,
            })
    return config


def policy_file(function):
    return f'policy-{function.name}.json'


def stage_project(project_dir, staged, plan_functions, stage):
    """<out>/project: the code, the stage's config and every function's policy file."""
    if staged.exists():
        shutil.rmtree(staged)
    (staged / '.chalice').mkdir(parents=True)
    for name in PROJECT_FILES:
        source = project_dir / name
        if source.is_dir():
            shutil.copytree(source, staged / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        elif source.exists():
            shutil.copy2(source, staged / name)
    chalice_dir = staged / '.chalice'
    config_json = json.loads((project_dir / '.chalice' / 'config.json').read_text())
    write_json(chalice_dir / 'config.json', staged_config(config_json, plan_functions, stage.name))
    for function in plan_functions:
        write_json(chalice_dir / policy_file(function), policy.document(function, stage))
    # Chalice caches built dependencies here; share the project's cache.
    cache = project_dir / '.chalice' / 'deployments'
    cache.mkdir(parents=True, exist_ok=True)
    (chalice_dir / 'deployments').symlink_to(cache.resolve(), target_is_directory=True)


def write_json(path, document):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + '\n')


def run_chalice(staged, stage_name, merge, out, environ):
    subprocess.run([sys.executable, '-c', CHALICE, '--project-dir', str(staged), 'package',
                    '--stage', stage_name, '--merge-template', str(merge), str(out)],
                   env=environ, check=True)


def lint(path, region):
    """cfn-lint's findings for the template at `path`, as text (empty when clean)."""
    from cfnlint.api import lint as cfn_lint
    return [str(match) for match in cfn_lint(path.read_text(), regions=[region])]


def package(stage_name, out, project_dir=PROJECT_ROOT):
    """Everything above; returns cfn-lint's findings (empty when clean)."""
    environ = dict(os.environ)       # before the app's import adds the stage's variables
    stage, plan_functions = load(project_dir, stage_name)
    check_placeholders(stage)
    check_file_settings(stage, project_dir)
    stage_project(project_dir, out / 'project', plan_functions, stage)
    write_json(out / 'merge.json', template.merge_template(plan_functions, stage))
    write_json(out / 'resources.json', template.resources_template(plan_functions, stage))
    run_chalice(out / 'project', stage_name, out / 'merge.json', out, environ)
    with_bytecode = lambda_zip.runtime_matches(stage.runtime)
    if not with_bytecode:
        print(f'package: no bytecode added: this is Python {sys.version_info.major}.{sys.version_info.minor}, '
              f'the stage runs {stage.runtime}', file=sys.stderr)
    lambda_zip.finish(out / 'deployment.zip', with_bytecode)
    region = environ.get('AWS_REGION') or environ.get('AWS_DEFAULT_REGION') or 'us-east-1'
    return lint(out / 'sam.json', region) + lint(out / 'resources.json', region), plan_functions


def describe(plan_functions):
    width = max(len(function.name) for function in plan_functions)
    for function in plan_functions:
        spec = function.spec
        serves = ', '.join(f'{m} {p}' for m, p in function.routes) or function.trigger
        print(f'  {function.name:<{width}} {spec.memory:>5} MB {spec.timeout:>4} s '
              f'reserved {spec.reserved:<3} {serves}')
    print(f'  reserved concurrency in all: {sum(function.spec.reserved for function in plan_functions)}')


def zip_summary(path):
    """(size in bytes, the LARGEST biggest entries as (compressed, uncompressed, name)) of a zip."""
    import zipfile
    with zipfile.ZipFile(path) as archive:
        entries = sorted(((e.compress_size, e.file_size, e.filename) for e in archive.infolist()), reverse=True)
    return path.stat().st_size, entries[:LARGEST]


def oversize(path, limit=ZIP_LIMIT):
    """Why the zip at `path` may not be deployed (it is over `limit` bytes), or None."""
    size = path.stat().st_size
    return f'{path} is {size / 1e6:.2f} MB, over {limit / 1e6:.0f} MB' if size > limit else None


def describe_zip(path):
    """Print the zip's size and largest entries."""
    size, largest = zip_summary(path)
    print(f'{path}: {size / 1e6:.2f} MB (limit {ZIP_LIMIT / 1e6:.0f} MB); its {len(largest)} largest entries '
          '(compressed, uncompressed):')
    for compressed, uncompressed, name in largest:
        print(f'  {compressed / 1e3:8.1f} kB {uncompressed / 1e3:8.1f} kB  {name}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--stage', required=True)
    parser.add_argument('--out', type=Path, help='default: build/<stage>')
    parser.add_argument('--project-dir', type=Path, default=PROJECT_ROOT)
    args = parser.parse_args(argv)
    out = (args.out or args.project_dir / 'build' / args.stage).resolve()
    try:
        problems, plan_functions = package(args.stage, out, args.project_dir.resolve())
    except functions.PackagingError as exc:
        sys.exit(f'package: {exc}')
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f'package: cfn-lint found {len(problems)} problem(s) in {out}')
    print(f'{out / "sam.json"}: {len(plan_functions)} functions, cfn-lint clean')
    describe(plan_functions)
    describe_zip(out / 'deployment.zip')
    too_big = oversize(out / 'deployment.zip')
    if too_big:
        sys.exit(f'package: {too_big}')


if __name__ == '__main__':
    main()
