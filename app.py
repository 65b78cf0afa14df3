"""Paygate's routes, event handlers and scheduled functions. Each one hands over to chalicelib."""
import logging
import os

from chalice import Chalice, Cron, Rate

from chalicelib import deadline, logs, settings

app = Chalice(app_name='paygate')
# Chalice sends its `paygate` logger to stdout at ERROR unless in debug; Paygate's own
# loggers (paygate.notify, ...) are its children, and their warnings and info (refused
# notifications, probes, webhook failures) must reach CloudWatch, as JSON lines there.
app.log.setLevel(logging.INFO)
logs.configure(app.log)
settings.check_at_start(app.log)

ANY = ['*/*']
# Replaced by the table's stream in the packaged template (deploy/template.py); unused locally.
LOCAL_STREAM = 'arn:aws:dynamodb:us-east-1:000000000000:table/paygate-local/stream/local'


@app.middleware('all')
def bind_log_context(event, get_response):
    logs.bind(event)
    return get_response(event)


@app.middleware('http')
def answer_in_time(event, get_response):
    started = deadline.start(app.lambda_context)
    try:
        return get_response(event)
    finally:
        deadline.end(started)


def _handlers():
    from chalicelib import handlers
    return handlers


@app.route('/', methods=['GET'], content_types=ANY)
def index():
    return _handlers().index(app.current_request)


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


@app.route('/events', methods=['GET'], content_types=ANY)
def list_events():
    return _handlers().list_events(app.current_request)


@app.route('/events/{event_id}', methods=['GET'], content_types=ANY)
def get_event(event_id):
    return _handlers().get_event(app.current_request, event_id)


@app.route('/events/{event_id}/resend', methods=['POST'], content_types=ANY)
def resend_event(event_id):
    return _handlers().resend_event(app.current_request, event_id)


@app.route('/reconciliations', methods=['POST'], content_types=ANY)
def reconcile():
    return _handlers().reconcile(app.current_request)


@app.route('/reconciliations/{provider}/{date}', methods=['GET'], content_types=ANY)
def get_reconciliation(provider, date):
    return _handlers().get_reconciliation(app.current_request, provider, date)


@app.schedule(Cron(30, 2, '*', '*', '?', '*'))
def reconcile_yesterday(event):
    """10:30 China time (02:30 UTC): yesterday's bills are out (Alipay before 09:00, WeChat Pay after 10:00)."""
    from chalicelib.reconciliation import service
    service.run_yesterday()


@app.on_dynamodb_record(stream_arn=os.environ.get('PAYGATE_TABLE_STREAM_ARN', LOCAL_STREAM), batch_size=10)
def deliver_new_events(event):
    """First delivery attempts: new delivery rows from the table's stream (filtered in the template)."""
    from chalicelib.webhooks import worker
    worker.handle_stream([record.keys for record in event])


@app.on_sqs_message(queue=os.environ.get('PAYGATE_WEBHOOK_QUEUE', 'paygate-webhooks'), batch_size=1)
def deliver_webhooks(event):
    """Delayed retries (and resends) of webhook deliveries."""
    from chalicelib.webhooks import worker
    for record in event:
        worker.handle_message(record.body)


@app.schedule('rate(1 minute)')
def sweep_webhooks(event):
    from chalicelib.webhooks import worker
    worker.sweep()


@app.schedule('rate(5 minutes)')
def compensate(event):
    from chalicelib import compensation
    compensation.run()


@app.route('/cloudmarket', methods=['POST'], content_types=ANY)
def cloudmarket():
    return _handlers().cloudmarket(app.current_request)


@app.route('/cloudmarket/login/{token}', methods=['GET'], content_types=ANY)
def cloudmarket_login(token):
    return _handlers().cloudmarket_login(app.current_request, token)


@app.route('/instances/{sign_id}', methods=['GET'], content_types=ANY)
def get_instance(sign_id):
    return _handlers().get_instance(app.current_request, sign_id)


@app.route('/notify/alipay', methods=['POST'], content_types=ANY)
def notify_alipay():
    return _handlers().notify(app.current_request, 'alipay')


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


@app.route('/notify/wechatpay', methods=['POST'], content_types=ANY)
def notify_wechatpay():
    return _handlers().notify(app.current_request, 'wechatpay')


@app.route('/notify/wechatpay/v3', methods=['POST'], content_types=ANY)
def notify_wechatpay_v3():
    return _handlers().notify(app.current_request, 'wechatpay/v3')


@app.schedule(Rate(12, unit=Rate.HOURS))
def refresh_certificates(event):
    """Providers' rotating platform certificates (WeChat Pay API v3), downloaded and kept."""
    return _handlers().refresh_certificates()
