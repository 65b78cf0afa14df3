"""Cold start: a fresh Lambda-like process that imports the handler and serves one valid, paying notification.

Each run is a new interpreter on a Lambda-like path (bench/lambda_site.py:
the deployment package's contents, uncompiled, then the runtime's boto3), with
the stage's environment as a deployed notify function has it: the settings
the dev stage keeps in SSM given as `ssm:` references (SSM played by moto's
server on 127.0.0.1, reached through AWS_ENDPOINT_URL_SSM), PAYGATE_PREFETCH
as the template sets it for that function (deploy/template.py), and DynamoDB
Local holding the order the notification pays (created beforehand through
POST /orders). The process imports app.py and hands one API Gateway event to
its Lambda entry point; the time from the first import to the answer is
compared with the baseline: a fresh interpreter on the runtime's path alone
that imports boto3, makes one DynamoDB client and one GetItem. Runs
alternate between the baseline and each provider; the fastest run of each
series is compared (wall time judged, CPU time shown beside it), and Codepay
is run once more with its settings as plain values, to show what SSM costs.
One more run per provider records every network call the cold process makes
(bench/calls.py): one GetParameters for its settings and one TransactWriteItems.
Run: .venv/bin/python -m bench.cold_start [--smoke]
"""
import json
import os
import statistics
import subprocess
import uuid
from types import SimpleNamespace

from bench import figures, kits, lambda_site
from localdev import PROJECT_ROOT

RUNS = 11
TARGET = 1.3
HEAVY = ('requests', 'urllib3', 'Crypto', 'defusedxml', 'cryptography', 'OpenSSL')
# The stage whose ssm: settings the bench follows: every setting it keeps in SSM is a reference here too.
DEPLOYED_STAGE = 'dev'
PARAMETER_PREFIX = '/paygate/bench'
EXPECTED_CALLS = ['ssm:GetParameters', 'dynamodb:TransactWriteItems']

BASELINE = '''
import json, os, sys, time
started, cpu = time.perf_counter(), time.process_time()
import boto3
boto3.client('dynamodb', endpoint_url=os.environ['PAYGATE_DYNAMODB_ENDPOINT']).get_item(
    TableName=os.environ['PAYGATE_TABLE'], Key={'pk': {'S': 'x'}, 'sk': {'S': 'x'}})
print(json.dumps({'seconds': time.perf_counter() - started, 'cpu': time.process_time() - cpu}))
'''
NOTIFY = '''
import json, sys, time
event, counting = json.loads(sys.argv[1]), sys.argv[2] == 'count'
if counting:
    from bench.calls import Recorder
    recorder = Recorder()
    recording = recorder.recording()
    recording.__enter__()
started, cpu = time.perf_counter(), time.process_time()
import app
response = app.app(event, None)
result = {'seconds': time.perf_counter() - started, 'cpu': time.process_time() - cpu, 'response': response}
if counting:
    result.update(recorder.as_dict(),
                  loaded=sorted({m.split('.')[0] for m in sys.modules} & set(HEAVY)))
print(json.dumps(result))
'''.replace('HEAVY', repr(HEAVY))


