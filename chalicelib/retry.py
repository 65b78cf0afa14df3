"""The one retry policy for writes that lose a race: try again at once, a few times, with a
little jitter, then give up loudly.

Every optimistic write in Paygate (a transaction conflict, an order or
instance that changed since it was read, a refund settled by someone else)
goes through `optimistic`, so they all give up the same way: logged, with
Contention, which the HTTP layer answers 503 and a provider's notify route
answers with the provider's failure, so the caller retries.
"""
import logging
import random
import time

log = logging.getLogger('paygate.retry')

ATTEMPTS = 12


class _Again:
    def __repr__(self):
        return 'AGAIN'


AGAIN = _Again()


class Contention(RuntimeError):
    """Something kept changing under us; the last attempt wrote nothing."""


def optimistic(step, what, attempts=ATTEMPTS, sleep=time.sleep):
    """step() until it returns something other than AGAIN; Contention after `attempts` tries."""
    for attempt in range(attempts):
        result = step()
        if result is not AGAIN:
            return result
        if attempt + 1 < attempts:
            sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))
    log.warning('%s kept changing; gave up after %d attempts, the caller is told to retry', what, attempts)
    raise Contention(f'{what} kept changing; gave up after {attempts} attempts')
