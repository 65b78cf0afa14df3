"""`make run` refuses to start on a problem it can name: one line on stderr, exit 1, nothing started."""
import ast
import os
import re
import socket
import subprocess
import sys

import pytest

from chalicelib import settings
from localdev import PROJECT_ROOT, startup
from localdev.ports import free_port
from localdev.server import stage_environment
from tests.conftest import reset_caches

NAME = re.compile(r'PAYGATE_[A-Z0-9_]*[A-Z0-9]')


def run_command(*args, **extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PAYGATE_', 'AWS_'))}
    env.update(extra_env)
    done = subprocess.run([sys.executable, '-m', 'localdev.run', *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def refused(*args, **extra_env):
    """The one line `make run` stopped with (nothing printed on stdout: nothing was started)."""
    status, out, err = run_command(*args, **extra_env)
    assert (status, out) == (1, ''), err
    [line] = err.splitlines()
    assert 'Traceback' not in err and line.startswith('make run: ')
    return line[len('make run: '):]


@pytest.fixture
def busy_port():
    with socket.socket() as holder:
        holder.bind(('127.0.0.1', 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_port_in_use_names_the_port_and_how_to_choose_another(busy_port):
    line = refused('--port', str(busy_port), '--sandbox-port', str(free_port()))
    found = re.fullmatch(rf'port {busy_port} \(Paygate\) is in use; choose another: '
                         r'make run PORT=(\d+) \(or --port (\d+)\)', line)
    assert found and found[1] == found[2] and int(found[1]) != busy_port
    line = refused('--port', str(free_port()), '--sandbox-port', str(busy_port))
    assert re.fullmatch(rf'port {busy_port} \(the sandbox\) is in use; choose another: '
                        r'make run SANDBOX_PORT=\d+ \(or --sandbox-port \d+\)', line)


def test_the_two_servers_cannot_share_a_port():
    port = free_port()
    assert refused('--port', str(port), '--sandbox-port', str(port)).startswith(
        f'Paygate and the sandbox cannot share port {port}: make run PORT={port} SANDBOX_PORT=')


def test_an_unknown_stage_is_named_with_the_stages_there_are():
    assert refused('--stage', 'staging', '--port', str(free_port()), '--sandbox-port', str(free_port())) == (
        'stage staging is not in .chalice/config.json (its stages: local, dev, prod)')


def test_a_misspelt_setting_in_the_environment_is_named_with_the_right_one():
    line = refused('--port', str(free_port()), '--sandbox-port', str(free_port()),
                   PAYGATE_WECHATPAY_API_VERISON='v2', PAYGATE_URL='http://127.0.0.1:9000')
    assert line == ('PAYGATE_WECHATPAY_API_VERISON is not a Paygate setting; '
                    'did you mean PAYGATE_WECHATPAY_API_VERSION? (in your environment)')


def test_a_bad_setting_from_the_environment_says_so():
    line = refused('--port', str(free_port()), '--sandbox-port', str(free_port()),
                   PAYGATE_ORDER_TTL_SECONDS='soon')
    assert line == ("setting PAYGATE_ORDER_TTL_SECONDS must be an integer, got 'soon' "
                    '(from your environment; stage local of .chalice/config.json does not set it)')


def test_the_makefile_passes_the_ports_and_ignores_a_port_in_the_environment():
    def planned(*args, **env):
        done = subprocess.run(['make', '-n', 'run', *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              env={**os.environ, **env}, timeout=60)
        return [line for line in done.stdout.splitlines() if 'localdev.run' in line]

    assert planned('PORT=8300', 'SANDBOX_PORT=8301') == [
        '.venv/bin/python -m localdev.run --port 8300 --sandbox-port 8301']
    assert planned(PORT='5000') == ['.venv/bin/python -m localdev.run --port 8000 --sandbox-port 8001']


# The checks themselves, on a stage as .chalice/config.json gives it, with one thing changed.

@pytest.fixture
def local_stage(paygate_env):
    """The local stage's variables in the environment, as `make run` puts them there."""
    for name in list(os.environ):
        if name.startswith('PAYGATE_'):
            paygate_env.delenv(name)
    stage = stage_environment('local')
    stage['PAYGATE_CATALOG'] = 'file:chalicelib/catalog.sample.json'
    for name in [n for n, v in stage.items() if v.startswith('file:.local/')]:
        stage[name] = 'inline-for-the-test'

    def applied(**changes):
        changed = {**stage, **changes}
        for name, value in changed.items():
            if value is None:
                paygate_env.delenv(name, raising=False)
            else:
                paygate_env.setenv(name, value)
        reset_caches()
        return {name: value for name, value in changed.items() if value is not None}
    return applied


WHERE = '(stage local: .chalice/config.json, stages.local.environment_variables)'


@pytest.mark.parametrize('changes, message', [
    ({'PAYGATE_PUBLIC_URL': None}, 'missing required setting PAYGATE_PUBLIC_URL'),
    ({'PAYGATE_MIDAS_ENV': 'staging'}, "PAYGATE_MIDAS_ENV must be sandbox or production, got 'staging'"),
    ({'PAYGATE_CATALOG': '[{"id": "gold_60", "name": "60 gold", "price": 6.5}]'},
     "setting PAYGATE_CATALOG: product 'gold_60': price must be a positive integer (fen)"),
    ({'PAYGATE_CATALOG': '[{"id": "gold_60", '}, 'setting PAYGATE_CATALOG: catalog is not valid JSON'),
    ({'PAYGATE_ALIPAY_APP_PRIVATE_KEY': 'file:.local/no-such-key.pem'},
     'setting PAYGATE_ALIPAY_APP_PRIVATE_KEY: cannot read '),
])
def test_a_bad_stage_setting_or_catalog_is_one_line_naming_it_the_stage_and_the_config(local_stage, changes,
                                                                                      message):
    stage_env = local_stage(**changes)
    with pytest.raises(startup.StartupError) as raised:
        startup.check_settings('local', stage_env, os.environ)
    line = str(raised.value)
    assert line.startswith(message) and line.endswith(WHERE) and '\n' not in line


def test_the_local_stage_itself_passes(local_stage):
    loaded, products = startup.check_settings('local', local_stage(), os.environ)
    assert loaded.stage == 'local' and products.get('gold_60').price == 600


def test_a_misspelt_name_in_the_stage_is_named_with_its_place():
    stage_env = {**stage_environment('local'), 'PAYGATE_WECHATPAY_API_VERISON': 'v2'}
    with pytest.raises(startup.StartupError) as raised:
        startup.check_names('local', stage_env, {'PAYGATE_URL': 'http://127.0.0.1:9000', 'HOME': '/root'})
    assert str(raised.value) == ('PAYGATE_WECHATPAY_API_VERISON is not a Paygate setting; did you mean '
                                 'PAYGATE_WECHATPAY_API_VERSION? (in stage local of .chalice/config.json)')


def test_every_stage_of_the_config_names_only_settings_paygate_reads():
    for stage in ('local', 'dev', 'prod'):
        assert settings.unknown_names(stage_environment(stage)) == [], stage


def test_the_tools_names_are_exactly_those_the_cli_and_the_sandbox_read():
    """startup.TOOLS: the names in paygate_cli/ and localdev/ that Paygate itself does not read."""
    found = set()
    for path in [*(PROJECT_ROOT / 'paygate_cli').rglob('*.py'), *(PROJECT_ROOT / 'localdev').rglob('*.py')]:
        text = path.read_text(encoding='utf-8')
        if path == PROJECT_ROOT / 'localdev' / 'startup.py':
            [listing] = [node for node in ast.parse(text).body if isinstance(node, ast.Assign)
                         and [target.id for target in node.targets] == ['TOOLS']]
            lines = text.splitlines()
            text = '\n'.join(lines[:listing.lineno - 1] + lines[listing.end_lineno:])
        found |= set(NAME.findall(text))
    assert found - settings.NAMES == startup.TOOLS
