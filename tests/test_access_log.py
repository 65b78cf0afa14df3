"""The local server's access log never shows a payer's login or a one-time token."""
import requests

from localdev.server import BackgroundServer, create_server
from tests.conftest import PK


def test_secret_query_values_and_login_tokens_are_masked(moto_table, app_module, capfd):
    server = create_server('test', '127.0.0.1', 0)
    server.port = server.server.server_address[1]
    with BackgroundServer(server) as running:
        requests.get(f'{running.url}/midas/balance?openid=o-1&openkey=PAYTOKEN-SECRET&pfkey=PFKEY-SECRET',
                     headers={'X-Api-Key': PK}, timeout=10)
        requests.get(f'{running.url}/cloudmarket/login/cm0123.MAC-SECRET?signature=SIG-SECRET&eventId=7',
                     timeout=10, allow_redirects=False)
    logged = capfd.readouterr().err
    assert '"GET /midas/balance?openid=o-1&openkey=***&pfkey=*** HTTP/1.1"' in logged
    assert '"GET /cloudmarket/login/***?signature=***&eventId=7 HTTP/1.1"' in logged
    for secret in ('PAYTOKEN-SECRET', 'PFKEY-SECRET', 'MAC-SECRET', 'SIG-SECRET'):
        assert secret not in logged
