"""`paygate orders|events|instances`: Paygate's API, as tables for a person and JSON with --json."""
import secrets

import click

from paygate_cli import output
from paygate_cli.client import segment
from paygate_cli.errors import UsageProblem

# A payer the local sandbox accepts, for each provider that needs one (pass --payer for real ones).
SANDBOX_PAYERS = {
    'codepay': lambda: {'channel': 'alipay'},
    'wechatpay': lambda: {'js_code': 'cli-' + secrets.token_hex(8)},
    'midas': lambda: {'openid': 'OPENID-PAYGATE-CLI', 'openkey': 'PAYTOKEN-PAYGATE-CLI',
                      'pf': 'desktop_m_qq-2001-android-2011-ysdk', 'pfkey': 'PFKEY-PAYGATE-CLI',
                      'login_type': 'qq', 'zoneid': '1'},
}
EVENT_COLUMNS = [('id', 'id'), ('type', 'type'), ('subject', 'order / instance'), ('amount', 'amount'),
                 ('created_at', 'created'), ('delivery_status', 'delivery')]


def name_values(pairs, option):
    """NAME=VALUE options as a dict."""
    found = {}
    for pair in pairs:
        name, given, value = pair.partition('=')
        if not given or not name:
            raise UsageProblem(f'{option} takes NAME=VALUE, not {pair!r}')
        found[name] = value
    return found


def show(ctx, data, render):
    if ctx.json:
        output.as_json(data)
    else:
        render(data)


@click.group()
def orders():
    """Create, read, close and refund orders."""


@orders.command('create')
@click.argument('provider')
@click.argument('product_id')
@click.option('--quantity', type=click.IntRange(min=1), default=1, show_default=True)
@click.option('--payer', 'payer', multiple=True, metavar='NAME=VALUE',
              help="The payer's fields (repeat it); default: a login the local sandbox accepts.")
@click.option('--scene', help="The provider's scene (default its first: wechatpay jsapi, alipay app).")
@click.option('--client-ip', help="The buyer's IP address (WeChat Pay h5 needs it).")
@click.option('--out-trade-no', help='Your order number (default: Paygate makes one).')
@click.option('--metadata', multiple=True, metavar='NAME=VALUE', help='Metadata to keep (repeat it).')
@click.option('--idempotency-key', help='Makes a retried create return the same order.')
@click.pass_obj
def orders_create(ctx, provider, product_id, quantity, payer, scene, client_ip, out_trade_no, metadata,
                  idempotency_key):
    """Create an order with the publishable key: POST /orders."""
    # WeChat Pay's scenes other than jsapi take no payer.
    sandbox_payer = SANDBOX_PAYERS.get(provider, dict)() if provider != 'wechatpay' or scene in (None, 'jsapi') else {}
    body = {'provider': provider, 'product_id': product_id, 'quantity': quantity,
            'payer': name_values(payer, '--payer') if payer else sandbox_payer,
            'metadata': name_values(metadata, '--metadata')}
    for name, value in (('scene', scene), ('client_ip', client_ip), ('out_trade_no', out_trade_no)):
        if value:
            body[name] = value
    headers = {'Idempotency-Key': idempotency_key} if idempotency_key else None
    show(ctx, ctx.paygate().call('POST', '/orders', body, publishable=True, headers=headers), output.pairs)


@orders.command('get')
@click.argument('order_id')
@click.pass_obj
def orders_get(ctx, order_id):
    """Show an order: GET /orders/{id}."""
    show(ctx, ctx.paygate().call('GET', f'/orders/{segment(order_id)}'), output.pairs)


@orders.command('close')
@click.argument('order_id')
@click.option('--payer', multiple=True, metavar='NAME=VALUE', help="A login the provider needs (Midas coins).")
@click.pass_obj
def orders_close(ctx, order_id, payer):
    """Close an unpaid order: POST /orders/{id}/close."""
    body = {'payer': name_values(payer, '--payer')} if payer else None
    show(ctx, ctx.paygate().call('POST', f'/orders/{segment(order_id)}/close', body), output.pairs)


