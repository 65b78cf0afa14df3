"""boto3 clients: one session per process, each client made once and reused, every call bounded.

Creating them lazily keeps `import boto3` off the cold-start path of routes
that never touch AWS, and lets moto patch them in tests.

Time budget (docs/reliability.md): a call gives up after CONNECT_TIMEOUT to
connect or READ_TIMEOUT waiting for an answer, and is tried MAX_ATTEMPTS times
in all, so one DynamoDB request takes at most about 2 x (1 + 2) s = 6 s
(REQUEST_WORST). An attempt that could not end before the HTTP request's
deadline is not sent (chalicelib/deadline.py), so a request that makes
several stays inside API Gateway's 29 s and the functions' timeouts.
"""
import contextlib
import functools
import gc
import os
import threading
from pathlib import Path

from chalicelib import deadline

CONNECT_TIMEOUT = 1
READ_TIMEOUT = 2
MAX_ATTEMPTS = 2
REQUEST_WORST = MAX_ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT)
# SSM's and Secrets Manager's botocore models cut down to the calls Paygate makes (deploy/aws_models.py):
# botocore reads them before its own, and a cold start parses 7 KB instead of 1 MB.
MODELS = Path(__file__).parent / 'aws_models'

_clients = {}
_session = None
_lock = threading.Lock()


def client(service):
    with _lock:
        if service not in _clients:
            _clients[service] = _create(service)
        return _clients[service]


def _create(service):
    with _long_lived():
        return _new_client(service)


@functools.cache
def dynamodb_types():
    """boto3's (TypeSerializer, TypeDeserializer). A notification may need them before any client is
    made (its item is built first), so boto3 may be imported here: as for a client, unwatched."""
    with _long_lived():
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    return TypeSerializer, TypeDeserializer


@contextlib.contextmanager
def _long_lived():
    """Make objects that live as long as the process without the garbage collector watching.

    Importing boto3 and making its clients allocate some 65,000 objects that
    are kept for good (service models, event handlers); collections meanwhile
    only traverse them, over 20 ms of a cold start (bench/cold_start.py). In
    Lambda they are frozen afterwards (gc.freeze), so no later collection
    traverses them either.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if os.environ.get('AWS_LAMBDA_FUNCTION_NAME'):
            gc.freeze()
        if enabled:
            gc.enable()


def _new_client(service):
    from botocore.config import Config
    kwargs = {'config': Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                               retries={'total_max_attempts': MAX_ATTEMPTS, 'mode': 'standard'},
                               max_pool_connections=64)}
    endpoint = os.environ.get('PAYGATE_DYNAMODB_ENDPOINT')
    if service == 'dynamodb' and endpoint:
        kwargs['endpoint_url'] = endpoint
    made = _shared_session().client(service, **kwargs)
    made.meta.events.register_first('before-send', _in_time)
    return made


def _in_time(request, **_):
    """Before each attempt (retries too): refuse one that could not end before the deadline."""
    deadline.check(CONNECT_TIMEOUT + READ_TIMEOUT, f'{request.method} {request.url.split("?")[0]}')


def _shared_session():
    global _session
    if _session is None:
        import boto3
        import botocore.session
        core = botocore.session.get_session()
        core.get_component('data_loader').search_paths.insert(0, str(MODELS))
        _session = boto3.session.Session(botocore_session=core)
    return _session


def reset():
    """Forget every client and the session (tests switch between moto and DynamoDB Local)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
