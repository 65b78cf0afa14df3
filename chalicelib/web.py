"""HTTP glue between Chalice requests/responses and chalicelib: requests read, answers written,
errors mapped to statuses (no business logic)."""
import functools
import json
import logging

from chalice import Response

from chalicelib import deadline, jsontext, retry, settings
from chalicelib.errors import ApiError, ProviderError
from chalicelib.providers import contract
from chalicelib.providers.contract import Inbound

log = logging.getLogger('paygate.web')
JSON = 'application/json'
BODY_LIMIT = 64 * 1024
# GET /midas/balance with the payer's login in the query string: deprecated on 2026-12-02 (RFC 9745).
DEPRECATED_QUERY_LOGIN = {'Deprecation': '@1796169600'}
REFUSAL_STATUS = {contract.InvalidPayer: 400, contract.PayerRefused: 400, contract.LoginExpired: 401,
                  contract.InsufficientFunds: 402, contract.Forbidden: 403, contract.NotYet: 409,
                  contract.NotSupported: 422, contract.RateLimited: 429, contract.Unavailable: 503}


def inbound(request):
    """The raw request as providers sign it: body bytes, query pairs, lower-case headers."""
    query = request.query_params
    pairs = tuple((k, v) for k in query for v in query.getlist(k)) if query else ()
    return Inbound(method=request.method, path=request.context.get('resourcePath', ''),
                   headers={k.lower(): v for k, v in request.headers.items()},
                   query=pairs, body=request.raw_body or b'')


def json_response(status, body, headers=None):
    """A JSON answer. A lone surrogate echoed from a path or query (which no UTF-8 encoder
    takes) is written as its JSON escape, so the answer can always be sent."""
    text = json.dumps(body, ensure_ascii=False).encode('utf-8', 'backslashreplace').decode('utf-8')
    return Response(body=text, status_code=status, headers={'Content-Type': JSON, **(headers or {})})


def reply_response(reply):
    headers = {'Content-Type': reply.content_type, **reply.headers} if reply.body else dict(reply.headers)
    return Response(body=reply.body, status_code=reply.status, headers=headers)


def redirect_response(location):
    """A 302 that is never cached and sends no Referer (the URL left behind may hold a token)."""
    return Response(body='', status_code=302, headers={
        'Location': location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer'})


def json_body(request):
    """The request's JSON body; 415 for another content type, 413 when too large,
    400 for anything jsontext refuses (bad UTF-8 or JSON, too deep, lone surrogates)."""
    content_type = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if content_type != JSON:
        raise ApiError(415, 'unsupported_media_type', 'send the body as application/json')
    body = request.raw_body or b''
    if len(body) > BODY_LIMIT:
        raise ApiError(413, 'body_too_large', f'the body is over {BODY_LIMIT} bytes')
    try:
        return jsontext.loads(body)
    except jsontext.JSONTextError as exc:
        raise ApiError(400, 'invalid_json', str(exc)) from None


def optional_json_body(request):
    """Like json_body, but an empty body is an empty object (routes whose body is optional)."""
    return json_body(request) if (request.raw_body or b'').strip() else {}


def as_api_error(exc):
    """The ApiError for what chalicelib raised: refusals by their kind, provider failures 502,
    contention 503; None for anything else (our own fault)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, contract.Refusal):
        status = next(s for kind, s in REFUSAL_STATUS.items() if isinstance(exc, kind))
        return ApiError(status, exc.code, exc.message, exc.field)
    if isinstance(exc, ProviderError):
        code = 'provider_unavailable' if exc.retryable else 'provider_error'
        return ApiError(502, code, f'the provider failed: {exc}')
    if isinstance(exc, retry.Contention):
        return ApiError(503, 'busy', 'this resource is changing under concurrent requests; retry shortly')
    if isinstance(exc, deadline.OutOfTime):
        return ApiError(503, 'timeout', 'a service Paygate depends on was too slow to answer in time; '
                                        'retrying the same request is safe')
    return None


def api(handler):
    """Turn errors into their JSON answers, and anything unexpected into a plain 500."""
    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            error = as_api_error(exc)
            if error is None or isinstance(exc, deadline.OutOfTime):
                log_failure(exc, handler.__name__)
            if error is not None:
                return json_response(error.status, error.body())
            return json_response(500, {'error': {'code': 'internal_error',
                                                 'message': 'something went wrong on our side'}})
    return wrapped


def log_failure(exc, where):
    """Our own failure, logged: one line for settings that will not do (the operator's to fix, the
    traceback says nothing more), the traceback for anything else."""
    if isinstance(exc, settings.SettingsError):
        log.error('%s failed: %s', where, settings.failure_line(exc))
    elif isinstance(exc, deadline.OutOfTime):
        log.warning('%s answered before its deadline, unfinished: %s', where, exc)
    else:
        log.exception('unexpected error in %s', where)
