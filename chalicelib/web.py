"""HTTP glue between Chalice requests/responses and chalicelib (no business logic)."""
import functools
import json
import logging

from chalice import Response

from chalicelib import jsontext
from chalicelib.errors import ApiError
from chalicelib.providers import Inbound

log = logging.getLogger('paygate.web')
JSON = 'application/json'
BODY_LIMIT = 64 * 1024


def inbound(request):
    """The raw request as providers sign it: body bytes, query pairs, lower-case headers."""
    query = request.query_params
    pairs = tuple((k, v) for k in query for v in query.getlist(k)) if query else ()
    return Inbound(method=request.method, path=request.context.get('resourcePath', ''),
                   headers={k.lower(): v for k, v in request.headers.items()},
                   query=pairs, body=request.raw_body or b'')


def json_response(status, body):
    """A JSON answer. A lone surrogate echoed from a path or query (which no UTF-8 encoder
    takes) is written as its JSON escape, so the answer can always be sent."""
    text = json.dumps(body, ensure_ascii=False).encode('utf-8', 'backslashreplace').decode('utf-8')
    return Response(body=text, status_code=status, headers={'Content-Type': JSON})


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


def api(handler):
    """Turn ApiErrors into their JSON answers and anything unexpected into a plain 500."""
    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except ApiError as exc:
            return json_response(exc.status, exc.body())
        except Exception:
            log.exception('unexpected error in %s', handler.__name__)
            return json_response(500, {'error': {'code': 'internal_error',
                                                 'message': 'something went wrong on our side'}})
    return wrapped
