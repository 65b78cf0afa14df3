"""Outbound HTTP to providers: always with timeouts, one pooled session per process.

`requests` is imported on first use, so routes that never call out do not pay
for it at cold start.
"""
import threading

from chalicelib.errors import ProviderError

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10

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
    kwargs.setdefault('timeout', (CONNECT_TIMEOUT, READ_TIMEOUT))
    try:
        return session().request(method, url, **kwargs)
    except requests.Timeout:
        raise ProviderError(f'{method} {_host(url)} timed out', code='timeout', retryable=True) from None
    except requests.RequestException as exc:
        raise ProviderError(f'{method} {_host(url)} failed: {type(exc).__name__}',
                            code='unreachable', retryable=True) from None


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
