"""Free login (免登): the authUrl Paygate gives the marketplace, and the merchant's assertion.

The authUrl is `<PAYGATE_PUBLIC_URL>/cloudmarket/login/<token>`, where the
token is `<signId>.<mac>` and mac = base64url(HMAC-SHA256(login secret,
"paygate-cloudmarket-login:" + signId)). It is not the bare signId, it cannot
be made without the secret, and it opens only while its instance is active:
Paygate refuses it once the instance has expired or been destroyed (a renewal
that reactivates an expired instance makes the same authUrl work again, as
the marketplace keeps showing the URL it got at creation).

A valid login is redirected (302) to the merchant's website with a
short-lived assertion in the query string:
    signId=<signId>&expires=<unix seconds>&signature=<hex HMAC-SHA256(login secret, "<expires>.<signId>")>
`expires` is at most ASSERTION_SECONDS ahead. The merchant checks it with
verify_assertion, like a webhook signature.
"""
import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chalicelib import clock, settings
from chalicelib.cloudmarket import instances, signature
from chalicelib.errors import ApiError
from chalicelib.store import instances as instance_store

ASSERTION_SECONDS = 60
LOGIN_RECORD_SECONDS = 86400
MAX_ASSERTION_SECONDS = 120
_TOKEN_CONTEXT = 'paygate-cloudmarket-login:'


def _mac(secret, message):
    return hmac.new(secret.encode('utf-8'), message.encode('utf-8'), hashlib.sha256).digest()


def login_token(sign_id, secret):
    """The free-login token bound to `sign_id`."""
    mac = base64.urlsafe_b64encode(_mac(secret, _TOKEN_CONTEXT + sign_id)).rstrip(b'=')
    return f'{sign_id}.{mac.decode("ascii")}'


def read_login_token(token, secret):
    """The signId a genuine token is bound to, or None for anything else."""
    sign_id, dot, _ = token.rpartition('.')
    if not dot or not sign_id:
        return None
    if not hmac.compare_digest(token.encode('utf-8'), login_token(sign_id, secret).encode('utf-8')):
        return None
    return sign_id


def redirect(token, query):
    """Where GET /cloudmarket/login/<token> sends the browser; ApiError(403) when it may not log in.

    The marketplace's own login parameters (signature, timestamp, eventId,
    signed like a delivery with a 120 s window), where present, must be valid,
    and are good for one login: a second use of the same eventId is refused.
    """
    config = settings.get().cloudmarket
    sign_id = read_login_token(token, config.login_secret.value)
    if sign_id is None:
        raise ApiError(403, 'invalid_login_token', 'this login link is not valid')
    now = clock.now()
    if signature.present(query):
        try:
            signature.verify(query, config.token.value, now, signature.LOGIN_WINDOW)
        except signature.SignatureError as exc:
            raise ApiError(403, exc.code, f'marketplace login parameters: {exc.message}') from None
        if dict(query).get('signId', sign_id) != sign_id:
            raise ApiError(403, 'invalid_login_token', 'the login parameters name another instance')
        if not instance_store.consume_login(dict(query)['eventId'], int(now.timestamp()) + LOGIN_RECORD_SECONDS):
            raise ApiError(403, 'login_used', 'these login parameters were used already; log in again from '
                                              'the marketplace')
    instance = instance_store.get(sign_id)
    if instance is None or instance['status'] == instances.DESTROYED:
        raise ApiError(403, 'login_revoked', 'this instance has been destroyed; its login link is revoked')
    if not instances.is_usable(instance, now):
        raise ApiError(403, 'instance_expired', 'this instance has expired; renew it in the marketplace')
    params = assertion(sign_id, config.login_secret.value, now.timestamp())
    return with_query(config.website, params)


def assertion(sign_id, secret, now_seconds):
    """The query parameters that tell the merchant's website who logs in."""
    expires = str(int(now_seconds) + ASSERTION_SECONDS)
    return {'signId': sign_id, 'expires': expires, 'signature': _mac(secret, f'{expires}.{sign_id}').hex()}


def with_query(url, params):
    """`url` with `params` added to its query string (the website may have its own)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def verify_assertion(params, secret, *, now, max_seconds=MAX_ASSERTION_SECONDS):
    """For the merchant's website: the signId of a genuine, unexpired assertion.

    `params` is the query string of the request Paygate redirected (a dict);
    `secret` is PAYGATE_CLOUDMARKET_LOGIN_SECRET; `now` is Unix seconds
    (time.time()). Raises ValueError otherwise. Standard library only, so it
    can be copied as it is.
    """
    now = int(now)
    sign_id, expires, signature = (params.get(k, '') for k in ('signId', 'expires', 'signature'))
    if not (sign_id and expires.isascii() and expires.isdigit() and signature):
        raise ValueError('not a Paygate login assertion')
    expected = hmac.new(secret.encode('utf-8'), f'{expires}.{sign_id}'.encode('utf-8'),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode('utf-8'), expected.encode('ascii')):
        raise ValueError('the assertion signature does not match')
    if not now < int(expires) <= now + max_seconds:
        raise ValueError('the assertion has expired')
    return sign_id
