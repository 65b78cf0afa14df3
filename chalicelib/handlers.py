"""One function per route: request in, one call into chalicelib, response out."""
import logging
from dataclasses import replace

from chalicelib import auth, notifications, orders, providers, refunds, settings, web

log = logging.getLogger('paygate.handlers')


@web.api
def create_order(request):
    auth.require(request.headers, auth.PUBLISHABLE)
    body = web.json_body(request)
    status, order = orders.create(body, request.headers.get('idempotency-key'))
    return web.json_response(status, order)


@web.api
def get_order(request, order_id):
    auth.require(request.headers, auth.PUBLISHABLE)
    return web.json_response(200, orders.view(orders.get(order_id)))


@web.api
def close_order(request, order_id):
    auth.require(request.headers, auth.SECRET)
    return web.json_response(200, orders.close(order_id))


@web.api
def create_refund(request, order_id):
    auth.require(request.headers, auth.SECRET)
    status, refund = refunds.create(order_id, web.json_body(request))
    return web.json_response(status, refund)


def notify(request, provider_name):
    """A provider's notification; always answered in the provider's own format."""
    if provider_name not in settings.get().providers:
        return web.json_response(404, {'error': {'code': 'not_found',
                                                 'message': f'{provider_name} is not enabled'}})
    try:
        reply = notifications.handle(provider_name, web.inbound(request))
    except Exception:
        log.exception('%s notification failed on our side', provider_name)
        rejected = providers.Rejected('internal', 'internal error')
        reply = replace(providers.load(provider_name).failure(rejected), status=500)
    return web.reply_response(reply)
