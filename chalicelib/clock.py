"""The one place Paygate reads the time, so tests can move it."""
from datetime import datetime, timezone


def now():
    return datetime.now(timezone.utc)


def rfc3339(moment):
    return moment.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_rfc3339(text):
    return datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc)
