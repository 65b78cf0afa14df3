"""The order aggregate in the table: orders, their refunds, Idempotency-Keys and provider lookups.

Items:
  ORDER#<out_trade_no>   / ORDER           the order (its public id is a field)
  ORDER#<out_trade_no>   / REFUND#<no>     a refund of that order
  IDEM#<key>             / IDEM            Idempotency-Key -> the order (expires after 24 h)
  LOOKUP#<provider>#<id> / LOOKUP          a provider's own id for an order -> its out_trade_no

Keyed by out_trade_no, an order is unique per out_trade_no by its key alone,
and a notification naming it reaches it without a read.
"""
from chalicelib.store import dynamo, work

APPLIED = 'applied'
DUPLICATE = 'duplicate'
STALE = 'stale'


class Exists(Exception):
    """An order with the same out_trade_no, or the same Idempotency-Key, is stored already.

    `order` is that order (None when only the key's pointer was seen), `pointer`
    the Idempotency-Key item when it was the key that existed.
    """

    def __init__(self, order=None, pointer=None):
        super().__init__('exists')
        self.order = order
        self.pointer = pointer


def key(out_trade_no):
    return dynamo.key(f'ORDER#{out_trade_no}', 'ORDER')


def refund_key(out_trade_no, refund_no):
    return dynamo.key(f'ORDER#{out_trade_no}', f'REFUND#{refund_no}')


def _idempotency_key(name):
    return dynamo.key(f'IDEM#{name}', 'IDEM')


def _lookup_key(name):
    return dynamo.key(f'LOOKUP#{name}', 'LOOKUP')


def get(out_trade_no):
    return dynamo.get(key(out_trade_no))


def get_many(out_trade_nos, refund_keys=()):
    """({out_trade_no: order}, {(out_trade_no, refund_no): refund}) of those that exist."""
    items = dynamo.get_many([key(n) for n in out_trade_nos] + [refund_key(*k) for k in refund_keys])
    orders = {item['out_trade_no']: item for item in items if item['sk'] == 'ORDER'}
    refunds = {(item['out_trade_no'], item['refund_no']): item for item in items if item['sk'].startswith('REFUND#')}
    return orders, refunds


def get_refund(out_trade_no, refund_no):
    return dynamo.get(refund_key(out_trade_no, refund_no))


def get_idempotency(name):
    return dynamo.get(_idempotency_key(name))


def get_lookup(name):
    """The out_trade_no a provider's own id (`<provider>#<id>`) was recorded for, or None."""
    found = dynamo.get(_lookup_key(name))
    return found['out_trade_no'] if found else None


def insert(order, request_hash, idempotency_key=None, idempotency_ttl=None):
    """Store a new order (one request); Exists when its out_trade_no or Idempotency-Key is taken."""
    item = {**order, 'request_hash': request_hash, **_item_key(order['out_trade_no'])}
    if not idempotency_key:
        try:
            dynamo.write_put(dynamo.put_new(item))
        except dynamo.ConditionFailed as refused:
            raise Exists(order=refused.old) from None
        return
    pointer = {'out_trade_no': order['out_trade_no'], 'order_id': order['order_id'],
               'request_hash': request_hash, 'ttl': idempotency_ttl}
    try:
        dynamo.transact([('order', {'Put': dynamo.put_new(item)}),
                         ('idempotency', {'Put': dynamo.put_new(
                             {'pk': f'IDEM#{idempotency_key}', 'sk': 'IDEM', **pointer})})])
    except dynamo.Cancelled as cancelled:
        raise Exists(order=cancelled.old('order'), pointer=cancelled.old('idempotency')) from None


def _item_key(out_trade_no):
    return {'pk': f'ORDER#{out_trade_no}', 'sk': 'ORDER'}


