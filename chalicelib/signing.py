"""Small signing helpers shared by providers (constant-time checks, sorted pairs)."""
import hmac


def sorted_pairs(params, exclude=('sign',)):
    """`k=v&k=v` over the non-empty values, keys sorted by byte order, values raw."""
    return '&'.join(f'{k}={params[k]}' for k in sorted(params)
                    if k not in exclude and params[k] is not None and params[k] != '')


def equal(received, expected):
    """Constant-time comparison of two signatures (strings)."""
    return hmac.compare_digest(received.encode('utf-8'), expected.encode('utf-8'))
