"""SaaS instances sold through the marketplace: records, expiry arithmetic, changes.

Statuses: ACTIVE -> EXPIRED (expireInstance) -> ACTIVE again on a renewal;
ACTIVE or EXPIRED -> DESTROYED (destroyInstance; kept for audit, final).
An instance is usable while it is ACTIVE and its expiry is in the future.
Every change is a conditional write on the instance's version, committed in
one transaction with its event and the marketplace delivery that caused it.

Times are stored in UTC (RFC 3339). Calendar arithmetic (timeSpan/timeUnit)
and expiry times without an offset use China Standard Time (UTC+8, no DST),
the marketplace's time zone.
"""
import calendar
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chalicelib import clock, events, retry
from chalicelib.store import instances as instance_store
from chalicelib.errors import conflict, invalid, not_found

ACTIVE, EXPIRED, DESTROYED = 'ACTIVE', 'EXPIRED', 'DESTROYED'
CHINA = timezone(timedelta(hours=8), 'UTC+08:00')
UNIT_LIMITS = {'y': 100, 'm': 1200, 'd': 36600}
_LOCAL_TIME = re.compile(r'\A\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?\Z')
PUBLIC_FIELDS = ('sign_id', 'order_id', 'open_id', 'product_id', 'product_name', 'spec', 'trial',
                 'status', 'created_at', 'expires_at', 'updated_at', 'expired_at', 'destroyed_at')


SIGN_ID = re.compile(r'\Acm[0-9a-f]{24}\Z')


def new_sign_id():
    """An unguessable instance id: `cm` + 24 hex digits (96 random bits)."""
    return 'cm' + secrets.token_hex(12)


def add_period(start, span, unit):
    """`start` plus `span` years (y), months (m) or days (d), calendar-correct in UTC+8.

    A month later than Jan 31 is the last day of February (28 or 29); a year
    later than Feb 29 is Feb 28. The time of day is kept.
    """
    local = start.astimezone(CHINA)
    if unit == 'd':
        return (local + timedelta(days=span)).astimezone(timezone.utc)
    months = local.month - 1 + span * (12 if unit == 'y' else 1)
    year, month = local.year + months // 12, months % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(timezone.utc)


def parse_period(span, unit):
    """(timeSpan, timeUnit) checked: a positive integer (or its digits) and y, m or d."""
    unit = unit.lower() if isinstance(unit, str) else None
    if unit not in UNIT_LIMITS:
        raise invalid('productInfo.timeUnit must be y, m or d', 'productInfo.timeUnit')
    if isinstance(span, str) and span.isascii() and span.isdigit():
        span = int(span)
    if isinstance(span, bool) or not isinstance(span, int) or not 1 <= span <= UNIT_LIMITS[unit]:
        raise invalid(f'productInfo.timeSpan must be an integer from 1 to {UNIT_LIMITS[unit]} '
                      f'for unit {unit}', 'productInfo.timeSpan')
    return span, unit


def parse_expire_time(value):
    """instanceExpireTime as a UTC datetime.

    Accepted: "YYYY-MM-DD HH:MM:SS" (China Standard Time, UTC+8), the same with
    "T" and optionally an offset or Z (RFC 3339), or Unix seconds (integer or
    its digits).
    """
    if value is None or value == '':
        raise invalid('instanceExpireTime is required', 'instanceExpireTime')
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 11:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10 ** 11:
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str) and _LOCAL_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=CHINA)).astimezone(timezone.utc)
    raise invalid('instanceExpireTime must be "YYYY-MM-DD HH:MM:SS" (UTC+8), RFC 3339 '
                  'or Unix seconds', 'instanceExpireTime')


def is_usable(instance, now):
    return instance['status'] == ACTIVE and clock.parse_rfc3339(instance['expires_at']) > now


def view(instance):
    """The instance as the API and events show it."""
    shown = {name: instance.get(name) for name in PUBLIC_FIELDS}
    shown['active'] = is_usable(instance, clock.now())
    return shown


