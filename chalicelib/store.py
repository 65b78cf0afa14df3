"""DynamoDB access: every read and write Paygate makes to its table.

Items (single table, `pk`/`sk`; the README documents the design):
  ORDER#<order_id>        / ORDER          the order
  ORDER#<order_id>        / REFUND#<no>    a refund of that order
  REF#<out_trade_no>      / REF            out_trade_no -> order_id (makes it unique)
  IDEM#<key>              / IDEM           Idempotency-Key -> order_id (expires after 24 h)
  NOTIFY#<provider>#<id>  / NOTIFY         an inbound notification, raw, with its verdict
  EVENT#<event_id>        / EVENT          an event for the merchant's webhooks
  WXCERT#<serial>         / CERT           a WeChat Pay platform certificate (providers/wechatpay)

A state change, the event it causes and the notification that caused it are
written in one transaction, so a crash can never separate them.
"""
import random
import time
from decimal import Decimal

from chalicelib import aws, settings

APPLIED = 'applied'
DUPLICATE = 'duplicate'
STALE = 'stale'

_CONFLICT_RETRIES = 12


class AlreadyExists(Exception):
    """An order with the same out_trade_no or Idempotency-Key is already stored."""


def _serializer():
    from boto3.dynamodb.types import TypeSerializer
    return TypeSerializer()


def _to_attr(value):
    return _serializer().serialize(value)


def _to_item(mapping):
    serializer = _serializer()
    return {k: serializer.serialize(v) for k, v in mapping.items() if v is not None}


def _from_item(item):
    from boto3.dynamodb.types import TypeDeserializer
    deserializer = TypeDeserializer()
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value):
    """DynamoDB numbers come back as Decimal; Paygate only stores integers."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)) or type(value).__name__ == 'Binary':
        return bytes(value)
    return value


def _client():
    return aws.client('dynamodb')


def _table():
    return settings.get().table_name


def order_key(order_id):
    return {'pk': f'ORDER#{order_id}', 'sk': 'ORDER'}


def _key_attrs(key):
    return {k: {'S': v} for k, v in key.items()}


def _get(key):
    reply = _client().get_item(TableName=_table(), Key=_key_attrs(key), ConsistentRead=True)
    item = reply.get('Item')
    return _from_item(item) if item else None


def get_order(order_id):
    return _get(order_key(order_id))


def get_reference(out_trade_no):
    return _get({'pk': f'REF#{out_trade_no}', 'sk': 'REF'})


def get_idempotency(key):
    return _get({'pk': f'IDEM#{key}', 'sk': 'IDEM'})


def get_notification(provider, notification_key):
    return _get({'pk': f'NOTIFY#{provider}#{notification_key}', 'sk': 'NOTIFY'})


def get_event(event_id):
    return _get({'pk': f'EVENT#{event_id}', 'sk': 'EVENT'})


def get_item(key):
    """Any item by its key ({'pk', 'sk'}), strongly consistent; for small provider caches."""
    return _get(key)


def put_item(item):
    """Write (or replace) an item that carries its own `pk` and `sk`."""
    _client().put_item(TableName=_table(), Item=_to_item(item))


def insert_order(order, request_hash, idempotency_key=None, idempotency_ttl=None):
    """Store a new order with its out_trade_no (and Idempotency-Key) made unique."""
    pointer = {'order_id': order['order_id'], 'request_hash': request_hash}
    items = [
        _put_new({**order_key(order['order_id']), **order}),
        _put_new({'pk': f'REF#{order["out_trade_no"]}', 'sk': 'REF', **pointer}),
    ]
    if idempotency_key:
        items.append(_put_new({'pk': f'IDEM#{idempotency_key}', 'sk': 'IDEM',
                               'ttl': idempotency_ttl, **pointer}))
    try:
        _transact(items)
    except Cancelled as exc:
        if exc.failed_conditions():
            raise AlreadyExists() from None
        raise


def delete_order(order, idempotency_key=None):
    """Remove an order that never reached the provider, so the caller can try again."""
    keys = [order_key(order['order_id']), {'pk': f'REF#{order["out_trade_no"]}', 'sk': 'REF'}]
    if idempotency_key:
        keys.append({'pk': f'IDEM#{idempotency_key}', 'sk': 'IDEM'})
    _transact([{'Delete': {'TableName': _table(), 'Key': _key_attrs(key)}} for key in keys])


def update_order_fields(order_id, fields, required_status=None):
    """Set plain fields on an order; with required_status, only while it has that status."""
    names, values, assignments = _assignments(fields)
    request = {'TableName': _table(), 'Key': _key_attrs(order_key(order_id)),
               'UpdateExpression': 'SET ' + ', '.join(assignments),
               'ExpressionAttributeNames': names, 'ExpressionAttributeValues': values}
    if required_status:
        names['#status'] = 'status'
        values[':required'] = {'S': required_status}
        request['ConditionExpression'] = '#status = :required'
    try:
        _client().update_item(**request)
    except _client().exceptions.ConditionalCheckFailedException:
        return False
    return True


def commit_change(order_id, expected_version, fields, event=None, notification=None, extra_items=()):
    """Apply `fields` to the order if it still has `expected_version`, atomically
    with the event it causes and the notification that caused it.

    Returns APPLIED; DUPLICATE when the notification was already applied;
    STALE when the order changed since it was read (the caller re-reads and decides).
    """
    names, values, assignments = _assignments(fields)
    names['#version'] = 'version'
    values[':expected'] = {'N': str(expected_version)}
    values[':next'] = {'N': str(expected_version + 1)}
    assignments.append('#version = :next')
    items = [{'Update': {
        'TableName': _table(), 'Key': _key_attrs(order_key(order_id)),
        'UpdateExpression': 'SET ' + ', '.join(assignments),
        'ConditionExpression': '#version = :expected',
        'ExpressionAttributeNames': names, 'ExpressionAttributeValues': values}}]
    if event:
        items.append(_put_new({'pk': f'EVENT#{event["id"]}', 'sk': 'EVENT', **event}))
    if notification:
        items.append(_put_notification(notification))
    items.extend(extra_items)
    try:
        _transact(items)
    except Cancelled as exc:
        reasons = exc.codes()
        if notification and reasons[len(items) - 1 - len(extra_items)] == 'ConditionalCheckFailed':
            return DUPLICATE
        if reasons[0] == 'ConditionalCheckFailed':
            return STALE
        raise
    return APPLIED


def put_item_if_new(item):
    """A request item for commit_change's extra_items: a Put that fails if the key exists."""
    return _put_new(item)


