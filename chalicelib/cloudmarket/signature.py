"""The marketplace's signature on the query string (docs/cloudmarket.md#the-signature).

signature = lower-case hex SHA-256 of token, timestamp and eventId sorted as
strings (byte order, not numeric: an eventId with fewer digits than the
timestamp may sort after it) and concatenated without a separator. The body
is not signed.

The timestamp may be at most 30 s old for deliveries and 120 s for the
marketplace's free-login parameters: the timeouts the marketplace's document
recommends (签名推荐超时为30s,免登校验推荐为120s). It says nothing of
timestamps ahead of our clock; Paygate allows CLOCK_SKEW (30 s) for clocks that
disagree a little, and refuses anything further ahead.
"""
import hashlib

from chalicelib import signing

DELIVERY_WINDOW = 30
LOGIN_WINDOW = 120
CLOCK_SKEW = 30
PARAMS = ('signature', 'timestamp', 'eventId')


class SignatureError(Exception):
    """A request whose signature parameters are missing, wrong or out of their time window."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def sign(token, timestamp, event_id):
    joined = ''.join(sorted([token, timestamp, event_id]))
    return hashlib.sha256(joined.encode('utf-8')).hexdigest()


def present(query):
    """True when the query carries any of the signature parameters."""
    return any(name in PARAMS for name, _ in query)


def verify(query, token, now, window):
    """Check the signature parameters in `query` (decoded pairs); return (timestamp, eventId).

    `window` is how old the timestamp may be, in seconds."""
    params = _params(query)
    timestamp, event_id = params['timestamp'], params['eventId']
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError('invalid_signature', 'timestamp must be Unix seconds')
    if len(event_id) > 64:
        raise SignatureError('invalid_signature', 'eventId is longer than 64 characters')
    if not signing.equal(params['signature'], sign(token, timestamp, event_id)):
        raise SignatureError('invalid_signature', 'the signature does not match')
    age = int(now.timestamp()) - int(timestamp)
    if age > window:
        raise SignatureError('stale_timestamp', f'timestamp is {age} s old; at most {window} s allowed')
    if -age > CLOCK_SKEW:
        raise SignatureError('stale_timestamp', f'timestamp is {-age} s ahead of our clock; at most '
                                                f'{CLOCK_SKEW} s allowed')
    return timestamp, event_id


def _params(query):
    found = {}
    for name, value in query:
        if name in PARAMS:
            if name in found:
                raise SignatureError('invalid_signature', f'{name} appears twice in the query')
            found[name] = value
    missing = [name for name in PARAMS if not found.get(name)]
    if missing:
        raise SignatureError('invalid_signature', f'missing {", ".join(missing)} in the query string')
    return found
