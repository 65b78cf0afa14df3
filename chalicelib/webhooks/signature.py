"""The `Paygate-Signature` header, and the check merchants run on it.

    Paygate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

During a secret rotation two secrets are active and the header carries one
`v1=` per secret. `verify` uses only the standard library so a merchant can
copy it as it is.
"""
import hashlib
import hmac

TOLERANCE_SECONDS = 300


def compute(secret, timestamp, payload):
    message = str(timestamp).encode('ascii') + b'.' + payload
    return hmac.new(secret.encode('utf-8'), message, hashlib.sha256).hexdigest()


def header(payload, secrets, timestamp):
    """The header for `payload` (bytes) signed with every active secret."""
    return ','.join([f't={timestamp}'] + [f'v1={compute(s, timestamp, payload)}' for s in secrets])


def verify(payload, signature_header, secret, *, now, tolerance=TOLERANCE_SECONDS):
    """True iff `signature_header` signs the raw `payload` bytes with `secret`, within `tolerance` s
    of `now` (Unix seconds: pass time.time()).

    Pass the body exactly as received (bytes, before any JSON parsing).
    """
    timestamp, candidates = None, []
    for part in (signature_header or '').split(','):
        name, _, value = part.strip().partition('=')
        if name == 't' and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == 'v1':
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = compute(secret, timestamp, payload)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
