"""Paygate's routes and scheduled functions. Each one hands over to chalicelib.handlers."""
from chalice import Chalice, Rate

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


@app.route('/notify/wechatpay', methods=['POST'], content_types=ANY)
def notify_wechatpay():
    return _handlers().notify(app.current_request, 'wechatpay')


@app.route('/notify/wechatpay/v3', methods=['POST'], content_types=ANY)
def notify_wechatpay_v3():
    return _handlers().notify(app.current_request, 'wechatpay/v3')


@app.schedule(Rate(12, unit=Rate.HOURS))
def refresh_wechatpay_certificates(event):
    return _handlers().refresh_wechatpay_certificates()
