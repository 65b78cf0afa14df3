"""Shared set-up for the benchmarks: DynamoDB Local, a table, the test-stage environment.

Every figure is printed as a ratio to a baseline measured in the same run on
the same machine, so numbers from different machines can be compared.
"""
import os
import statistics
import subprocess
import sys
import time
import uuid

from localdev import PROJECT_ROOT
from localdev.dynamodb_local import DynamoDBLocal, client_environment

CODEPAY_KEY = 'bench-codepay-key'
ENV = {
    'PAYGATE_STAGE': 'bench', 'PAYGATE_PUBLIC_URL': 'http://127.0.0.1:9',
    'PAYGATE_CATALOG': 'file:chalicelib/catalog.sample.json',
    'PAYGATE_PUBLISHABLE_KEYS': 'pk_bench', 'PAYGATE_SECRET_KEYS': 'sk_bench',
    'PAYGATE_PROVIDERS': 'codepay', 'PAYGATE_CODEPAY_ID': '1', 'PAYGATE_CODEPAY_KEY': CODEPAY_KEY,
    'PAYGATE_CODEPAY_URL': 'http://127.0.0.1:9',
}


def environment(engine):
    table = f'paygate-bench-{uuid.uuid4().hex[:8]}'
    env = {**ENV, **client_environment(engine.endpoint), 'PAYGATE_TABLE': table}
    os.environ.update(env)
    from chalicelib import aws, tables
    aws.reset()
    tables.create(aws.client('dynamodb'), table)
    return env


def engine():
    return DynamoDBLocal()


def median_seconds(command, env, runs):
    """Median wall time of a Python command in a fresh interpreter."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, '-c', command], cwd=PROJECT_ROOT, env={**os.environ, **env},
                       check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def insert_open_order(out_trade_no, amount=600):
    from chalicelib import store
    order = {'order_id': 'ord_' + uuid.uuid4().hex[:24], 'out_trade_no': out_trade_no,
             'provider': 'codepay', 'product_id': 'gold_60', 'quantity': 1, 'amount': amount,
             'currency': 'CNY', 'status': 'CREATED', 'created_at': '2026-11-22T08:00:00Z',
             'expires_at': '2026-11-22T08:30:00Z', 'payer': {}, 'metadata': {},
             'client_params': {'qrcode': 'x'}, 'refunded_amount': 0, 'refund_pending_amount': 0,
             'version': 1}
    store.insert_order(order, 'bench')
    return order


def codepay_body(out_trade_no, pay_no):
    from urllib.parse import urlencode
    from chalicelib.providers import codepay
    fields = {'pay_id': out_trade_no, 'money': '6.00', 'pay_no': pay_no, 'type': '1'}
    fields['sign'] = codepay.sign(fields, CODEPAY_KEY)
    return urlencode(fields).encode()