def complete(out_trade_no, fields, lookups=()):
    """Add what the provider gave at creation (client_params, ...) and its lookups (one request)."""
    update = dynamo.update(key(out_trade_no), fields)
    if not lookups:
        dynamo.write_update(update)
        return
    puts = [(f'lookup:{name}', {'Put': dynamo.put({'pk': f'LOOKUP#{name}', 'sk': 'LOOKUP',
                                                   'out_trade_no': out_trade_no})})
            for name in lookups]
    dynamo.transact([('order', {'Update': update}), *puts])


def delete(order, idempotency_key=None):
    """Remove an order that never reached the provider, so the caller can try again."""
    named = [('order', {'Delete': dynamo.delete(key(order['out_trade_no']))})]
    if idempotency_key:
        named.append(('idempotency', {'Delete': dynamo.delete(_idempotency_key(idempotency_key))}))
    dynamo.transact(named)


def update_fields(out_trade_no, fields, required_status=None):
    """Set plain fields on an order; with required_status, only while it has that status."""
    expression = dynamo.Expression()
    condition = expression.equals('status', required_status) if required_status else None
    try:
        dynamo.write_update(dynamo.update(key(out_trade_no), fields, condition, expression))
    except dynamo.ConditionFailed:
        return False
    return True


def versioned_update(out_trade_no, expected_version, fields):
    """The Update of an order still at `expected_version` (its version moves on by one)."""
    expression = dynamo.Expression()
    condition = expression.equals('version', expected_version)
    return dynamo.update(key(out_trade_no), fields, condition, expression,
                         extra_sets=[f'{expression.name("version")} = {expression.value(expected_version + 1)}'])


def commit(out_trade_no, expected_version, fields, extra=()):
    """Apply `fields` to an order still at `expected_version`, with `extra` named items
    (its event, its notification, a refund) in one transaction.

    Returns APPLIED; DUPLICATE when the item named 'notification' refused (that
    notification was applied already); STALE when the order changed since it was read.
    Any other refusal raises dynamo.Cancelled.
    """
    named = [('order', {'Update': versioned_update(out_trade_no, expected_version, fields)}), *extra]
    try:
        dynamo.transact(named)
    except dynamo.Cancelled as cancelled:
        if cancelled.failed('notification'):
            return DUPLICATE
        if cancelled.failed('order'):
            return STALE
        raise
    return APPLIED


def transition(out_trade_no, requirements, fields, extra=()):
    """The one write of a notification: change the order if it meets every requirement, with
    `extra` named items, in one transaction; no version, no read.

    `requirements` are (field, allowed values) pairs the order must hold. Raises
    dynamo.Cancelled when a condition refuses; its old('order') is the order as
    it stood (None when there is none), its old('notification') the record.
    """
    expression = dynamo.Expression()
    condition = ' AND '.join(['attribute_exists(pk)'] + [
        expression.one_of(field, allowed) for field, allowed in requirements])
    update = dynamo.update(key(out_trade_no), fields, condition, expression, add={'version': 1})
    dynamo.transact([('order', {'Update': update}), *extra])


def new_refund(refund):
    """A named transaction item creating a refund record (refused when its refund_no exists)."""
    return ('refund', {'Put': dynamo.put_new({**_refund_item_key(refund), **refund})})


def _refund_item_key(refund):
    return {'pk': f'ORDER#{refund["out_trade_no"]}', 'sk': f'REFUND#{refund["refund_no"]}'}


def pending_refund_update(out_trade_no, refund_no, fields):
    """A named transaction item changing a refund record that is still PENDING."""
    expression = dynamo.Expression()
    condition = expression.equals('refund_status', 'PENDING')
    return ('refund', {'Update': dynamo.update(refund_key(out_trade_no, refund_no), fields, condition,
                                               expression)})


def open_orders(until, limit):
    """Orders still CREATED whose time in the work index has come (oldest first)."""
    from chalicelib import ordermodel
    return work.due(ordermodel.OPEN_ORDER_WORK, until, limit)
