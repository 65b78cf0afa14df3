"""API keys (docs/api.md#credentials).

Publishable keys (`X-Api-Key: pk_...`) may create and read orders; secret keys
(`Authorization: Bearer sk_...`) may do everything. Each setting holds a
comma-separated list so keys can be rotated. Every configured key is compared,
in constant time, whatever matches first.
"""
import hmac

from chalicelib import settings
from chalicelib.errors import ApiError

PUBLISHABLE = 'publishable'
SECRET = 'secret'


def _keys(secret):
    return [key.strip().encode('utf-8') for key in secret.value.split(',') if key.strip()]


def _matches(candidate, keys):
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key)
    return found


def caller(headers):
    """PUBLISHABLE or SECRET for the credential in `headers`; 401 without a valid one."""
    config = settings.get()
    bearer = headers.get('authorization', '')
    if bearer[:7].lower() == 'bearer ':
        if _matches(bearer[7:].strip().encode('utf-8'), _keys(config.secret_keys)):
            return SECRET
        raise ApiError(401, 'unauthorized', 'the secret key is not valid')
    api_key = headers.get('x-api-key', '').strip()
    if api_key and _matches(api_key.encode('utf-8'), _keys(config.publishable_keys)):
        return PUBLISHABLE
    if api_key:
        raise ApiError(401, 'unauthorized', 'the API key is not valid')
    raise ApiError(401, 'unauthorized', 'send X-Api-Key: pk_... or Authorization: Bearer sk_...')


def require(headers, role):
    """Check the caller may act as `role`; 403 when a publishable key asks for a secret route."""
    who = caller(headers)
    if role == SECRET and who != SECRET:
        raise ApiError(403, 'forbidden', 'this route needs the secret key')
    return who
