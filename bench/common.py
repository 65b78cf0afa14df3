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


def insert_open_order(out_trade_no):
    """A CREATED Codepay order for gold_60 (600 fen), stored as POST /orders would store it."""
    from chalicelib import catalog, orders, store
    request = {'provider': 'codepay', 'scene': 'qr', 'out_trade_no': out_trade_no, 'quantity': 1,
               'client_ip': None, 'metadata': {}}
    order = {**orders.new_order_item(request, catalog.get().get('gold_60'), {}),
             'client_params': {'qrcode': 'x'}, 'provider_data': {'quoted_money': 600}}
    store.orders.insert(order, 'bench')
    return order


def codepay_body(out_trade_no, pay_no):
    from urllib.parse import urlencode
    from chalicelib.providers.codepay import sign as codepay
    fields = {'pay_id': out_trade_no, 'money': '6.00', 'price': '6.00', 'pay_no': pay_no, 'type': '1'}
    fields['sign'] = codepay.sign(fields, CODEPAY_KEY)
    return urlencode(fields).encode()
