"""The merchant's webhook endpoints, from `PAYGATE_WEBHOOKS` (JSON, or a reference to it):

    [{"id": "main", "url": "https://merchant.example/paygate", "secrets": ["whsec_new", "whsec_old"],
      "events": ["order.*"]}]

`id` names the endpoint for good (deliveries are keyed by it); `events` lists
event types or `prefix.*` patterns (default: every event); the first secret
signs, all of them do during a rotation.
"""
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib import settings
from chalicelib.settings import SettingsError

_ID = re.compile(r'\A[A-Za-z0-9_-]{1,40}\Z')
_LOOPBACK = ('127.0.0.1', 'localhost', '::1')


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    secrets: tuple
    events: tuple = ('*',)

    def wants(self, event_type):
        return any(pattern == '*' or pattern == event_type
                   or (pattern.endswith('.*') and event_type.startswith(pattern[:-1]))
                   for pattern in self.events)


_cache = {}


def configured():
    """Every configured endpoint (parsed once per container)."""
    source = settings.get().webhooks
    if source is None:
        return ()
    text = source.value
    if text not in _cache:
        _cache.clear()
        _cache[text] = parse(text)
    return _cache[text]


def for_event(event_type):
    return tuple(e for e in configured() if e.wants(event_type))


def by_id(endpoint_id):
    return next((e for e in configured() if e.id == endpoint_id), None)


def parse(text):
    try:
        entries = json.loads(text)
    except ValueError:
        raise SettingsError('PAYGATE_WEBHOOKS is not valid JSON') from None
    if not isinstance(entries, list):
        raise SettingsError('PAYGATE_WEBHOOKS must be a JSON list of endpoints')
    endpoints = tuple(_endpoint(entry) for entry in entries)
    if len({e.id for e in endpoints}) != len(endpoints):
        raise SettingsError('PAYGATE_WEBHOOKS: endpoint ids must be unique')
    return endpoints


def _endpoint(entry):
    if not isinstance(entry, dict) or not _ID.match(str(entry.get('id', ''))):
        raise SettingsError('PAYGATE_WEBHOOKS: each endpoint needs an id of 1-40 letters, digits, - or _')
    url = urlsplit(str(entry.get('url', '')))
    if not (url.scheme == 'https' or (url.scheme == 'http' and url.hostname in _LOOPBACK)) or not url.hostname:
        raise SettingsError(f'PAYGATE_WEBHOOKS: endpoint {entry["id"]} needs an https URL')
    secrets = entry.get('secrets')
    if not isinstance(secrets, list) or not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise SettingsError(f'PAYGATE_WEBHOOKS: endpoint {entry["id"]} needs a list of secrets')
    events = entry.get('events', ['*'])
    if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
        raise SettingsError(f'PAYGATE_WEBHOOKS: endpoint {entry["id"]} events must be a list of types')
    return Endpoint(entry['id'], url.geturl(), tuple(secrets), tuple(events))
