"""Round trips: the DynamoDB requests (and any other network call) of notifications and order creation.

Against DynamoDB Local, through the routes (chalice.test.Client), every
provider enabled. For each provider: its first valid notification for an
order, the same notification again (a verified duplicate), and order
creation on every path: plain, with out_trade_no, with an Idempotency-Key, and
the replays of both. botocore calls are counted by an event hook, HTTP
requests, connections and name lookups by Python's audit events
(bench/calls.py); the provider's API that order creation calls is mocked at
the transport, so only DynamoDB is on the wire there.
Run: .venv/bin/python -m bench.round_trips [--smoke]
"""
import logging
import uuid

from bench import figures, kits
from bench.calls import Recorder

NOTIFY_CALL = 'dynamodb:TransactWriteItems'
CREATION_PATHS = ('plain', 'with out_trade_no', 'with Idempotency-Key',
                  'replay of an Idempotency-Key', 'replay of an out_trade_no')
CREATION_LIMIT = 2


class Bench:
    def __init__(self, recorder, stage, engine):
        self.recorder, self.stage, self.engine = recorder, stage, engine
        self.dynamodb = {f'127.0.0.1:{engine.port}'}
        self.serial = 0

    def dynamodb_calls(self):
        return [call for call in self.recorder.calls if call.startswith('dynamodb:')]

    def create(self, client, kit, extra=None, headers=None):
        body = {'provider': kit.name, 'product_id': 'gold_60', 'payer': kit.payer, **(extra or {})}
        with self.recorder.recording():
            order = kits.create_order(client, self.stage, kit, body, headers)
        return order, self.dynamodb_calls()

    def creation(self, client, kit):
        """{path: the DynamoDB calls it made}, and the plain path's order."""
        self.serial += 1
        trade_no = f'bench{uuid.uuid4().hex[:12]}{self.serial}'
        key = {'Idempotency-Key': f'bench-{uuid.uuid4().hex}'}
        made = {}
        order, made['plain'] = self.create(client, kit)
        _, made['with out_trade_no'] = self.create(client, kit, {'out_trade_no': trade_no})
        _, made['with Idempotency-Key'] = self.create(client, kit, headers=key)
        _, made['replay of an Idempotency-Key'] = self.create(client, kit, headers=key)
        _, made['replay of an out_trade_no'] = self.create(client, kit, {'out_trade_no': trade_no})
        return made, order

    def notify(self, client, kit, sent):
        """(answered success, DynamoDB calls, anything else on the network)."""
        with self.recorder.recording():
            response = kits.send(client, sent)
        others = self.recorder.others({NOTIFY_CALL}, self.dynamodb)
        wire = [host for host in self.recorder.requests if host in self.dynamodb]
        return kit.success(response), self.dynamodb_calls(), wire, others


def measure(smoke=False):
    from chalice.test import Client
    from localdev.dynamodb_local import DynamoDBLocal
    recorder = Recorder()            # before any botocore session is made
    stage = kits.Stage()
    table = f'paygate-bench-{uuid.uuid4().hex[:8]}'
    results = []
    with DynamoDBLocal() as engine:
        bench = Bench(recorder, stage, engine)
        for number, (label, kit) in enumerate(kits.KITS):
            stage.apply(kit, table, engine.endpoint)
            if number == 0:
                from chalicelib import aws, tables
                tables.create(aws.client('dynamodb'), table)
            import app
            app.app.log.setLevel(logging.WARNING)       # no line per notification
            with Client(app.app, stage_name='test') as client:
                made, order = bench.creation(client, kit)
                sent = stage.notification(kit, order)
                first = bench.notify(client, kit, sent)
                duplicate = bench.notify(client, kit, sent)
            results.append((label, made, first, duplicate))
    _print_details(results)
    return _figures(results)


def _print_details(results):
    print('DynamoDB calls per request (botocore), and HTTP requests on the wire to DynamoDB Local:')
    for label, made, first, duplicate in results:
        print(f'  {label}')
        for path, calls in made.items():
            print(f'    POST /orders, {path + ":":<31} {", ".join(calls)}')
        for name, (success, calls, wire, others) in (('first valid notification', first),
                                                     ('verified duplicate', duplicate)):
            print(f'    {name + ":":<44} {", ".join(calls)}; {len(wire)} on the wire; '
                  f'answered {"success" if success else "FAILURE"}; other network calls: {others or "none"}')


def _notification_figure(label, name, result):
    """One request on the wire, a TransactWriteItems, answered success, nothing else on the network."""
    success, calls, wire, others = result
    met = success and calls == [NOTIFY_CALL] and len(wire) == 1 and not others
    measured = (f'{len(wire)} ({", ".join(c.split(":")[1] for c in calls)})'
                + ('' if success else ', answered failure') + (f'; also {", ".join(others)}' if others else ''))
    return figures.check(f'{label}: {name}, DynamoDB requests', '1 (TransactWriteItems), nothing else',
                         measured, met)


def _figures(results):
    found = []
    for label, made, first, duplicate in results:
        found.append(_notification_figure(label, 'first valid notification', first))
        found.append(_notification_figure(label, 'verified duplicate', duplicate))
    for path in CREATION_PATHS:
        worst = max(len(made[path]) for _, made, _, _ in results)
        found.append(figures.count(f'order creation, {path}: DynamoDB requests (most of {len(results)})',
                                   worst, CREATION_LIMIT))
    return found


if __name__ == '__main__':
    figures.run(measure, __doc__.split('\n')[0])
