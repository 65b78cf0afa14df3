"""The local HTTP server (localdev/server.py) given what Chalice's test client cannot send or check.

Each request goes over a raw socket; the server must answer it (a 4xx for bad
input) and never just close the connection.
"""
import socket
from urllib.parse import urlencode

import pytest

from localdev.server import BackgroundServer, create_server
from tests.cloudmarket_fixtures import frozen, signed_query  # noqa: F401
from tests.conftest import PK
from tests.midas_fixtures import PAYER, expect


@pytest.fixture
def server(moto_table, app_module):
    server = create_server('test', '127.0.0.1', 0)
    server.port = server.server.server_address[1]
    with BackgroundServer(server) as running:
        yield running.server.port


def exchange(port, head, body=b'', half_close=False):
    """Send the request head and body as they are; the raw bytes of the answer (b'' if none)."""
    with socket.create_connection(('127.0.0.1', port), timeout=30) as connection:
        connection.sendall(head.encode('latin-1') + b'\r\n\r\n' + body)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        answer = b''
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def status_of(answer):
    assert answer.startswith(b'HTTP/1.'), f'no HTTP answer: the connection was closed after {answer!r}'
    return int(answer.split(b' ', 2)[1])


def request_head(method, target, content_length=None, **headers):
    lines = [f'{method} {target} HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close']
    lines += [f'{name.replace("_", "-")}: {value}' for name, value in headers.items()]
    if content_length is not None:
        lines.append(f'Content-Length: {content_length}')
    return '\r\n'.join(lines)


def post_order(content_length):
    return request_head('POST', '/orders', content_length, X_Api_Key=PK, Content_Type='application/json')


@pytest.mark.parametrize('content_length', ['abc', '', '1.5', '0x10', '²', '99999999999999999999999'])
def test_a_content_length_that_is_not_a_number_is_a_4xx(server, content_length):
    answer = exchange(server, post_order(content_length), b'{}', half_close=True)
    assert 400 <= status_of(answer) < 500


@pytest.mark.parametrize('content_length', ['-1', '-100'])
def test_a_negative_content_length_is_a_4xx(server, content_length):
    answer = exchange(server, post_order(content_length), b'{}', half_close=True)
    assert 400 <= status_of(answer) < 500


def test_a_body_shorter_than_its_content_length_is_a_4xx(server):
    answer = exchange(server, post_order(100), b'{"provider": "codepay"}', half_close=True)
    assert 400 <= status_of(answer) < 500


def test_an_error_that_echoes_a_lone_surrogate_is_answered(midas_env, server, http_mock):
    """Midas refuses the parameters with a message holding a lone surrogate (a JSON escape);
    Paygate's 400 repeats that message."""
    expect(http_mock, 'get_balance_m', '{"ret": 1001, "msg": "bad \\ud800 parameter"}')
    head = request_head('GET', '/midas/balance?' + urlencode(PAYER), X_Api_Key=PK)
    assert 400 <= status_of(exchange(server, head)) < 500


def test_an_echoback_holding_a_lone_surrogate_is_answered(frozen, server):  # noqa: F811
    body = b'{"action": "verifyInterface", "echoback": "\\ud800"}'
    head = request_head('POST', '/cloudmarket?' + urlencode(signed_query()), len(body),
                        Content_Type='application/json')
    assert status_of(exchange(server, head, body)) < 500
