"""The provider sandbox: a local stand-in for every provider's servers.

In the `local` stage each provider base URL points here. Each provider module
answers its API like the provider does, and can send the provider's signed
notification back to Paygate (a "pay" button for a human, a POST for scripts).
Modules register routes as (method, path prefix) -> handler(request); a handler
may decline a request its prefix caught by answering None, and the next route
that matches gets it. index.py comes first: the front page, and the pay action
by Paygate's order id that every provider shares.
"""
import html
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from localdev.sandbox import alipay, cloudmarket, codepay, index, merchant, midas, wechatpay

PROVIDERS = (index, codepay, alipay, wechatpay, midas, cloudmarket, merchant)


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    raw_query: str = ''


@dataclass
class Answer:
    """Text (sent as UTF-8) or bytes (a bill file, sent as they are)."""
    status: int
    body: str | bytes
    content_type: str = 'application/json'
    headers: dict = field(default_factory=dict)


def json_answer(data, status=200):
    return Answer(status, json.dumps(data, ensure_ascii=False))


def pay_page(title, heading, order_id, text):
    """A cashier page for a human: one Pay button that POSTs to the same URL; 404 without an order."""
    if text is None:
        return Answer(404, f'<p>No {html.escape(title)} order {html.escape(order_id)}</p>', 'text/html')
    return Answer(200, f'''<!doctype html><title>{html.escape(title)}</title>
<h1>{html.escape(heading)}</h1><p>Order {html.escape(order_id)}: {html.escape(text)}</p>
<form method="post"><button>Pay</button></form>''', 'text/html')


def qr_figure(text):
    """The QR code a buyer scans, drawn as Paygate draws `client_params.qr_png`, with its text below."""
    from chalicelib import qrimage
    return (f'<figure><img alt="QR code" src="{qrimage.png_data_url(text)}">'
            f'<figcaption><code>{html.escape(text)}</code></figcaption></figure>')


def generated_environment(environ):
    """Settings the sandbox makes up for this run (throw-away keys), for Paygate and the sandbox.
    Each provider module with keys to make has generated_environment(environ) -> settings."""
    generated = {}
    for module in PROVIDERS:
        if hasattr(module, 'generated_environment'):
            generated.update(module.generated_environment(environ))
    return generated


class Sandbox:
    """The sandbox HTTP server on 127.0.0.1, serving every provider module."""

    def __init__(self, environ, port, paygate_url):
        self.port = port
        self.base_url = f'http://127.0.0.1:{port}'
        self.routes = []
        for module in PROVIDERS:
            self.routes.extend(module.Emulator(environ, self.base_url, paygate_url).routes())
        self.httpd = ThreadingHTTPServer(('127.0.0.1', port), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def dispatch(self, request):
        for method, prefix, handler in self.routes:
            if request.method == method and request.path.startswith(prefix):
                answer = handler(request)
                if answer is not None:
                    return answer
        return json_answer({'error': f'no sandbox route for {request.method} {request.path}'}, 404)

    def _handler_class(self):
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def _serve(self):
                url = urlsplit(self.path)
                length = int(self.headers.get('Content-Length') or 0)
                request = Request(self.command, url.path,
                                  dict(parse_qsl(url.query, keep_blank_values=True)),
                                  {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length), url.query)
                answer = sandbox.dispatch(request)
                is_text = isinstance(answer.body, str)
                body = answer.body.encode('utf-8') if is_text else answer.body
                self.send_response(answer.status)
                self.send_header('Content-Type', f'{answer.content_type}; charset=utf-8' if is_text
                                 else answer.content_type)
                self.send_header('Content-Length', str(len(body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, fmt, *args):
                pass

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