@orders.command('refund')
@click.argument('order_id')
@click.option('--amount', type=click.IntRange(min=1), required=True, metavar='FEN')
@click.option('--refund-no', help='Makes a retried refund safe (default: Paygate makes one).')
@click.option('--reason', default='')
@click.option('--payer', multiple=True, metavar='NAME=VALUE', help="A login the provider needs (Midas coins).")
@click.pass_obj
def orders_refund(ctx, order_id, amount, refund_no, reason, payer):
    """Refund some or all of a paid order: POST /orders/{id}/refunds."""
    body = {'amount': amount, 'reason': reason}
    if refund_no:
        body['refund_no'] = refund_no
    if payer:
        body['payer'] = name_values(payer, '--payer')
    show(ctx, ctx.paygate().call('POST', f'/orders/{segment(order_id)}/refunds', body), output.pairs)


@click.group()
def events():
    """List, show and resend webhook events."""


@events.command('list')
@click.option('--type', 'event_type', help='Only this type, e.g. order.paid.')
@click.option('--order', 'order_id', help="Only this order's events.")
@click.option('--instance', 'instance_id', help="Only this marketplace instance's events (its signId).")
@click.option('--delivered/--undelivered', default=None, help='Only those delivered, or not (yet).')
@click.option('--limit', type=click.IntRange(1, 100), default=20, show_default=True)
@click.option('--cursor', help='Continue a listing (the cursor the last page printed).')
@click.pass_obj
def events_list(ctx, event_type, order_id, instance_id, delivered, limit, cursor):
    """List events, oldest first: GET /events."""
    params = {'type': event_type, 'order_id': order_id, 'instance_id': instance_id, 'limit': limit,
              'cursor': cursor, 'delivered': None if delivered is None else str(delivered).lower()}
    page = ctx.paygate().call('GET', '/events', params={k: v for k, v in params.items() if v is not None})
    show(ctx, page, _show_page)


def _show_page(page):
    output.table([summary(event) for event in page['data']], EVENT_COLUMNS)
    if page.get('next_cursor'):
        click.echo(f'more: --cursor {page["next_cursor"]}')


def summary(event):
    """One line's worth of an event: what it is about and the amount it moved."""
    data = event.get('data', {})
    order, instance, refund = data.get('order') or {}, data.get('instance') or {}, data.get('refund') or {}
    amount = refund.get('amount', order.get('amount'))
    return {**event, 'subject': order.get('order_id') or instance.get('sign_id'),
            'amount': None if amount is None else f'{amount} fen'}


@events.command('get')
@click.argument('event_id')
@click.pass_obj
def events_get(ctx, event_id):
    """Show an event, its deliveries and every attempt: GET /events/{id}."""
    show(ctx, ctx.paygate().call('GET', f'/events/{segment(event_id)}'), _show_event)


@events.command('resend')
@click.argument('event_id')
@click.pass_obj
def events_resend(ctx, event_id):
    """Deliver an event again to every endpoint that takes it: POST /events/{id}/resend."""
    show(ctx, ctx.paygate().call('POST', f'/events/{segment(event_id)}/resend'), _show_event)


def _show_event(event):
    output.pairs({k: v for k, v in event.items() if k not in ('deliveries', 'attempts')})
    click.echo()
    output.table(event.get('deliveries', []), [('endpoint_id', 'endpoint'), ('state', 'state'),
                                               ('attempts', 'attempts'), ('last_status', 'last status'),
                                               ('delivered_at', 'delivered'), ('due_at', 'due')])
    if event.get('attempts'):
        click.echo()
        output.table(event['attempts'], [('endpoint_id', 'endpoint'), ('number', '#'), ('at', 'at'),
                                         ('status', 'status'), ('latency_ms', 'ms'), ('response', 'response')])


@click.group()
def instances():
    """Cloud Marketplace SaaS instances."""


@instances.command('get')
@click.argument('sign_id')
@click.pass_obj
def instances_get(ctx, sign_id):
    """Show an instance: GET /instances/{signId}."""
    show(ctx, ctx.paygate().call('GET', f'/instances/{segment(sign_id)}'), output.pairs)
