"""Paygate over HTTP: its API with a key, and raw requests as a provider sends them."""
from dataclasses import dataclass
from urllib.parse import quote

import requests

from paygate_cli.errors import CliError

TIMEOUT = 15


def segment(value):
    """An id (opaque to the CLI) as one path segment."""
    return quote(value, safe='')


@dataclass
class Outgoing:
    """A request exactly as it goes on the wire, to a path under Paygate's URL."""
    method: str
    path: str
    query: str = ''
    headers: dict = None
    body: bytes = b''

    def url(self, base):
        return base.rstrip('/') + self.path + (f'?{self.query}' if self.query else '')


@dataclass
class Answer:
    status: int
    body: str
    headers: dict


class Paygate:
    def __init__(self, url, secret_key=None, api_key=None):
        self.url = url.rstrip('/')
        self.secret_key = secret_key
        self.api_key = api_key
        self.http = requests.Session()

    def call(self, method, path, body=None, params=None, publishable=False, headers=None):
        """A JSON API call with the secret key (or the publishable one); the answer's JSON.
        An error answer becomes a one-line CliError."""
        reply = self._request(method, self.url + path, json=body, params=params,
                              headers={**self._credentials(publishable), **(headers or {})})
        try:
            data = reply.json()
        except ValueError:
            raise CliError(f'{method} {path}: {reply.status_code} and no JSON: {reply.text[:200]!r}') from None
        if reply.status_code >= 400:
            error = data.get('error', {}) if isinstance(data, dict) else {}
            raise CliError(f'{method} {path}: {reply.status_code} {error.get("code", "error")}: '
                           f'{error.get("message", reply.text[:200])}')
        return data

    def send(self, outgoing):
        """Send a provider's request as it is; Paygate's answer, whatever it is."""
        reply = self._request(outgoing.method, outgoing.url(self.url), data=outgoing.body,
                              headers=outgoing.headers or {}, allow_redirects=False)
        return Answer(reply.status_code, reply.text, dict(reply.headers))

    def _credentials(self, publishable):
        if publishable:
            if not self.api_key:
                raise CliError('no publishable key: pass --api-key or set PAYGATE_API_KEY')
            return {'X-Api-Key': self.api_key}
        if not self.secret_key:
            raise CliError('no secret key: pass --secret-key or set PAYGATE_SECRET_KEY')
        return {'Authorization': f'Bearer {self.secret_key}'}

    def _request(self, method, url, **kwargs):
        try:
            return self.http.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError:
            raise CliError(f'cannot reach Paygate at {self.url} (is `make run` running? --url sets '
                           'another)') from None
        except requests.Timeout:
            raise CliError(f'Paygate at {self.url} did not answer within {TIMEOUT} s') from None
