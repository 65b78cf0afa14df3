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


def notify(request, route):
    """A provider's notification on /notify/<route>; always answered in the provider's format."""
    provider = providers.load_notify(route)
    if provider.NAME not in settings.get().providers:
        return web.json_response(404, {'error': {'code': 'not_found',
                                                 'message': f'{provider.NAME} is not enabled'}})
    try:
        reply = notifications.handle(route, web.inbound(request))
    except Exception:
        log.exception('%s notification failed on our side', route)
        reply = replace(provider.failure(providers.Rejected('internal', 'internal error')), status=500)
    return web.reply_response(reply)


def refresh_wechatpay_certificates():
    """Scheduled: download and cache WeChat Pay's platform certificates (API v3)."""
    config = settings.get().provider('wechatpay')
    if config is None or config.private_key is None or config.apiv3_key is None:
        return {'refreshed': [], 'skipped': 'WeChat Pay API v3 is not configured'}
    from chalicelib.errors import ProviderError
    from chalicelib.providers.wechatpay import v3
    try:
        serials = v3.refresh_certificates()
    except ProviderError as exc:
        if config.public_key is None:
            raise  # notifications verify only with these certificates: let the failure show
        log.warning('WeChat Pay platform certificates not refreshed (the public key still verifies): %s', exc)
        return {'refreshed': [], 'error': str(exc)}
    log.info('WeChat Pay platform certificates cached: %s', ', '.join(serials) or 'none')
    return {'refreshed': serials}
