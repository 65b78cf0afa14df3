"""Inbound notifications in the table, raw, each with the verdict it got.

  NOTIFY#<provider>#<key> / NOTIFY   one notification: the provider's own id for a
                                      verified one, `unverified#<sha256>` otherwise

A record that caused a change is written in the change's own transaction
(`applied`), and is never overwritten; one that caused none is written on its
own, and its repeats are counted.
"""
from chalicelib.store import dynamo

APPLIED = 'applied'


def _item_key(provider, notification_key):
    return {'pk': f'NOTIFY#{provider}#{notification_key}', 'sk': 'NOTIFY'}


def get(provider, notification_key):
    return dynamo.get(dynamo.key(f'NOTIFY#{provider}#{notification_key}', 'NOTIFY'))


def applied(record):
    """The named transaction item recording a notification that caused a change. It refuses
    when the same notification was applied before (its old item then says so)."""
    expression = dynamo.Expression()
    condition = f'attribute_not_exists(pk) OR {expression.name("verdict")} <> {expression.value(APPLIED)}'
    item = {**_item_key(record['provider'], record['key']), 'seen_count': 1,
            'first_seen': record['last_seen'], **record, 'verdict': APPLIED}
    return ('notification', {'Put': dynamo.put(item, condition, expression)})


def was_applied(old):
    return bool(old) and old.get('verdict') == APPLIED


def record(notification):
    """Store a notification that caused no change, or count a repeat of it; an applied record
    keeps its verdict and only its counters move."""
    fields = {k: v for k, v in notification.items() if v is not None}
    expression = dynamo.Expression()
    condition = f'attribute_not_exists(pk) OR {expression.name("verdict")} <> {expression.value(APPLIED)}'
    first = expression.name('first_seen')
    update = dynamo.update(dynamo.key(*_item_key(notification['provider'], notification['key']).values()),
                           fields, condition, expression, add={'seen_count': 1},
                           extra_sets=[f'{first} = if_not_exists({first}, {expression.value(notification["last_seen"])})'])
    try:
        dynamo.write_update(update)
    except dynamo.ConditionFailed:
        count_repeat(notification['provider'], notification['key'], notification['last_seen'])


def count_repeat(provider, notification_key, seen_at):
    """A repeat of a stored notification: the record stays, its counters move."""
    dynamo.write_update(dynamo.update(dynamo.key(*_item_key(provider, notification_key).values()),
                                      {'last_seen': seen_at}, add={'seen_count': 1}))
