"""`make run`: Paygate on http://127.0.0.1:8000 with the `local` stage.

Checks the ports, the stage and its settings first (localdev/startup.py: one line
and exit 1 for a problem), then starts DynamoDB Local (data kept in .local/dynamodb-data) unless
PAYGATE_DYNAMODB_ENDPOINT names another DynamoDB endpoint, creates the
table, starts the provider sandbox on 127.0.0.1:8001 (with a merchant webhook
receiver), a worker thread that delivers webhooks and runs compensation,
then serves the app.
PAYGATE_WEBHOOKS in the environment replaces the stage's webhook endpoints
(e.g. to deliver to `paygate listen`).
Ctrl-C stops everything it started.
"""
import argparse
import contextlib
import json
import os
import signal
import sys

from localdev import LOCAL_DIR, startup
from localdev.dynamodb_local import DynamoDBLocal, client_environment
from localdev.sandbox import Sandbox, generated_environment
from localdev.server import create_server, stage_environment
from localdev.worker import LocalWorker

HOST = '127.0.0.1'


def _stop_on_signals():
    """Ctrl-C and SIGTERM both stop everything this command started (also when a
    non-interactive shell started it in the background with SIGINT ignored)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def main(argv=None):
    _stop_on_signals()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8000, help="Paygate's port (make run PORT=...)")
    parser.add_argument('--sandbox-port', type=int, default=8001,
                        help="the sandbox's port (make run SANDBOX_PORT=...)")
    parser.add_argument('--stage', default='local')
    parser.add_argument('--data-dir', default=str(LOCAL_DIR / 'dynamodb-data'),
                        help='where the embedded DynamoDB Local keeps its data')
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except startup.StartupError as exc:
        print(f'make run: {exc}', file=sys.stderr, flush=True)
        return 1


def _run(args):
    startup.check_stage(args.stage)
    startup.check_ports(args.port, args.sandbox_port)
    stage_env = _on_ports(stage_environment(args.stage), args.port, args.sandbox_port)
    if os.environ.get('PAYGATE_WEBHOOKS'):
        stage_env['PAYGATE_WEBHOOKS'] = os.environ['PAYGATE_WEBHOOKS']
    startup.check_names(args.stage, stage_env, os.environ)
    stage_env.update(generated_environment({**os.environ, **stage_env}))
    os.environ.update(stage_env)
    loaded, products = startup.check_settings(args.stage, stage_env, os.environ)
    paygate_url, sandbox_url = f'http://{HOST}:{args.port}', f'http://{HOST}:{args.sandbox_port}'
    with contextlib.ExitStack() as running:
        endpoint = os.environ.get('PAYGATE_DYNAMODB_ENDPOINT') or _start_dynamodb(running, args.data_dir)
        os.environ.update(client_environment(endpoint))
        _create_table(loaded, products)
        with startup.claiming(args.sandbox_port, startup.SANDBOX):
            running.enter_context(Sandbox(dict(os.environ), args.sandbox_port, paygate_url))
        with startup.claiming(args.port, startup.PAYGATE):
            server = create_server(args.stage, HOST, args.port, overrides=stage_env)
        running.enter_context(LocalWorker())
        print(f'DynamoDB: {endpoint}\n'
              f'Sandbox:  {sandbox_url} (open it: what it plays, and a pay button per provider)\n'
              f'Paygate:  {paygate_url} (stage {args.stage}); Ctrl-C stops everything.\n'
              f'{_first_steps(loaded, products, paygate_url, sandbox_url)}', flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print('\nStopping.')
        finally:
            server.server.server_close()
    return 0


def _on_ports(stage_env, port, sandbox_port):
    """The stage's URLs name the default ports (8000 Paygate, 8001 sandbox); follow the chosen ones."""
    def moved(value):
        return (value.replace(f'{HOST}:8000', f'{HOST}:{port}')
                .replace(f'{HOST}:8001', f'{HOST}:{sandbox_port}'))
    return {name: moved(value) for name, value in stage_env.items()}


def _start_dynamodb(running, data_dir):
    print(f'Starting DynamoDB Local (data in {data_dir}) ...', flush=True)
    try:
        return running.enter_context(DynamoDBLocal(data_dir=data_dir)).endpoint
    except RuntimeError as exc:
        raise startup.StartupError(str(exc)) from None


def _create_table(loaded, products):
    from chalicelib import aws, tables
    tables.create(aws.client('dynamodb'), loaded.table_name)
    print(f'Table {loaded.table_name} ready; {len(products)} products; '
          f'providers: {", ".join(loaded.providers)}', flush=True)


# A payer each provider takes in the sandbox, for the first order `make run` suggests.
EXAMPLE_PAYERS = {'codepay': {'channel': 'alipay'}, 'alipay': {}, 'wechatpay': {'openid': 'oSandboxBuyer'}}


def _first_steps(loaded, products, paygate_url, sandbox_url):
    """The first requests to try: an order with the stage's publishable key, then paying it."""
    provider = next((name for name in EXAMPLE_PAYERS if name in loaded.providers), None)
    if provider is None:
        return f'Try: curl -s {paygate_url}/'
    body = json.dumps({'provider': provider, 'product_id': next(iter(products)).id,
                       'payer': EXAMPLE_PAYERS[provider]})
    key = loaded.publishable_keys.value.split(',')[0].strip()
    return (f"Try an order: curl -s -X POST {paygate_url}/orders -H 'X-Api-Key: {key}' "
            f"-H 'Content-Type: application/json' -d '{body}'\n"
            f'Then pay it:  curl -s -X POST {sandbox_url}/{provider}/pay/<its order_id>\n'
            f'See its event: {_cli(paygate_url)} events list --order <its order_id>')


def _cli(paygate_url):
    """The paygate CLI as it reaches this run (by default it calls the default port)."""
    default = paygate_url == f'http://{HOST}:8000'
    return '.venv/bin/paygate' if default else f'.venv/bin/paygate --url {paygate_url}'


if __name__ == '__main__':
    sys.exit(main())