def _put_notification(notification):
    put = _put_new({'pk': f'NOTIFY#{notification["provider"]}#{notification["key"]}',
                    'sk': 'NOTIFY', 'seen_count': 1, **notification})
    put['Put']['ConditionExpression'] = 'attribute_not_exists(pk) OR verdict <> :applied'
    put['Put']['ExpressionAttributeValues'] = {':applied': {'S': APPLIED}}
    return put


def record_notification(notification):
    """Store an inbound notification that caused no change (or count a repeat of one).

    An already applied record keeps its verdict; only its counters move.
    """
    key = {'pk': f'NOTIFY#{notification["provider"]}#{notification["key"]}', 'sk': 'NOTIFY'}
    fields = {k: v for k, v in notification.items() if k not in ('first_seen',)}
    names, values, assignments = _assignments(fields)
    names['#first'] = 'first_seen'
    values[':first'] = _to_attr(notification['last_seen'])
    values[':one'] = {'N': '1'}
    values[':applied'] = {'S': APPLIED}
    assignments.append('#first = if_not_exists(#first, :first)')
    update = 'SET ' + ', '.join(assignments) + ' ADD seen_count :one'
    try:
        _client().update_item(
            TableName=_table(), Key=_key_attrs(key), UpdateExpression=update,
            ConditionExpression='attribute_not_exists(pk) OR verdict <> :applied',
            ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    except _client().exceptions.ConditionalCheckFailedException:
        count_repeat(notification['provider'], notification['key'], notification['last_seen'])


def count_repeat(provider, notification_key, seen_at):
    """A verified duplicate: the stored record stays, its counters move."""
    _client().update_item(
        TableName=_table(),
        Key=_key_attrs({'pk': f'NOTIFY#{provider}#{notification_key}', 'sk': 'NOTIFY'}),
        UpdateExpression='SET last_seen = :seen ADD seen_count :one',
        ExpressionAttributeValues={':seen': {'S': seen_at}, ':one': {'N': '1'}})


def _assignments(fields):
    names, values, assignments = {}, {}, []
    for index, (name, value) in enumerate(fields.items()):
        names[f'#f{index}'] = name
        values[f':f{index}'] = _to_attr(value)
        assignments.append(f'#f{index} = :f{index}')
    return names, values, assignments


def _put_new(item):
    return {'Put': {'TableName': _table(), 'Item': _to_item(item),
                    'ConditionExpression': 'attribute_not_exists(pk)'}}


class Cancelled(Exception):
    """A transaction refused by one of its conditions; `codes()` says which item's."""

    def __init__(self, reasons):
        super().__init__(reasons)
        self.reasons = reasons

    def codes(self):
        return [reason.get('Code', 'None') for reason in self.reasons]

    def failed_conditions(self):
        return 'ConditionalCheckFailed' in self.codes()


def _transact(items):
    """TransactWriteItems, retrying only transaction conflicts (concurrent writers).

    A conflict means another transaction touched the same items at the same
    moment; nothing was written, so trying again is safe and lets the
    conditions decide.
    """
    from botocore.exceptions import ClientError
    for attempt in range(_CONFLICT_RETRIES):
        try:
            _client().transact_write_items(TransactItems=items)
            return
        except ClientError as exc:
            code = exc.response['Error']['Code']
            reasons = exc.response.get('CancellationReasons', [])
            conflict = code == 'TransactionConflictException' or (
                code == 'TransactionCanceledException'
                and any(r.get('Code') == 'TransactionConflict' for r in reasons)
                and not any(r.get('Code') == 'ConditionalCheckFailed' for r in reasons))
            if conflict and attempt + 1 < _CONFLICT_RETRIES:
                time.sleep(random.uniform(0, 0.02 * 2 ** min(attempt, 5)))
                continue
            if code == 'TransactionCanceledException':
                raise Cancelled(reasons) from None
            raise


def refund_key(order_id, refund_no):
    return {'pk': f'ORDER#{order_id}', 'sk': f'REFUND#{refund_no}'}


def get_refund(order_id, refund_no):
    return _get(refund_key(order_id, refund_no))


def new_refund_item(refund):
    """A transaction item creating a refund record (fails if the refund_no exists)."""
    return _put_new({**refund_key(refund['order_id'], refund['refund_no']), **refund})


def pending_refund_update(order_id, refund_no, fields):
    """A transaction item changing a refund record that is still PENDING."""
    names, values, assignments = _assignments(fields)
    names['#rs'] = 'refund_status'
    values[':pending'] = {'S': 'PENDING'}
    return {'Update': {'TableName': _table(), 'Key': _key_attrs(refund_key(order_id, refund_no)),
                       'UpdateExpression': 'SET ' + ', '.join(assignments),
                       'ConditionExpression': '#rs = :pending',
                       'ExpressionAttributeNames': names, 'ExpressionAttributeValues': values}}
