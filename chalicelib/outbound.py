"""Outbound HTTP to providers: always with timeouts, one pooled session per process.

`requests` is imported on first use, so routes that never call out do not pay
for it at cold start. While an HTTP request is served, a call waits at most
until RESERVE before its deadline (chalicelib/deadline.py): the time the
DynamoDB requests that follow a provider call (the order's update, or a
payment and its read) may take.
"""
import threading

from chalicelib import aws, deadline
from chalicelib.errors import ProviderError

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10
MIN_READ = 1
RESERVE = 2 * aws.REQUEST_WORST

_session = None
_lock = threading.Lock()


def session():
    global _session
    with _lock:
        if _session is None:
            import requests
            _session = requests.Session()
        return _session


def request(method, url, **kwargs):
    """Send a request; connection failures and timeouts become retryable ProviderErrors.

    Status codes are left to the caller: providers answer errors in their own
    formats, often with 200.
    """
    import requests
    kwargs.setdefault('timeout', _timeout(method, url))
    try:
        return session().request(method, url, **kwargs)
    except requests.Timeout:
        raise ProviderError(f'{method} {_host(url)} timed out', code='timeout', retryable=True) from None
    except requests.RequestException as exc:
        raise ProviderError(f'{method} {_host(url)} failed: {type(exc).__name__}',
                            code='unreachable', retryable=True) from None


def _timeout(method, url):
    """(connect, read) seconds: the usual ones, cut to what the request's deadline leaves."""
    left = deadline.left()
    if left is None:
        return CONNECT_TIMEOUT, READ_TIMEOUT
    spare = left - RESERVE
    if spare < CONNECT_TIMEOUT + MIN_READ:
        raise ProviderError(f'{method} {_host(url)} not sent: {max(left, 0):.1f} s left before the answer '
                            'is due', code='timeout', retryable=True)
    return CONNECT_TIMEOUT, min(READ_TIMEOUT, spare - CONNECT_TIMEOUT)


def _host(url):
    return url.split('?')[0]


def json_object(reply):
    """A reply's JSON object body; anything else is a ProviderError (retryable if not JSON at all)."""
    try:
        data = reply.json()
    except ValueError:
        raise ProviderError(f'non-JSON reply (HTTP {reply.status_code})', retryable=True) from None
    if not isinstance(data, dict):
        raise ProviderError('reply is not a JSON object')
    return data
