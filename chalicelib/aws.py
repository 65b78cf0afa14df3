"""boto3 clients, created on first use and reused for the life of the process.

Creating them lazily keeps `import boto3` off the cold-start path of routes
that never touch AWS, and lets moto patch them in tests.
"""
import os
import threading

_clients = {}
_lock = threading.Lock()


def client(service):
    with _lock:
        if service not in _clients:
            _clients[service] = _create(service)
        return _clients[service]


def _create(service):
    import boto3
    from botocore.config import Config

    kwargs = {'config': Config(retries={'max_attempts': 3, 'mode': 'standard'},
                               max_pool_connections=64)}
    endpoint = os.environ.get('PAYGATE_DYNAMODB_ENDPOINT')
    if service == 'dynamodb' and endpoint:
        kwargs['endpoint_url'] = endpoint
    return boto3.session.Session().client(service, **kwargs)


def reset():
    """Forget every client (tests switch between moto and DynamoDB Local)."""
    with _lock:
        _clients.clear()
