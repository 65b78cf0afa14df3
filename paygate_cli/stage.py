"""A stage's settings as the CLI sees them: what it needs to sign as the providers do.

The local stage is `.chalice/config.json` (stage `local`) with its `file:`
references read from the project root, plus the keys `make run` makes for the
sandbox's providers: the sandbox "Alipay"'s and "WeChat Pay"'s private keys,
which Paygate never holds. A deployed stage is a keys file (JSON, the same
setting names; `file:` paths from the file's folder) given with --keys;
`paygate keys new` writes one.
"""
import json
import os
from pathlib import Path

from paygate_cli.errors import CliError

CONFIG = Path('.chalice') / 'config.json'
SANDBOX_ALIPAY_KEY = 'PAYGATE_SANDBOX_ALIPAY_KEY'
SANDBOX_WECHATPAY_KEY = 'PAYGATE_SANDBOX_WECHATPAY_KEY'
SANDBOX_KEYS = {SANDBOX_ALIPAY_KEY: 'file:.local/alipay-sandbox/alipay_private_key.pem',
                SANDBOX_WECHATPAY_KEY: 'file:.local/wechatpay-sandbox/wechatpay_private_key.pem'}
REMOTE_REFERENCES = ('ssm:', 'secretsmanager:')


class Settings:
    """Setting name -> value, with `file:` references read on use."""

    def __init__(self, values, origin, base_dir):
        self.values = dict(values)
        self.origin = origin
        self.base_dir = Path(base_dir)

    def get(self, name, default=None):
        value = self.values.get(name)
        if value is None or value == '':
            return default
        if value.startswith('file:'):
            return self._read(name, value[len('file:'):])
        if value.startswith(REMOTE_REFERENCES):
            raise CliError(f'{name} is a reference ({value.partition(":")[0]}:) in {self.origin}; '
                           'put its value in a keys file and pass --keys FILE')
        return value

    def require(self, name):
        value = self.get(name)
        if value is None:
            raise CliError(f'{name} is not set in {self.origin}')
        return value

    def _read(self, name, relative):
        path = self.base_dir / relative
        try:
            return path.read_text()
        except OSError:
            hint = ' (run `make run` once: it makes the sandbox keys)' if '.local' in path.parts else ''
            raise CliError(f'{name}: cannot read {path}{hint}') from None


def project_root():
    """The Paygate checkout: from the working directory up, else the one this CLI was installed from."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parent.parent):
        if (folder / CONFIG).is_file():
            return folder
    raise CliError('no .chalice/config.json here or above: run from a Paygate checkout, or pass --keys FILE')


def stage_values(root, stage):
    """The environment variables `.chalice/config.json` gives `stage` (top level, then the stage's)."""
    try:
        config = json.loads((root / CONFIG).read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f'cannot read {root / CONFIG}: {exc}') from None
    stages = config.get('stages', {})
    if stage not in stages:
        raise CliError(f'no stage {stage!r} in {root / CONFIG} (stages: {", ".join(stages)})')
    return {**config.get('environment_variables', {}), **stages[stage].get('environment_variables', {})}


def local():
    root = project_root()
    return Settings({**SANDBOX_KEYS, **stage_values(root, 'local')}, f'the local stage ({root / CONFIG})', root)


def from_file(path):
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except OSError as exc:
        raise CliError(f'cannot read the keys file {path}: {exc.strerror}') from None
    except ValueError as exc:
        raise CliError(f'the keys file {path} is not JSON: {exc}') from None
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise CliError(f'the keys file {path} must be a JSON object of strings')
    return Settings(values, f'the keys file {path}', path.parent)


def write_file(path, values):
    """Merge `values` into the keys file at `path` (created readable by its owner only)."""
    path = Path(path)
    current = from_file(path).values if path.exists() else {}
    merged = json.dumps({**current, **values}, indent=2, ensure_ascii=False) + '\n'
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'w') as handle:
        handle.write(merged)
