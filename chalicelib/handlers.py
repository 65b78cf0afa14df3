"""One function per route: request in, one call into chalicelib, response out."""
import logging
from dataclasses import replace

from chalicelib import auth, events_api, notifications, orders, providers, refunds, settings, web
from chalicelib.errors import ApiError, not_found

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
    payer = orders.payer_of(web.optional_json_body(request))
    return web.json_response(200, orders.close(order_id, payer))


@web.api
def create_refund(request, order_id):
    auth.require(request.headers, auth.SECRET)
    status, refund = refunds.create(order_id, web.json_body(request))
    return web.json_response(status, refund)


@web.api
def list_events(request):
    auth.require(request.headers, auth.SECRET)
    return web.json_response(200, events_api.list_events(dict(request.query_params or {})))


@web.api
def get_event(request, event_id):
    auth.require(request.headers, auth.SECRET)
    return web.json_response(200, events_api.get_event(event_id))


@web.api
def resend_event(request, event_id):
    auth.require(request.headers, auth.SECRET)
    return web.json_response(202, events_api.resend(event_id))


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


@web.api
def cloudmarket(request):
    """POST /cloudmarket: a Tencent Cloud Marketplace delivery, answered in JSON."""
    from chalicelib.cloudmarket import dispatcher
    return web.reply_response(dispatcher.handle(web.inbound(request)))


@web.api
def cloudmarket_login(request, token):
    """GET /cloudmarket/login/{token}: the authUrl; 302 to the merchant's website."""
    _require_cloudmarket()
    from chalicelib.cloudmarket import login
    return web.redirect_response(login.redirect(token, web.inbound(request).query))


@web.api
def get_instance(request, sign_id):
    """GET /instances/{sign_id}: a marketplace SaaS instance, for the merchant's back office."""
    auth.require(request.headers, auth.SECRET)
    _require_cloudmarket()
    from chalicelib.cloudmarket import instances
    return web.json_response(200, instances.view(instances.get(sign_id)))


def _require_cloudmarket():
    if settings.get().cloudmarket is None:
        raise not_found('Cloud Marketplace delivery is not enabled')


def _midas_coins():
    from chalicelib.providers.midas import coins
    return coins


def _require_midas():
    if 'midas' not in settings.get().providers:
        raise not_found('midas is not enabled')


@web.api
def midas_balance(request):
    auth.require(request.headers, auth.PUBLISHABLE)
    _require_midas()
    return web.json_response(200, _midas_coins().balance_for_request(web.inbound(request)))


@web.api
def midas_payment(request):
    auth.require(request.headers, auth.PUBLISHABLE)
    _require_midas()
    status, order = _midas_coins().pay(web.json_body(request), request.headers.get('idempotency-key'))
    return web.json_response(status, order)


@web.api
def midas_present(request):
    auth.require(request.headers, auth.SECRET)
    _require_midas()
    return web.json_response(200, _midas_coins().present(web.json_body(request)))


def midas_settle(event):
    """The midas_settle Lambda function; answers {"error": {...}} instead of raising for bad input."""
    try:
        _require_midas()
        return _midas_coins().settle_event(event)
    except ApiError as exc:
        return exc.body()


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
