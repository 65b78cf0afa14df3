"""Per-notification cost through a real HTTP server against DynamoDB Local.

Baseline: GET /orders/{id} on the same server (auth, one GetItem, JSON).
Measured: a Codepay notification that pays an order (verify, one
transaction), and a verified duplicate of it (the same transaction, refused).
Also the keep-alive stall that disabling Nagle's algorithm removes from
`chalice local`. No target: wall time through a local server, for comparison.
Run: .venv/bin/python -m bench.notify_cost [--smoke]
"""
import logging
import time

import requests

from bench import common, figures

COUNT = 200


def quiet(handler_class):
    """The server's request handler without its access log (a line per request)."""
    return type(f'Quiet{handler_class.__name__}', (handler_class,), {'log_message': lambda self, *args: None})


def timed(session, calls):
    started = time.perf_counter()
    for method, url, kwargs in calls:
        session.request(method, url, **kwargs).raise_for_status()
    return (time.perf_counter() - started) / len(calls)


def measure(smoke=False):
    from chalice.local import ChaliceRequestHandler
    from localdev.server import BackgroundServer, NoDelayRequestHandler, create_server
    count = 5 if smoke else COUNT
    with common.engine() as engine:
        common.environment(engine)
        orders = [common.insert_open_order(f'bench{n:06d}') for n in range(count)]
        server = create_server('bench', '127.0.0.1', 0, handler_cls=quiet(NoDelayRequestHandler))
        logging.getLogger('paygate').setLevel(logging.WARNING)      # no line per notification
        server.port = server.server.server_address[1]
        form = {'Content-Type': 'application/x-www-form-urlencoded'}
        with BackgroundServer(server) as running, requests.Session() as session:
            base = running.url
            reads = [('GET', f'{base}/orders/{o["order_id"]}', {'headers': {'X-Api-Key': 'pk_bench'}})
                     for o in orders]
            pays = [('POST', f'{base}/notify/codepay',
                     {'data': common.codepay_body(o['out_trade_no'], f'P{n}'), 'headers': form})
                    for n, o in enumerate(orders)]
            timed(session, reads[:20])
            read = timed(session, reads)
            paid = timed(session, pays)
            duplicate = timed(session, pays)
            fast = timed(session, reads[:50])
        stalled = _stock_handler_read_time(orders[:50], quiet(ChaliceRequestHandler))
    print(f'baseline GET /orders/{{id}}:          {read * 1000:.2f} ms (= 1.00)')
    print(f'Codepay notification that pays:      {paid / read:.2f} x baseline')
    print(f'verified duplicate notification:     {duplicate / read:.2f} x baseline')
    print(f'keep-alive GET, stock chalice local: {stalled / fast:.1f} x the Nagle-free server')
    return [figures.info('local server: Codepay notification that pays / GET /orders/{id}', f'{paid / read:.2f}x'),
            figures.info('local server: verified duplicate / GET /orders/{id}', f'{duplicate / read:.2f}x')]


def _stock_handler_read_time(orders, handler_class):
    """The same reads through stock chalice local (Nagle on)."""
    from localdev.server import BackgroundServer, create_server
    stock = create_server('bench', '127.0.0.1', 0, handler_cls=handler_class)
    stock.port = stock.server.server_address[1]
    with BackgroundServer(stock) as running, requests.Session() as session:
        return timed(session, [('GET', f'{running.url}/orders/{o["order_id"]}',
                                {'headers': {'X-Api-Key': 'pk_bench'}}) for o in orders])


if __name__ == '__main__':
    figures.run(measure, __doc__.split('\n')[0])
