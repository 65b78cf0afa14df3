"""`paygate listen`: receive Paygate's webhooks on this machine (or follow GET /events) and print them."""
import json
import signal
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click
import requests

from paygate_cli import output, webhooks
from paygate_cli.commands.api import summary
from paygate_cli.errors import CliError, UsageProblem

HOST = '127.0.0.1'
FORWARD_TIMEOUT = 10
FORWARDED_HEADERS = ('content-type', 'paygate-signature', 'paygate-event-id')


@click.command()
@click.option('--port', type=click.IntRange(1, 65535), default=8400, show_default=True,
              help='Listen on 127.0.0.1:PORT.')
@click.option('--secret', 'secrets', multiple=True, metavar='whsec_...',
              help="The endpoint's signing secret (repeat it while rotating); default: every secret "
                   "of the stage's webhook endpoints.")
@click.option('--forward-to', metavar='URL',
              help='Also send each request, as received, to your endpoint; Paygate gets its answer.')
@click.option('--poll', is_flag=True, help='Follow GET /events instead (a Paygate that cannot reach you).')
@click.option('--interval', type=click.FloatRange(min=0.2), default=2.0, show_default=True,
              help='--poll: seconds between two looks.')
@click.option('--order', 'order_id', help="--poll: only this order's events.")
@click.option('--count', type=click.IntRange(min=1), metavar='N', help='Stop after N events.')
@click.pass_obj
def listen(ctx, port, secrets, forward_to, poll, interval, order_id, count):
    """Print each webhook event as it arrives: type, order or instance, amount, and whether its
    Paygate-Signature verifies. Ctrl-C stops.

    \b
    Paygate delivers to the endpoints of its PAYGATE_WEBHOOKS setting; for `make run`:
      PAYGATE_WEBHOOKS='[{"id": "listen", "url": "http://127.0.0.1:8400/",
                          "secrets": ["whsec_sandbox_local"]}]' make run
    """
    _stop_on_signals()
    if poll:
        if forward_to:
            raise UsageProblem('--forward-to needs deliveries: it does not go with --poll')
        _follow_events(ctx, interval, order_id, count)
    else:
        if order_id:
            raise UsageProblem('--order goes with --poll')
        _receive(ctx, port, list(secrets) or _stage_secrets(ctx), forward_to, count)


def _stop_on_signals():
    """Ctrl-C and SIGTERM stop listening, also when a shell started it in the background
    (where SIGINT is ignored)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _stage_secrets(ctx):
    try:
        endpoints = json.loads(ctx.settings().get('PAYGATE_WEBHOOKS') or '[]')
    except ValueError:
        raise CliError(f'PAYGATE_WEBHOOKS in {ctx.settings().origin} is not JSON; pass --secret') from None
    found = [secret for endpoint in endpoints for secret in endpoint.get('secrets', [])]
    if not found:
        raise UsageProblem(f'no webhook secret in {ctx.settings().origin}: pass --secret whsec_...')
    return list(dict.fromkeys(found))


class Receiver:
    """Checks, prints and (optionally) forwards each delivery; counts them."""

    def __init__(self, secrets, forward_to, as_json, count):
        self.secrets, self.forward_to, self.as_json, self.count = secrets, forward_to, as_json, count
        self.received = 0
        self.done = threading.Event()
        self.lock = threading.Lock()

    def handle(self, body, headers):
        """The status and body to answer Paygate with."""
        verified = webhooks.verify(body, headers.get('paygate-signature'), self.secrets)
        status, answer = (200, '{"received": true}') if verified else (400, '{"error": "bad signature"}')
        forwarded = self._forward(body, headers) if self.forward_to else None
        if forwarded:
            status, answer = forwarded['status'] or 502, forwarded['body']
        with self.lock:
            self._print(body, verified, forwarded)
            self.received += 1
            if self.count and self.received >= self.count:
                self.done.set()
        return status, answer

    def _forward(self, body, headers):
        sent = {name: value for name, value in headers.items() if name in FORWARDED_HEADERS}
        try:
            reply = requests.post(self.forward_to, data=body, headers=sent, timeout=FORWARD_TIMEOUT)
        except requests.RequestException as exc:
            return {'url': self.forward_to, 'status': None, 'body': f'cannot reach it: {type(exc).__name__}'}
        return {'url': self.forward_to, 'status': reply.status_code, 'body': reply.text}

    def _print(self, body, verified, forwarded):
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if self.as_json:
            click.echo(json.dumps({'received_at': _now(), 'signature_valid': verified, 'event': event,
                                   'forward': forwarded}, ensure_ascii=False))
            return
        line = _event_line(summary(event) if isinstance(event, dict) else {'type': '(not JSON)'})
        click.echo(f'{_now()}  {output.mark(verified)} {"signature" if verified else "bad signature"}  {line}')
        if forwarded:
            click.echo(f'  -> {forwarded["url"]}: {forwarded["status"] or "-"} {forwarded["body"][:200]}')


def _event_line(event):
    return '  '.join(output.text(event.get(k)) for k in ('type', 'subject', 'amount', 'id'))


def _now():
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _receive(ctx, port, secrets, forward_to, count):
    receiver = Receiver(secrets, forward_to, ctx.json, count)
    try:
        server = ThreadingHTTPServer((HOST, port), _handler(receiver))
    except OSError as exc:
        raise CliError(f'cannot listen on {HOST}:{port}: {exc.strerror}') from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    click.echo(f'Listening on http://{HOST}:{port}/ for Paygate webhooks'
               f'{f", forwarding to {forward_to}" if forward_to else ""} (Ctrl-C stops)', err=True)
    try:
        while not receiver.done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()


def _handler(receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
            status, answer = receiver.handle(body, {k.lower(): v for k, v in self.headers.items()})
            data = answer.encode('utf-8')
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            pass

    return Handler


def _follow_events(ctx, interval, order_id, count):
    """Print events created from now on, oldest first, looking every `interval` seconds."""
    paygate = ctx.paygate()
    params = {'limit': 100, **({'order_id': order_id} if order_id else {})}
    cursor, seen, printed, caught_up = None, set(), 0, False
    try:
        while True:
            page = paygate.call('GET', '/events', params={**params, **({'cursor': cursor} if cursor else {})})
            for event in page['data']:
                if event['id'] in seen:
                    continue
                seen.add(event['id'])
                if caught_up:
                    _print_polled(ctx, event)
                    printed += 1
                    if count and printed >= count:
                        return
            if page.get('next_cursor'):
                cursor, seen = page['next_cursor'], set()
                continue
            if not caught_up:
                caught_up = True
                click.echo(f'Following GET {paygate.url}/events every {interval:g} s (Ctrl-C stops)', err=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        pass


def _print_polled(ctx, event):
    if ctx.json:
        click.echo(json.dumps(event, ensure_ascii=False))
    else:
        click.echo(f'{event["created_at"]}  {_event_line(summary(event))}  '
                   f'delivery {output.coloured(event.get("delivery_status"))}')
