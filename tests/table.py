"""What the table holds, read the way a test asks for it (by the public ids the API gives)."""
from chalicelib import ordermodel
from chalicelib.store import deliveries, events, instances, notifications
from chalicelib.store import orders as order_store


def order(order_id):
    """The stored order an order id names, or None."""
    found = order_store.get(ordermodel.trade_no_of(order_id))
    return found if ordermodel.is_named(found, order_id) else None


def order_by_trade_no(out_trade_no):
    return order_store.get(out_trade_no)


def refund(order_id, refund_no):
    return order_store.get_refund(ordermodel.trade_no_of(order_id), refund_no)


def notification(provider, key):
    return notifications.get(provider, key)


def event(event_id):
    return events.get(event_id)


def delivery(event_id, endpoint_id):
    return deliveries.get(event_id, endpoint_id)


def instance(sign_id):
    return instances.get(sign_id)


def instance_for_order(order_id):
    return instances.for_order(order_id)


def marketplace_delivery(event_id):
    return instances.get_delivery(event_id)


def order_id_of(out_trade_no):
    """The id of the order stored under `out_trade_no`, or None."""
    found = order_store.get(out_trade_no)
    return found['order_id'] if found else None


def lookup(name):
    return order_store.get_lookup(name)


def insert(order, request_hash='hash'):
    """Store an order as POST /orders stores it (for setting a test up)."""
    order_store.insert(order, request_hash)


def change(order, fields):
    """Set fields on a stored order, as a change does (its version moves on); the stored order."""
    assert order_store.commit(order['out_trade_no'], order['version'], fields) == order_store.APPLIED
    return order_store.get(order['out_trade_no'])


def put_event(event):
    """Write an event and its deliveries, as the change that causes one does."""
    from chalicelib.store import dynamo
    dynamo.transact(events.items(event))


def due_deliveries(until):
    return deliveries.due(until)


def certificate(provider, serial):
    from chalicelib.store import keys
    return keys.get(provider, serial)
