"""What `make run` checks before it starts anything, each problem said in one line (exit 1, no traceback).

The ports are free, the stage exists, every `PAYGATE_` variable is one Paygate (or a local tool) reads,
and the stage's settings, `file:` references and catalog load.
"""
import contextlib
import errno
import json
import re
import socket

from localdev import PROJECT_ROOT, ports

CONFIG = PROJECT_ROOT / '.chalice' / 'config.json'
# Variables the local tools read, not Paygate (the `paygate` CLI, the sandbox): fine in the environment
# of `make run`, never in a stage. tests/test_local_startup.py holds this to their code.
TOOLS = frozenset({'PAYGATE_URL', 'PAYGATE_API_KEY', 'PAYGATE_SECRET_KEY', 'PAYGATE_KEYS',
                   'PAYGATE_SANDBOX_ALIPAY_KEY', 'PAYGATE_SANDBOX_ALIPAY_KEYS', 'PAYGATE_SANDBOX_WECHATPAY_KEY'})
_NAME = re.compile(r'PAYGATE_[A-Z0-9_]*[A-Z0-9]')


class StartupError(Exception):
    """A problem `make run` reports in one line, exiting 1."""


def check_stage(stage):
    stages = json.loads(CONFIG.read_text(encoding='utf-8')).get('stages', {})
    if stage not in stages:
        raise StartupError(f'stage {stage} is not in .chalice/config.json (its stages: {", ".join(stages)})')


def check_ports(port, sandbox_port):
    """Both ports free on 127.0.0.1, and not the same one."""
    for number, option in ((port, 'port'), (sandbox_port, 'sandbox-port')):
        if not 0 < number < 65536:
            raise StartupError(f'--{option} {number} is not a TCP port (1-65535)')
    if port == sandbox_port:
        raise StartupError(f'Paygate and the sandbox cannot share port {port}: '
                           f'make run PORT={port} SANDBOX_PORT={_suggestion(port, {port})}')
    for number, role in ((port, PAYGATE), (sandbox_port, SANDBOX)):
        if not _free(number):
            raise StartupError(in_use(number, role, taken={port, sandbox_port}))


PAYGATE = ('Paygate', 'PORT', '--port')
SANDBOX = ('the sandbox', 'SANDBOX_PORT', '--sandbox-port')


def in_use(port, role, taken=()):
    what, variable, flag = role
    other = _suggestion(port, set(taken))
    return f'port {port} ({what}) is in use; choose another: make run {variable}={other} (or {flag} {other})'


@contextlib.contextmanager
def claiming(port, role):
    """Binding `port` inside the block: a port taken since it was checked is still one line."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise StartupError(in_use(port, role)) from None


def _free(port):
    """True when a server may listen on 127.0.0.1:port (as http.server binds: address reuse on)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def _suggestion(port, taken):
    """A free port near `port` to suggest (the next free one above it, or any free one)."""
    for candidate in range(port + 1, min(port + 100, 65536)):
        if candidate not in taken and _free(candidate):
            return candidate
    return ports.free_port()


def check_names(stage, stage_env, environ):
    """No `PAYGATE_` variable Paygate does not read, in the stage or in `make run`'s environment."""
    from chalicelib import settings
    problems = [f'{line} (in stage {stage} of .chalice/config.json)' for line in settings.unknown_names(stage_env)]
    problems += [f'{line} (in your environment)' for line in settings.unknown_names(
        {name: value for name, value in environ.items() if name not in stage_env}, also_known=TOOLS)]
    if problems:
        raise StartupError('; '.join(problems))


def check_settings(stage, stage_env, environ):
    """Load the settings and the catalog from `environ` (the stage applied), and read every `file:`
    reference; return (settings, catalog)."""
    from chalicelib import catalog, settings
    try:
        for name, value in sorted(stage_env.items()):
            if value.startswith('file:'):
                _read(name, value)
        return settings.get(), catalog.get()
    except settings.SettingsError as exc:
        named = _NAME.findall(str(exc))
        if named and named[0] not in stage_env and named[0] in environ:
            raise StartupError(f'{exc} (from your environment; stage {stage} of .chalice/config.json '
                               'does not set it)') from None
        raise StartupError(settings.failure_line(exc, stage)) from None


def _read(name, reference):
    from chalicelib import settings
    try:
        settings.resolve(reference)
    except settings.SettingsError as exc:
        raise settings.SettingsError(f'setting {name}: {exc}') from None
