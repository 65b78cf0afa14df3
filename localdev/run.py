"""`make run`: Paygate on http://127.0.0.1:8000 with the `local` stage.

Starts DynamoDB Local (data kept in .local/dynamodb-data) unless
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
import os
import signal
import sys

from localdev import LOCAL_DIR
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
    parser.add_argument('--port', type=int, default=8000)
    parser.add_argument('--sandbox-port', type=int, default=8001)
    parser.add_argument('--stage', default='local')
    parser.add_argument('--data-dir', default=str(LOCAL_DIR / 'dynamodb-data'),
                        help='where the embedded DynamoDB Local keeps its data')
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as running:
        endpoint = os.environ.get('PAYGATE_DYNAMODB_ENDPOINT')
        if not endpoint:
            print(f'Starting DynamoDB Local (data in {args.data_dir}) ...', flush=True)
            engine = running.enter_context(DynamoDBLocal(data_dir=args.data_dir))
            endpoint = engine.endpoint
        os.environ.update(client_environment(endpoint))
        stage_env = _on_ports(stage_environment(args.stage), args.port, args.sandbox_port)
        if os.environ.get('PAYGATE_WEBHOOKS'):
            stage_env['PAYGATE_WEBHOOKS'] = os.environ['PAYGATE_WEBHOOKS']
        stage_env.update(generated_environment({**os.environ, **stage_env}))
        _prepare(stage_env)
        paygate_url = f'http://{HOST}:{args.port}'
        running.enter_context(Sandbox({**os.environ, **stage_env}, args.sandbox_port, paygate_url))
        server = create_server(args.stage, HOST, args.port, overrides=stage_env)
        running.enter_context(LocalWorker())
        print(f'DynamoDB: {endpoint}\nSandbox: http://{HOST}:{args.sandbox_port}\n'
              f'Paygate: {paygate_url} (stage {args.stage}); Ctrl-C stops everything.', flush=True)
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


def _prepare(stage_env):
    """Create the table and check settings and catalog before serving anything."""
    os.environ.update(stage_env)
    from chalicelib import aws, catalog, settings, tables
    loaded = settings.get()
    products = catalog.get()
    tables.create(aws.client('dynamodb'), loaded.table_name)
    print(f'Table {loaded.table_name} ready; {len(products)} products; '
          f'providers: {", ".join(loaded.providers)}', flush=True)


if __name__ == '__main__':
    sys.exit(main())
