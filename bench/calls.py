"""What a process sends over the network while a piece of code runs: botocore calls and HTTP requests.

botocore calls are seen by a `before-call` event hook that every botocore
session registers when it is made (botocore.handlers.BUILTIN_HANDLERS), so it
holds for the clients chalicelib.aws makes later. HTTP requests are seen at the
lowest level Python offers, its audit events: each request's header block as
http.client sends it, every socket connection and every name lookup. A request
made by requests, urllib3, urllib or botocore shows there, whatever its
destination, and a retry shows as a second request.
Only stdlib and botocore are imported, so a Lambda-like process can use it.
"""
import sys
from contextlib import contextmanager

METHODS = (b'GET ', b'POST ', b'PUT ', b'DELETE ', b'HEAD ', b'PATCH ', b'OPTIONS ')


class Recorder:
    """Installs its hooks once (an audit hook cannot be removed) and records while `recording()`."""

    def __init__(self):
        import botocore.handlers
        self.active = False
        self.calls = []         # 'dynamodb:TransactWriteItems', one per botocore API call
        self.requests = []      # 'host:port' of each HTTP request sent
        self.connections = []   # 'host:port' of each socket connection opened
        self.lookups = []       # host names resolved
        botocore.handlers.BUILTIN_HANDLERS.append(('before-call', self._call))
        sys.addaudithook(self._audit)

    @contextmanager
    def recording(self):
        for seen in (self.calls, self.requests, self.connections, self.lookups):
            seen.clear()
        self.active = True
        try:
            yield self
        finally:
            self.active = False

    def _call(self, model, **kwargs):
        if self.active:
            self.calls.append(f'{model.service_model.endpoint_prefix}:{model.name}')

    def _audit(self, event, args):
        if not self.active:
            return
        if event == 'http.client.send':
            connection, data = args
            if isinstance(data, (bytes, bytearray)) and bytes(data[:8]).startswith(METHODS):
                self.requests.append(f'{connection.host}:{connection.port}')
        elif event == 'socket.connect':
            address = args[1]
            if isinstance(address, tuple):
                self.connections.append(f'{address[0]}:{address[1]}')
        elif event == 'socket.getaddrinfo':
            self.lookups.append(str(args[0]))

    def others(self, allowed_calls, allowed_hosts):
        """Whatever went over the network besides `allowed_calls` to `allowed_hosts` ('host:port')."""
        calls = [call for call in self.calls if call not in allowed_calls]
        requests = [host for host in self.requests if host not in allowed_hosts]
        connections = [host for host in self.connections if host not in allowed_hosts]
        names = {host.rsplit(':', 1)[0] for host in allowed_hosts}
        lookups = [name for name in self.lookups if name not in names]
        return calls + requests + connections + lookups

    def as_dict(self):
        return {'calls': list(self.calls), 'requests': list(self.requests),
                'connections': list(self.connections), 'lookups': list(self.lookups)}