def get(sign_id):
    """The stored instance; 404 when there is none (a signId that cannot be ours is not looked up)."""
    instance = instance_store.get(sign_id) if isinstance(sign_id, str) and SIGN_ID.match(sign_id) else None
    if instance is None:
        raise not_found(f'no instance with signId {sign_id}')
    return instance


def for_order(order_id):
    """The instance made for a marketplace orderId, or None."""
    pointer = instance_store.for_order(order_id)
    return instance_store.get(pointer['sign_id']) if pointer else None


def create(sign_id, request, delivery):
    """Store the instance for a createInstance request, with its event and `delivery`.

    `request` holds order_id, open_id, product_id, product_name, spec, trial,
    time_span, time_unit, request_id and expires_at (the expiry the marketplace
    gave, or None: then time_span/time_unit from now). Returns instance_store.APPLIED,
    EXISTS or DUPLICATE.
    """
    now = clock.now()
    stamp = clock.rfc3339(now)
    expires_at = request['expires_at'] or add_period(now, request['time_span'], request['time_unit'])
    instance = {**request, 'sign_id': sign_id, 'status': ACTIVE, 'created_at': stamp,
                'updated_at': stamp, 'version': 1, 'expires_at': clock.rfc3339(expires_at)}
    event = events.new_event(events.INSTANCE_CREATED, {'instance': view(instance)},
                             events.instance_subject(sign_id))
    return instance_store.insert(instance, event, delivery)


@dataclass(frozen=True)
class Change:
    """Fields to set on an instance and the event type it causes."""
    fields: dict
    event_type: str


def renew(instance, expires_at):
    _refuse_destroyed(instance, 'renewed')
    return Change({'status': ACTIVE, 'expires_at': clock.rfc3339(expires_at)}, events.INSTANCE_RENEWED)


def modify(instance, expires_at, spec=None):
    """A configuration change: the new expiry, the new spec, and trial becomes formal."""
    _refuse_destroyed(instance, 'modified')
    fields = {'status': ACTIVE, 'expires_at': clock.rfc3339(expires_at), 'trial': False}
    if spec is not None:
        fields['spec'] = spec
    return Change(fields, events.INSTANCE_MODIFIED)


def expire(instance):
    if instance['status'] != ACTIVE:
        return Change({}, events.INSTANCE_EXPIRED)
    return Change({'status': EXPIRED, 'expired_at': clock.rfc3339(clock.now())}, events.INSTANCE_EXPIRED)


def destroy(instance):
    if instance['status'] == DESTROYED:
        return Change({}, events.INSTANCE_DESTROYED)
    return Change({'status': DESTROYED, 'destroyed_at': clock.rfc3339(clock.now())},
                  events.INSTANCE_DESTROYED)


def _refuse_destroyed(instance, what):
    if instance['status'] == DESTROYED:
        raise conflict('instance_destroyed',
                       f'instance {instance["sign_id"]} was destroyed; it cannot be {what}')


def apply(sign_id, decide, delivery):
    """Apply `decide(instance) -> Change` to an instance, exactly once, with `delivery`.

    A Change that sets nothing the instance does not already have writes no
    event: a repeated expire, destroy or renewal answers success and changes
    nothing. Returns instance_store.APPLIED, DUPLICATE (the delivery was answered
    meanwhile) or None (nothing to change; the caller stores the answer).
    """
    def attempt():
        instance = get(sign_id)
        change = decide(instance)
        if all(instance.get(name) == value for name, value in change.fields.items()):
            return None
        fields = {**change.fields, 'updated_at': clock.rfc3339(clock.now())}
        event = events.new_event(change.event_type, {'instance': view({**instance, **fields})},
                                 events.instance_subject(sign_id))
        outcome = instance_store.commit_change(sign_id, instance['version'], fields, event, delivery)
        return retry.AGAIN if outcome == instance_store.STALE else outcome

    return retry.optimistic(attempt, f'instance {sign_id}')
