"""Every example in the Markdown runs as written.

- `sh` blocks (and a `<!-- run: table -->` table's commands) of a page run in order, in one bash, against
  `make run`'s program started on free ports: the examples' 8000 and 8001 become those ports,
  `.venv/bin` is on the PATH, PAYGATE_URL names the run, and `curl` fails on an HTTP error
  (`--fail-with-body`). A block marked `<!-- not run: <why> -->` is left alone.
- `json` blocks parse; one marked `<!-- schema: X -->` is valid under docs/openapi.yaml's schema X, one
  marked `<!-- setting: PAYGATE_CATALOG -->` or `PAYGATE_WEBHOOKS` loads as that setting.
- `python` blocks run; the webhook check is run against Paygate's own signature.
- every `$ paygate ...` line of a `console` block (a transcript) parses with the CLI's own click commands,
  so a renamed command or option, or a value its choices no longer allow, fails here; nothing is run.
"""
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from localdev import PROJECT_ROOT
from tests import docs_markdown
from tests.local_run import RunCommand
from tests.openapi_check import pointer, schema_errors

LANGUAGES = ('sh', 'json', 'python', 'text', 'console')
MARKERS = ('not run', 'schema', 'setting', 'run')
TIMEOUT = 180


def _pages():
    return [path for path in docs_markdown.markdown_files() if path.name != 'CHANGELOG.md']


BLOCKS = [block for path in _pages() for block in docs_markdown.blocks(path)]


def _runnable(block):
    return block.language == 'sh' and (block.marker is None or block.marker[0] == 'run')


SHELL_PAGES = sorted({block.path for block in BLOCKS if _runnable(block)})


@pytest.mark.parametrize('block', BLOCKS, ids=[b.where for b in BLOCKS])
def test_every_block_says_what_it_is(block):
    assert block.language in LANGUAGES, f'{block.where}: fence language {block.language!r}'
    if block.marker:
        kind, value = block.marker
        assert kind in MARKERS and value, f'{block.where}: marker {block.marker}'
        assert kind != 'not run' or block.language == 'sh', f'{block.where}: only sh blocks are run'


@pytest.fixture(scope='module')
def run(dynamodb_local, tmp_path_factory):
    started = RunCommand(tmp_path_factory.mktemp('unused'),
                         extra_env={'PAYGATE_DYNAMODB_ENDPOINT': dynamodb_local.endpoint})
    started.keep_reading()
    yield started
    started.stop()


def _script(page, run):
    lines = ['set -euo pipefail', 'curl() { command curl --fail-with-body -sS "$@"; }']
    for block in docs_markdown.blocks(page):
        if _runnable(block):
            text = (block.text.replace('127.0.0.1:8000', f'127.0.0.1:{run.port}')
                    .replace('127.0.0.1:8001', f'127.0.0.1:{run.sandbox_port}'))
            lines += [f'echo "### {block.where}"', text]
    return '\n'.join(lines)


@pytest.mark.parametrize('page', SHELL_PAGES, ids=[str(p.relative_to(PROJECT_ROOT)) for p in SHELL_PAGES])
def test_shell_examples_run_against_the_local_run(page, run):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(('PAYGATE_', 'AWS_'))}
    environment.update(PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}',
                       PAYGATE_URL=run.url)
    done = subprocess.run(['bash', '-c', _script(page, run)], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, (f'exit {done.returncode}\n--- stdout (the block that failed is the '
                                  f'last ###)\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-3000:]}')


def test_the_readme_pays_an_order_at_every_provider():
    [table] = [b for b in docs_markdown.blocks(PROJECT_ROOT / 'README.md') if b.marker == ('run', 'table')]
    for provider in ('codepay', 'alipay', 'wechatpay', 'midas'):
        assert f'curl -s -X POST http://127.0.0.1:8001/{provider}/pay/$(order {provider} ' in table.text
    assert '--version v2' in table.text and '/midas/payments' in table.text
    assert 'cloudmarket createInstance' in table.text and '/merchant/webhooks' in table.text


JSON_BLOCKS = [b for b in BLOCKS if b.language == 'json']


@pytest.mark.parametrize('block', JSON_BLOCKS, ids=[b.where for b in JSON_BLOCKS])
def test_json_examples(block):
    value = json.loads(block.text)
    kind, name = block.marker or (None, None)
    if kind == 'schema':
        assert schema_errors(pointer('components', 'schemas', name), value) == []
    elif kind == 'setting':
        from chalicelib import catalog
        from chalicelib.webhooks import endpoints
        load = {'PAYGATE_CATALOG': catalog.parse, 'PAYGATE_WEBHOOKS': endpoints.parse}[name]
        assert load(block.text)


def _python(marker_text):
    [block] = [b for b in BLOCKS if b.language == 'python' and marker_text in b.text]
    namespace = {}
    exec(compile(block.text, block.where, 'exec'), namespace)
    return namespace


@pytest.mark.parametrize('block', [b for b in BLOCKS if b.language == 'python'],
                         ids=[b.where for b in BLOCKS if b.language == 'python'])
def test_python_examples_run(block):
    exec(compile(block.text, block.where, 'exec'), {})


def test_the_documented_webhook_check_accepts_paygate_and_refuses_the_rest():
    from chalicelib.webhooks import signature
    verify = _python('def verify(')['verify']
    body = b'{"id":"evt_1","type":"order.paid"}'
    header = signature.header(body, ['whsec_new', 'whsec_old'], 1796187566)
    assert verify(body, header, 'whsec_old', now=1796187566)
    assert not verify(body + b' ', header, 'whsec_old', now=1796187566)
    assert not verify(body, header, 'whsec_other', now=1796187566)
    assert not verify(body, header, 'whsec_new', now=1796187566 + 301)
    assert not verify(body, '', 'whsec_new', now=1796187566)


CONSOLE_COMMANDS = [(block, line[2:]) for block in BLOCKS if block.language == 'console'
                    for line in block.text.splitlines() if line.startswith('$ paygate ')]
FILES_THE_TRANSCRIPTS_READ = ('apiclient_cert.p12',)


def _commands(group):
    for command in group.commands.values():
        yield from _commands(command) if isinstance(command, click.Group) else [command]


@pytest.fixture
def parse_only(monkeypatch, tmp_path):
    """The `paygate` command group with every command's action replaced by nothing: click still
    parses a whole command line (global options, command names, options, arguments and their types)."""
    from paygate_cli.main import cli
    for command in _commands(cli):
        monkeypatch.setattr(command, 'callback', lambda **params: None)
    monkeypatch.chdir(tmp_path)
    for name in FILES_THE_TRANSCRIPTS_READ:
        (tmp_path / name).write_bytes(b'')
    return cli


@pytest.mark.parametrize('block, line', CONSOLE_COMMANDS,
                         ids=[f'{b.where} {line}'[:90] for b, line in CONSOLE_COMMANDS])
def test_transcript_commands_parse_with_the_cli(block, line, parse_only):
    words = shlex.split(line)[1:]
    words = words[:words.index('|')] if '|' in words else words
    result = CliRunner().invoke(parse_only, words)
    assert result.exit_code == 0, f'{block.where}: `$ {line}` does not parse: {result.output}'
