"""Memory: peak RSS of a process serving Codepay notifications, against a baseline process.

Baseline: a fresh interpreter that imports chalice and boto3 and makes one
DynamoDB call (what any Lambda function of this app carries anyway).
Measured: the app answering one notification, then COUNT more (growth shows leaks).
No target: shown for the functions' memory sizes (deploy/functions.py).
Run: .venv/bin/python -m bench.memory [--smoke]
"""
import os
import subprocess
import sys

from bench import common, figures
from localdev import PROJECT_ROOT

COUNT = 300
BASELINE = '''
import chalice, boto3, os
boto3.client('dynamodb', endpoint_url=os.environ['PAYGATE_DYNAMODB_ENDPOINT']).get_item(
    TableName=os.environ['PAYGATE_TABLE'], Key={'pk': {'S': 'x'}, 'sk': {'S': 'x'}})
'''
SERVE = '''
import sys, resource
import app
from chalice.test import Client
from bench.common import codepay_body, insert_open_order
count = int(sys.argv[1])
orders = [insert_open_order(f'mem{count}x{n:06d}') for n in range(count)]
with Client(app.app, stage_name='bench') as client:
    for n, order in enumerate(orders):
        reply = client.http.post('/notify/codepay', body=codepay_body(order['out_trade_no'], f'M{count}x{n}'),
                                 headers={'Content-Type': 'application/x-www-form-urlencoded'})
        assert reply.body == b'success', reply.body
'''
REPORT = '''
import resource
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''


def peak_kib(code, env, *args):
    """The peak RSS (KiB) the child process reports as the last line it prints."""
    run = subprocess.run([sys.executable, '-c', code, *args], cwd=PROJECT_ROOT, env={**os.environ, **env},
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f'memory probe failed:\n{run.stderr[-3000:]}')
    return int(run.stdout.split()[-1])


def measure(smoke=False):
    count = 3 if smoke else COUNT
    with common.engine() as engine:
        env = common.environment(engine)
        baseline = peak_kib(BASELINE + REPORT, env)
        one = peak_kib(SERVE + REPORT, env, '1')
        many = peak_kib(SERVE + REPORT, env, str(count))
    print(f'baseline (chalice + boto3 + one call): {baseline / 1024:.1f} MiB')
    print(f'app + 1 notification:    {one / 1024:.1f} MiB = {one / baseline:.2f}x baseline')
    print(f'app + {count} notifications: {many / 1024:.1f} MiB = {many / baseline:.2f}x baseline')
    return [figures.info('memory: peak RSS, app + 1 Codepay notification', f'{one / baseline:.2f}x baseline'),
            figures.info(f'memory: peak RSS, app + {count} Codepay notifications', f'{many / baseline:.2f}x baseline')]


if __name__ == '__main__':
    figures.run(measure, __doc__.split('\n')[0])
