"""One function per route: request in, one call into chalicelib, response out."""
import logging
from dataclasses import replace

from chalicelib import auth, events_api, notifications, orders, providers, refunds, settings, web
from chalicelib.errors import ApiError, not_found
from chalicelib.providers.contract import Refusal, Rejected

log = logging.getLogger('paygate.handlers')


@web.api
def index(request):
    """GET /: which Paygate this is; no credential."""
    from chalicelib import about
    return web.json_response(200, about.index())


@web.api
def create_order(request):
    auth.require(request.headers, auth.PUBLISHABLE)
    body = web.json_body(request)
    status, order = orders.create(body, request.headers.get('idempotency-key'))
    return web.json_response(status, order)


@web.api
def get_order(request, order_id):
    auth.require(request.headers, auth.PUBLISHABLE)
    from chalicelib import ordermodel
    return web.json_response(200, ordermodel.view(orders.get(order_id)))


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


@web.api
def reconcile(request):
    auth.require(request.headers, auth.SECRET)
    from chalicelib.reconciliation import api
    return web.json_response(200, api.start(web.json_body(request)))


@web.api
def get_reconciliation(request, provider, day):
    auth.require(request.headers, auth.SECRET)
    from chalicelib.reconciliation import api
    return web.json_response(200, api.report(provider, day, dict(request.query_params or {})))


def notify(request, route):
    """A provider's notification on /notify/<route>; always answered in the provider's format."""
    try:
        reply = notifications.handle(route, web.inbound(request))
    except Exception as exc:
        web.log_failure(exc, f'{route} notification')
        notifier = providers.load_notify(route)
        reply = replace(notifier.failure(Rejected(Rejected.INTERNAL, 'internal error')), status=500)
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


def _require_midas():
    if 'midas' not in settings.get().providers:
        raise not_found('midas is not enabled')


@web.api
def midas_balance(request):
    auth.require(request.headers, auth.PUBLISHABLE)
    _require_midas()
    from chalicelib import coins
    balance, login_in_query = coins.balance_for_request(web.inbound(request))
    if login_in_query:
        log.warning('GET /midas/balance with the login in the query string (deprecated): send it as '
                    'X-Midas-* headers')
        return web.json_response(200, balance, headers=web.DEPRECATED_QUERY_LOGIN)
    return web.json_response(200, balance)


@web.api
def midas_payment(request):
    auth.require(request.headers, auth.PUBLISHABLE)
    _require_midas()
    from chalicelib import coins
    status, order = coins.pay(web.json_body(request), request.headers.get('idempotency-key'))
    return web.json_response(status, order)


@web.api
def midas_present(request):
    auth.require(request.headers, auth.SECRET)
    _require_midas()
    from chalicelib import coins
    return web.json_response(200, coins.present(web.json_body(request)))


def midas_settle(event):
    """The midas_settle Lambda function; answers {"error": {...}} for bad input, and raises when Midas
    fails, so the invocation is retried and then goes to its failure destination."""
    try:
        _require_midas()
        from chalicelib import coins
        return coins.settle_event(event)
    except (ApiError, Refusal) as exc:
        return web.as_api_error(exc).body()


def refresh_certificates():
    """Scheduled: download and keep the providers' rotating platform certificates."""
    from chalicelib import keyring
    return keyring.refresh()
