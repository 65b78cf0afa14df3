"""Memory: peak RSS of a process serving Codepay notifications, against a baseline process.

Baseline: a fresh interpreter that imports chalice and boto3 and makes one
DynamoDB call (what any Lambda function of this app carries anyway).
Measured: the app answering one notification, then 300 more (growth shows leaks).
Run: .venv/bin/python -m bench.memory
"""
import os
import subprocess
import sys

from bench import common
from bench.cold_start import BASELINE
from localdev import PROJECT_ROOT

SERVE = '''
import sys, resource
import app
from chalice.test import Client
from bench.common import codepay_body, insert_open_order
count = int(sys.argv[1])
orders = [insert_open_order(f'mem{count}x{n:06d}') for n in range(count)]
with Client(app.app, stage_name='bench') as client:
    for n, order in enumerate(orders):
        reply = client.http.post('/notify/codepay', body=codepay_body(order['out_trade_no'], f'M{n}'),
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
                         check=True, capture_output=True, text=True)
    return int(run.stdout.split()[-1])


def main():
    with common.engine() as engine:
        env = common.environment(engine)
        baseline = peak_kib(BASELINE + REPORT, env)
        one = peak_kib(SERVE + REPORT, env, '1')
        many = peak_kib(SERVE + REPORT, env, '300')
    print(f'baseline (chalice + boto3 + one call): {baseline / 1024:.1f} MiB (= 1.00)')
    print(f'app + 1 notification:                  {one / baseline:.2f} x baseline')
    print(f'app + 300 notifications:               {many / baseline:.2f} x baseline')


if __name__ == '__main__':
    main()
