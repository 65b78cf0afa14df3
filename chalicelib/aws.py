"""boto3 clients: one session per process, each client made once and reused, every call bounded.

Creating them lazily keeps `import boto3` off the cold-start path of routes
that never touch AWS, and lets moto patch them in tests.

Time budget (docs/reliability.md): a call gives up after CONNECT_TIMEOUT to
connect or READ_TIMEOUT waiting for an answer, and is tried MAX_ATTEMPTS times
in all, so one DynamoDB request takes at most about 2 x (1 + 2) s = 6 s.
A notification makes one request (three on its rarest path), so even a
DynamoDB that accepts connections and never answers gets the provider its
failure answer well inside API Gateway's 29 s and the functions' timeouts.
"""
import os
import threading

CONNECT_TIMEOUT = 1
READ_TIMEOUT = 2
MAX_ATTEMPTS = 2

_clients = {}
_session = None
_lock = threading.Lock()


def client(service):
    with _lock:
        if service not in _clients:
            _clients[service] = _create(service)
        return _clients[service]


def _create(service):
    from botocore.config import Config
    kwargs = {'config': Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                               retries={'total_max_attempts': MAX_ATTEMPTS, 'mode': 'standard'},
                               max_pool_connections=64)}
    endpoint = os.environ.get('PAYGATE_DYNAMODB_ENDPOINT')
    if service == 'dynamodb' and endpoint:
        kwargs['endpoint_url'] = endpoint
    return _shared_session().client(service, **kwargs)


def _shared_session():
    global _session
    if _session is None:
        import boto3
        _session = boto3.session.Session()
    return _session


def reset():
    """Forget every client and the session (tests switch between moto and DynamoDB Local)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
