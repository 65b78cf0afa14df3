"""The Paygate-Signature header, checked the way a merchant checks it.

    Paygate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=...]

One v1 per active secret while they rotate; older than 5 minutes is refused.
"""
import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


def expected(secret, timestamp, body):
    return hmac.new(secret.encode('utf-8'), f'{timestamp}.'.encode('ascii') + body, hashlib.sha256).hexdigest()


def verify(body, header, secrets, now=None):
    """True iff `header` signs the raw `body` with one of `secrets`, within the tolerance."""
    timestamp, candidates = None, []
    for part in (header or '').split(','):
        name, _, value = part.strip().partition('=')
        if name == 't' and value.isdigit():
            timestamp = int(value)
        elif name == 'v1':
            candidates.append(value)
    if timestamp is None or abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        return False
    wanted = [expected(secret, timestamp, body) for secret in secrets]
    return any(hmac.compare_digest(w, c) for w in wanted for c in candidates)
