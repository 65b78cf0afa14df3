"""`chalice local`, started in-process, with Nagle's algorithm disabled.

Stock `chalice local` writes headers and body separately; with Nagle and
delayed ACKs every keep-alive request stalls ~44 ms. The handler below sets
TCP_NODELAY (http.server's `disable_nagle_algorithm`).
"""
import os
import threading

from chalice.cli.factory import CLIFactory
from chalice.local import (ChaliceRequestHandler, CustomLocalChalice, LocalChalice,
                           LocalDevServer)

from chalicelib.logs import redact_url
from localdev import PROJECT_ROOT


BACKLOG = 128  # socketserver listens with 5: a burst of provider retries overflows it


class NoDelayRequestHandler(ChaliceRequestHandler):
    """Chalice's handler with Nagle's algorithm off, and a bad Content-Length answered 400
    (Chalice's own handler drops the connection on one it cannot read as a number)."""
    disable_nagle_algorithm = True
    BODY_LIMIT = 10 * 1024 * 1024

    def log_request(self, code='-', size='-'):
        """The access log line, with login tokens and secret query values masked."""
        line = f'{self.command} {redact_url(self.path)} {self.request_version}'
        self.log_message('"%s" %s %s', line, str(code), str(size))

    def parse_request(self):
        if not super().parse_request():
            return False
        length = self.headers.get('Content-Length')
        if length is not None and not (length.isascii() and length.isdigit() and len(length) <= 12
                                       and int(length) <= self.BODY_LIMIT):
            self.send_error(400, 'Content-Length must be a number of bytes')
            return False
        return True


def stage_environment(stage):
    """The environment variables `.chalice/config.json` gives a stage."""
    factory = CLIFactory(str(PROJECT_ROOT), environ={})
    return dict(factory.create_config_obj(chalice_stage_name=stage).environment_variables)


def create_server(stage, host, port, overrides=None, handler_cls=NoDelayRequestHandler):
    """A LocalDevServer for the app with the stage's variables (plus overrides) in os.environ."""
    factory = CLIFactory(str(PROJECT_ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    os.environ.update(config.environment_variables)
    os.environ.update(overrides or {})
    app = factory.load_chalice_app()
    if not isinstance(app, LocalChalice):  # the same app may be served again (tests)
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    server = LocalDevServer(app, config, host, port, handler_cls=handler_cls)
    server.server.socket.listen(BACKLOG)
    return server


class BackgroundServer:
    """Serve a LocalDevServer from a thread; used by tests and the benchmarks."""

    def __init__(self, server):
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)

    @property
    def url(self):
        return f'http://{self.server.host}:{self.server.port}'

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server.server_close()
        self.thread.join(timeout=10)
