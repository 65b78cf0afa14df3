"""The Cloud Marketplace aggregate in the table: SaaS instances and the deliveries that made them.

  INSTANCE#<signId> / INSTANCE   a SaaS instance
  CMORDER#<orderId> / CMORDER    marketplace orderId -> signId (one instance per order)
  CMEVENT#<eventId> / CMEVENT    a marketplace delivery, raw, with the answer it got
  CMLOGIN#<eventId> / CMLOGIN    the marketplace's one-time login parameters, used (expire after a day)

A change to an instance, its event and the delivery's answer are written in
one transaction.
"""
from chalicelib.store import dynamo
from chalicelib.store import events as event_store

APPLIED = 'applied'
DUPLICATE = 'duplicate'
STALE = 'stale'
EXISTS = 'exists'


def instance_key(sign_id):
    return dynamo.key(f'INSTANCE#{sign_id}', 'INSTANCE')


def get(sign_id):
    return dynamo.get(instance_key(sign_id))


def for_order(order_id):
    """{'sign_id': ...} of the instance made for a marketplace orderId, or None."""
    return dynamo.get(dynamo.key(f'CMORDER#{order_id}', 'CMORDER'))


def get_delivery(event_id):
    return dynamo.get(dynamo.key(f'CMEVENT#{event_id}', 'CMEVENT'))


def consume_login(event_id, expires):
    """Mark the marketplace's one-time login parameters (its eventId) used; False when they were."""
    try:
        dynamo.write_put(dynamo.put_new({'pk': f'CMLOGIN#{event_id}', 'sk': 'CMLOGIN', 'ttl': expires}))
    except dynamo.ConditionFailed:
        return False
    return True


def _delivery_put(delivery):
    """A Put of a delivery record that never replaces an answered one, nor one with another body."""
    expression = dynamo.Expression()
    condition = (f'attribute_not_exists({expression.name("answer")}) AND (attribute_not_exists('
                 f'{expression.name("body_hash")}) OR {expression.equals("body_hash", delivery["body_hash"])})')
    return dynamo.put({'pk': f'CMEVENT#{delivery["event_id"]}', 'sk': 'CMEVENT', **delivery},
                      condition, expression)


def put_delivery(delivery):
    """Store a delivery record on its own; False when an answered or different one is there."""
    try:
        dynamo.write_put(_delivery_put(delivery))
    except dynamo.ConditionFailed:
        return False
    return True


def insert(instance, event, delivery):
    """Store a new instance, its orderId pointer, its event and the delivery's answer at once.

    Returns APPLIED; EXISTS when the orderId already has an instance; DUPLICATE
    when the delivery was answered meanwhile (or carries another body).
    """
    return _with_delivery([
        ('instance', {'Put': dynamo.put_new({'pk': f'INSTANCE#{instance["sign_id"]}', 'sk': 'INSTANCE',
                                             **instance})}),
        ('pointer', {'Put': dynamo.put_new({'pk': f'CMORDER#{instance["order_id"]}', 'sk': 'CMORDER',
                                            'sign_id': instance['sign_id']})})],
        event, delivery, {'pointer': EXISTS})


def commit_change(sign_id, expected_version, fields, event, delivery):
    """Change an instance still at `expected_version`, with its event and the delivery's answer.

    Returns APPLIED; DUPLICATE when the delivery was answered meanwhile; STALE
    when the instance changed since it was read.
    """
    expression = dynamo.Expression()
    condition = expression.equals('version', expected_version)
    update = dynamo.update(instance_key(sign_id), fields, condition, expression, extra_sets=[
        f'{expression.name("version")} = {expression.value(expected_version + 1)}'])
    return _with_delivery([('instance', {'Update': update})], event, delivery, {'instance': STALE})


def _with_delivery(named, event, delivery, outcomes):
    """Write `named`, the delivery record and the event in one transaction.

    Returns APPLIED; DUPLICATE when the delivery record refused; otherwise the
    outcome of the first named item in `outcomes` whose condition failed.
    """
    try:
        dynamo.transact([*named, ('delivery', {'Put': _delivery_put(delivery)}), *event_store.items(event)])
    except dynamo.Cancelled as cancelled:
        if cancelled.failed('delivery'):
            return DUPLICATE
        for name, outcome in outcomes.items():
            if cancelled.failed(name):
                return outcome
        raise
    return APPLIED