def run_child(code, env, *args):
    """The JSON object a child process prints as its last line."""
    done = subprocess.run(lambda_site.command(code, *args), cwd=lambda_site.SITE, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f'cold-start process failed:\n{done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def base_environment(engine, table):
    """What every child has: no site-packages, local credentials, the table."""
    from localdev.dynamodb_local import client_environment
    return {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'LANG': 'C.UTF-8',
            **client_environment(engine.endpoint), 'PAYGATE_TABLE': table}


def deployed_settings(plain, ssm_client):
    """`plain` with each setting the deployed stage keeps in SSM stored there and given as a reference."""
    config = json.loads((PROJECT_ROOT / '.chalice' / 'config.json').read_text())
    in_ssm = {name for name, value in config['stages'][DEPLOYED_STAGE]['environment_variables'].items()
              if value.startswith('ssm:')}
    settings = dict(plain)
    for name in sorted(in_ssm & set(plain)):
        value = _plain_value(plain[name])
        path = f'{PARAMETER_PREFIX}/{name.lower()}'
        ssm_client.put_parameter(Name=path, Value=value, Type='SecureString', Overwrite=True,
                                 Tier='Advanced' if len(value) > 4096 else 'Standard')
        settings[name] = f'ssm:{path}'
    return settings


def _plain_value(value):
    kind, _, path = value.partition(':')
    return (PROJECT_ROOT / path).read_text() if kind == 'file' else value


def function_environment(app_module, route, settings):
    """The function's settings plus what the template adds: PAYGATE_PREFETCH, the function's name."""
    from deploy import plan, policy
    [function] = [f for f in plan.build(app_module.app) if ('POST', route) in f.routes or ('GET', route) in f.routes]
    return {**settings, 'PAYGATE_PREFETCH': ','.join(policy.settings_read(function, settings)),
            'AWS_LAMBDA_FUNCTION_NAME': f'paygate-bench-{function.name}'}


class Provider:
    """One provider's cold runs: its orders (made beforehand), environment and results.
    `expected` is the network calls a cold process makes (None: not judged, a comparison only)."""

    def __init__(self, label, kit, env, events, expected=EXPECTED_CALLS):
        self.label, self.kit, self.env, self.events, self.expected = label, kit, env, events, expected
        self.seconds, self.cpu, self.answers, self.counted = [], [], [], None

    def run(self, counting=False):
        result = run_child(NOTIFY, self.env, json.dumps(self.events.pop()), 'count' if counting else 'time')
        self.answers.append(_succeeded(self.kit, result['response']))
        if counting:
            self.counted = result
        else:
            self.seconds.append(result['seconds'])
            self.cpu.append(result['cpu'])


def _succeeded(kit, response):
    import base64
    body = response.get('body') or ''
    raw = base64.b64decode(body) if response.get('isBase64Encoded') else body.encode('utf-8')
    return kit.success(SimpleNamespace(status_code=response['statusCode'], body=raw))


def prepare(stage, engine, ssm_endpoint, table, runs):
    """Per provider: `runs` + 2 orders inserted and as many paying notifications, as Lambda events;
    and Codepay once more with every setting a plain value (what SSM costs, for comparison)."""
    import boto3
    from chalice.test import Client
    ssm = boto3.client('ssm', endpoint_url=ssm_endpoint, region_name='us-east-1',
                       aws_access_key_id='local', aws_secret_access_key='local')
    prepared = []
    for number, (label, kit) in enumerate(kits.MAIN):
        stage.apply(kit, table, engine.endpoint)
        if number == 0:
            from chalicelib import aws, tables
            tables.create(aws.client('dynamodb'), table)
        import app
        with Client(app.app, stage_name='test') as client:
            orders = [kits.create_order(client, stage, kit) for _ in range(2 * runs + 4 if number == 0 else runs + 2)]
        events = [kits.lambda_event(stage.notification(kit, order)) for order in orders]
        plain = stage.environment(kit, table, None)
        settings = deployed_settings(plain, ssm)
        env = {**base_environment(engine, table), **function_environment(app, f'/notify/{kit.route}', settings),
               'AWS_ENDPOINT_URL_SSM': ssm_endpoint, **lambda_site.environment()}
        prepared.append(Provider(label, kit, env, events[:runs + 2]))
        if number == 0:
            plain_env = {**env, **function_environment(app, f'/notify/{kit.route}', plain)}
            prepared.append(Provider(f'{label}, settings not in SSM', kit, plain_env, events[runs + 2:],
                                     expected=None))
    return prepared


def measure(smoke=False):
    import logging
    from localdev.dynamodb_local import DynamoDBLocal
    from moto.server import ThreadedMotoServer
    logging.getLogger('werkzeug').setLevel(logging.ERROR)      # the moto server's access log
    runs = 1 if smoke else RUNS
    lambda_site.build()
    stage = kits.Stage()
    table = f'paygate-bench-{uuid.uuid4().hex[:8]}'
    ssm_server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    ssm_server.start()
    try:
        with DynamoDBLocal() as engine:
            host, port = ssm_server.get_host_and_port()
            providers = prepare(stage, engine, f'http://{host}:{port}', table, runs)
            baseline_env = {**base_environment(engine, table), **lambda_site.environment(package=False)}
            baseline = []
            for provider in providers:          # warm-up: DynamoDB Local's JIT, the disk cache
                run_child(BASELINE, baseline_env)
                provider.run()
                provider.seconds.clear()
                provider.cpu.clear()
            for _ in range(runs):
                baseline.append(run_child(BASELINE, baseline_env))
                for provider in providers:
                    provider.run()
            counting_env = {'PYTHONPATH': os.pathsep.join([lambda_site.environment()['PYTHONPATH'],
                                                           str(PROJECT_ROOT)])}
            for provider in providers:
                provider.env.update(counting_env)
                provider.run(counting=True)
    finally:
        ssm_server.stop()
    return _report(baseline, providers, smoke)


def _ms(seconds):
    return ', '.join(f'{s * 1000:.0f}' for s in seconds)


def _report(baseline_runs, providers, smoke):
    """Ratios of the fastest runs: on a shared machine a slower run is another process's doing, so the
    fastest of a series is what the code costs (as `timeit` reasons); medians are printed beside them."""
    baseline, baseline_cpu = (min(run[key] for run in baseline_runs) for key in ('seconds', 'cpu'))
    print(f'baseline, the runtime\'s path only: import boto3 + one DynamoDB client + one GetItem: fastest '
          f'{baseline * 1000:.0f} ms, {baseline_cpu * 1000:.0f} ms CPU; median '
          f'{statistics.median(run["seconds"] for run in baseline_runs) * 1000:.0f} ms '
          f'({len(baseline_runs)} runs: {_ms(run["seconds"] for run in baseline_runs)})')
    found = []
    for provider in providers:
        wall, cpu, counted = min(provider.seconds), min(provider.cpu), provider.counted
        print(f'{provider.label}: import app + one paying notification: fastest {wall * 1000:.0f} ms, '
              f'{cpu * 1000:.0f} ms CPU; median {statistics.median(provider.seconds) * 1000:.0f} ms '
              f'({len(provider.seconds)} runs: {_ms(provider.seconds)}); '
              f'every answer the provider\'s success: {all(provider.answers)}')
        print(f'  network: {counted["calls"]}, HTTP requests to {counted["requests"]}; '
              f'heavy modules loaded: {", ".join(counted["loaded"]) or "none"}')
        name = f'{provider.label}: cold first paying notification'
        if provider.expected is None:
            found.append(figures.info(f'{name} / baseline', f'{wall / baseline:.2f}x'))
            continue
        found.append(figures.ratio(f'{name} / baseline', wall / baseline, TARGET, smoke))
        found.append(figures.info(f'{name} / baseline, CPU time', f'{cpu / baseline_cpu:.2f}x'))
        found.append(_calls_figure(provider))
    return found


def _calls_figure(provider):
    counted = provider.counted
    endpoints = {provider.env['AWS_ENDPOINT_URL_SSM'], provider.env['PAYGATE_DYNAMODB_ENDPOINT']}
    hosts = {endpoint.split('//', 1)[1] for endpoint in endpoints}
    others = [host for host in counted['requests'] + counted['connections'] if host not in hosts]
    met = all(provider.answers) and counted['calls'] == provider.expected and len(counted['requests']) == 2 \
        and not others
    measured = ' + '.join(call.split(':')[1] for call in counted['calls']) + \
        ('' if all(provider.answers) else ', answered failure') + (f'; also {", ".join(others)}' if others else '')
    return figures.check(f'{provider.label}: cold first paying notification, network calls',
                         'GetParameters + TransactWriteItems', measured, met)


if __name__ == '__main__':
    figures.run(measure, __doc__.split('\n')[0])
