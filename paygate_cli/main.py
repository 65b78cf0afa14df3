"""The `paygate` command: global options, the commands, and errors as one line and an exit code."""
import sys
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

import click

from paygate_cli import stage
from paygate_cli.client import Paygate
from paygate_cli.commands import api, doctor, keys, listen, reconcile, trigger
from paygate_cli.errors import CliError

LOCAL_URL = 'http://127.0.0.1:8000'


@dataclass
class Context:
    """The global options, and what they lead to, made when a command first needs it."""
    url: str
    secret_key: Optional[str]
    api_key: Optional[str]
    keys_file: Optional[str]
    json: bool
    _settings: Optional[stage.Settings] = field(default=None, repr=False)

    def settings(self):
        if self._settings is None:
            self._settings = stage.from_file(self.keys_file) if self.keys_file else stage.local()
        return self._settings

    def paygate(self):
        return Paygate(self.url, self.secret_key or self._first('PAYGATE_SECRET_KEYS'),
                       self.api_key or self._first('PAYGATE_PUBLISHABLE_KEYS'))

    @property
    def paygate_path(self):
        return urlsplit(self.url).path.rstrip('/')

    def _first(self, name):
        """The first of a comma-separated key setting, when the settings can be read here."""
        try:
            value = self.settings().get(name)
        except CliError:
            return None
        return value.split(',')[0].strip() if value else None


class PaygateGroup(click.Group):
    """Runs a command; any error is one line on stderr with exit code 1 (2 for usage), never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ''
            _fail(f'{exc.format_message()}{hint}', 2)
        except CliError as exc:
            _fail(str(exc), exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _fail('interrupted', 130)
        except Exception as exc:  # a bug of ours: still one line for the user
            _fail(f'unexpected {type(exc).__name__}: {exc}', 1)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message, code):
    click.echo(f'paygate: {message}', err=True)
    sys.exit(code)


@click.group(cls=PaygateGroup, context_settings={'help_option_names': ['-h', '--help'], 'max_content_width': 100})
@click.option('--url', envvar='PAYGATE_URL', default=LOCAL_URL, show_default=True,
              help="Paygate's base URL (PAYGATE_URL); a deployed stage's includes its /api.")
@click.option('--secret-key', envvar='PAYGATE_SECRET_KEY', metavar='SK',
              help="Secret key (PAYGATE_SECRET_KEY); default: the local stage's, or the keys file's.")
@click.option('--api-key', envvar='PAYGATE_API_KEY', metavar='PK',
              help="Publishable key (PAYGATE_API_KEY), for orders create; default as --secret-key.")
@click.option('--keys', 'keys_file', envvar='PAYGATE_KEYS', metavar='FILE',
              help='A keys file (JSON of settings, PAYGATE_KEYS) for a deployed stage; default: the local '
                   'stage (.chalice/config.json and the sandbox keys `make run` makes).')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON instead of tables.')
@click.pass_context
def cli(ctx, url, secret_key, api_key, keys_file, as_json):
    """Work Paygate from a terminal: send providers' signed notifications, listen for webhooks,
    read and change orders, events and instances, reconcile a day."""
    ctx.obj = Context(url, secret_key, api_key, keys_file, as_json)


for command in (trigger.trigger, listen.listen, api.orders, api.events, api.instances, reconcile.reconcile,
                keys.keys, doctor.doctor):
    cli.add_command(command)


def run():
    cli.main(prog_name='paygate')
