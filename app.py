"""Paygate's routes. Each one hands the request to chalicelib.handlers."""
from chalice import Chalice

from chalicelib import settings

app = Chalice(app_name='paygate')
settings.get()

ANY = ['*/*']


def _handlers():
    from chalicelib import handlers
    return handlers


@app.route('/orders', methods=['POST'], content_types=ANY)
def create_order():
    return _handlers().create_order(app.current_request)


@app.route('/orders/{order_id}', methods=['GET'], content_types=ANY)
def get_order(order_id):
    return _handlers().get_order(app.current_request, order_id)


@app.route('/orders/{order_id}/close', methods=['POST'], content_types=ANY)
def close_order(order_id):
    return _handlers().close_order(app.current_request, order_id)


@app.route('/orders/{order_id}/refunds', methods=['POST'], content_types=ANY)
def create_refund(order_id):
    return _handlers().create_refund(app.current_request, order_id)


@app.route('/notify/codepay', methods=['POST'], content_types=ANY)
def notify_codepay():
    return _handlers().notify(app.current_request, 'codepay')


@app.route('/notify/midas', methods=['GET'], content_types=ANY)
def notify_midas():
    return _handlers().notify(app.current_request, 'midas')


@app.route('/midas/balance', methods=['GET'], content_types=ANY)
def midas_balance():
    return _handlers().midas_balance(app.current_request)


@app.route('/midas/payments', methods=['POST'], content_types=ANY)
def midas_payment():
    return _handlers().midas_payment(app.current_request)


@app.route('/midas/presents', methods=['POST'], content_types=ANY)
def midas_present():
    return _handlers().midas_present(app.current_request)


@app.lambda_function(name='midas_settle')
def midas_settle(event, context):
    """Polls get_balance_m every 15 s for up to 2 min after a coin recharge (invoke it async)."""
    return _handlers().midas_settle(event)
