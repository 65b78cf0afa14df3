"""The time left to answer the HTTP request being served; waits that could not end in it are not begun.

API Gateway stops waiting for an answer after 29 s whatever the function's
timeout, and a function stops at its own (15 s for notifications). Each wait
is bounded (chalicelib/aws.py, chalicelib/outbound.py), but a request can
make several: a notification up to three DynamoDB requests, an order two and
one or two provider calls. So every HTTP request gets a deadline, a little
before the first of those limits, and:

- an AWS attempt that could not finish before it is not sent (OutOfTime,
  answered like a DynamoDB that did not answer: 503, or the provider's
  failure answer for a notification);
- a provider call waits at most until RESERVE before it, the time the
  writes that follow a provider call may take, and is not made at all when
  less than a useful minimum is left (a retryable ProviderError, as for a
  timeout).

Event handlers (queues, schedules) have no deadline: their calls are bounded
one by one and Lambda's own timeout is the limit.
"""
import contextlib
import contextvars
import time

API_GATEWAY_LIMIT = 29      # seconds API Gateway waits for an answer
MARGIN = 1                  # seconds kept to send the answer
_until = contextvars.ContextVar('paygate_deadline', default=None)


class OutOfTime(Exception):
    """A wait that could not end before the request's deadline was not begun."""


def start(lambda_context):
    """Set the deadline of the request about to be served, from the function's time left."""
    seconds = API_GATEWAY_LIMIT
    if lambda_context is not None:
        seconds = min(seconds, lambda_context.get_remaining_time_in_millis() / 1000)
    return _until.set(time.monotonic() + seconds - MARGIN)


def end(token):
    _until.reset(token)


@contextlib.contextmanager
def keeping(seconds):
    """Within the block, the deadline comes `seconds` earlier: time kept for what must follow it
    (releasing a lease, say), even when the block ran out of time."""
    until = _until.get()
    token = _until.set(None if until is None else until - seconds)
    try:
        yield
    finally:
        _until.reset(token)


def left():
    """Seconds left before the deadline; None outside an HTTP request."""
    until = _until.get()
    return None if until is None else until - time.monotonic()


def check(needed, what):
    """Raise OutOfTime unless `needed` seconds are left (or there is no deadline)."""
    seconds = left()
    if seconds is not None and seconds < needed:
        raise OutOfTime(f'{what}: {max(seconds, 0):.1f} s left before the answer is due, '
                        f'{needed} s needed')
