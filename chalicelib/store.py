"""DynamoDB access: every read and write Paygate makes to its table.

Items (single table, `pk`/`sk`; the README documents the design):
  ORDER#<order_id>        / ORDER          the order
  ORDER#<order_id>        / REFUND#<no>    a refund of that order
  REF#<out_trade_no>      / REF            out_trade_no -> order_id (makes it unique)
  IDEM#<key>              / IDEM           Idempotency-Key -> order_id (expires after 24 h)
  LOOKUP#<provider>#<id>  / LOOKUP         a provider's own id for an order -> order_id
  NOTIFY#<provider>#<id>  / NOTIFY         an inbound notification, raw, with its verdict
  EVENT#<event_id>        / EVENT          an event for the merchant's webhooks
  INSTANCE#<signId>       / INSTANCE       a Cloud Marketplace SaaS instance
  CMORDER#<orderId>       / CMORDER        marketplace orderId -> signId (one instance per order)
  CMEVENT#<eventId>       / CMEVENT        a marketplace delivery, raw, with the answer it got
  WXCERT#<serial>         / CERT           a WeChat Pay platform certificate (providers/wechatpay)

A state change, the event it causes and the notification that caused it are
written in one transaction, so a crash can never separate them.
"""
import random
import secrets
import time
from decimal import Decimal

from chalicelib import aws, settings

APPLIED = 'applied'
DUPLICATE = 'duplicate'
STALE = 'stale'
EXISTS = 'exists'

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


def lookup_key(name):
    return {'pk': f'LOOKUP#{name}', 'sk': 'LOOKUP'}


def put_lookup(name, order_id):
    """Point a provider's own id for an order (`<provider>#<id>`, e.g. a Midas token) at the order."""
    _client().put_item(TableName=_table(), Item=_to_item({**lookup_key(name), 'order_id': order_id}))


def get_lookup(name):
    return _get(lookup_key(name))


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
    names, values, expression = _update_expression(fields)
    request = {'TableName': _table(), 'Key': _key_attrs(order_key(order_id)),
               'UpdateExpression': expression,
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
    with the event it causes (and its webhook deliveries) and the notification
    that caused it. A None value removes the attribute.

    Returns APPLIED; DUPLICATE when the notification was already applied;
    STALE when the order changed since it was read (the caller re-reads and decides).
    """
    items = [_versioned_update(order_key(order_id), expected_version, fields)]
    notification_index = None
    if notification:
        notification_index = len(items)
        items.append(_put_notification(notification))
    items.extend(extra_items)
    if event:
        items.extend(event_items(event))
    try:
        _transact(items)
    except Cancelled as exc:
        reasons = exc.codes()
        if notification_index is not None and reasons[notification_index] == 'ConditionalCheckFailed':
            return DUPLICATE
        if reasons[0] == 'ConditionalCheckFailed':
            return STALE
        raise
    if event:
        _after_commit(event)
    return APPLIED


def _after_commit(event):
    """Hand a committed event to the webhook queue; its delivery rows already make it safe."""
    from chalicelib import events
    events.announce(event)


def _versioned_update(key, expected_version, fields):
    """A transaction item changing the item at `key` if it still has `expected_version`
    (None values are removed)."""
    names, values, expression = _update_expression(fields, ['#version = :next'])
    names['#version'] = 'version'
    values[':expected'] = {'N': str(expected_version)}
    values[':next'] = {'N': str(expected_version + 1)}
    return {'Update': {
        'TableName': _table(), 'Key': _key_attrs(key), 'UpdateExpression': expression,
        'ConditionExpression': '#version = :expected',
        'ExpressionAttributeNames': names, 'ExpressionAttributeValues': values}}


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
    fields = {k: v for k, v in notification.items() if v is not None}
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
    """Names, values and SET clauses for `fields`; use _update_expression for None-as-REMOVE."""
    names, values, assignments = {}, {}, []
    for index, (name, value) in enumerate(fields.items()):
        names[f'#f{index}'] = name
        values[f':f{index}'] = _to_attr(value)
        assignments.append(f'#f{index} = :f{index}')
    return names, values, assignments


def _update_expression(fields, extra_sets=()):
    """An UpdateExpression that SETs fields and REMOVEs those whose value is None."""
    present = {k: v for k, v in fields.items() if v is not None}
    names, values, assignments = _assignments(present)
    assignments.extend(extra_sets)
    removed = [name for name, value in fields.items() if value is None]
    for index, name in enumerate(removed):
        names[f'#r{index}'] = name
    expression = 'SET ' + ', '.join(assignments) if assignments else ''
    if removed:
        expression += ' REMOVE ' + ', '.join(f'#r{i}' for i in range(len(removed)))
    return names, values, expression.strip()


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
    names, values, expression = _update_expression(fields)
    names['#rs'] = 'refund_status'
    values[':pending'] = {'S': 'PENDING'}
    return {'Update': {'TableName': _table(), 'Key': _key_attrs(refund_key(order_id, refund_no)),
                       'UpdateExpression': expression,
                       'ConditionExpression': '#rs = :pending',
                       'ExpressionAttributeNames': names, 'ExpressionAttributeValues': values}}


def event_key(event_id):
    return {'pk': f'EVENT#{event_id}', 'sk': 'EVENT'}


def delivery_key(event_id, endpoint_id):
    return {'pk': f'EVENT#{event_id}', 'sk': f'DELIVERY#{endpoint_id}'}


WEBHOOK_WORK = 'WEBHOOK'


def event_items(event):
    """Transaction items writing an event and its pending webhook deliveries, with index keys."""
    item = {k: v for k, v in event.items() if k != 'deliveries'}
    position = f'{event["created_at"]}#{event["id"]}'
    item.update(gsi1pk='EVENT', gsi1sk=position, gsi2pk=f'SUBJECT#{event["subject"]}', gsi2sk=position)
    items = [_put_new({**event_key(event['id']), **item})]
    for delivery in event.get('deliveries', ()):
        items.append(_put_new({**delivery_key(event['id'], delivery['endpoint_id']), **delivery,
                               'work_pk': WEBHOOK_WORK, 'work_at': delivery['due_at']}))
    return items


def put_event(event, other_items=()):
    """Write an event (and `other_items`) in one transaction, then announce it."""
    _transact([*other_items, *event_items(event)])
    _after_commit(event)


def event_records(event_id):
    """Every item of one event: the event, its deliveries and their attempts."""
    return _query({'KeyConditionExpression': 'pk = :pk',
                   'ExpressionAttributeValues': {':pk': {'S': f'EVENT#{event_id}'}}})


def get_delivery(event_id, endpoint_id):
    return _get(delivery_key(event_id, endpoint_id))


def due_work(kind, until, limit=100):
    """Items of the work index of `kind` due at or before `until` (RFC 3339), oldest first."""
    return _query({'IndexName': 'work', 'Limit': limit,
                   'KeyConditionExpression': 'work_pk = :kind AND work_at <= :until',
                   'ExpressionAttributeValues': {':kind': {'S': kind}, ':until': {'S': until}}},
                  max_items=limit)


def lease_delivery(event_id, endpoint_id, now, until):
    """Claim a pending delivery until `until`, unless someone holds an unexpired claim."""
    try:
        _client().update_item(
            TableName=_table(), Key=_key_attrs(delivery_key(event_id, endpoint_id)),
            UpdateExpression='SET lease_until = :until',
            ConditionExpression='#state = :pending AND (attribute_not_exists(lease_until) OR lease_until < :now)',
            ExpressionAttributeNames={'#state': 'state'},
            ExpressionAttributeValues={':until': {'S': until}, ':now': {'S': now},
                                       ':pending': {'S': 'pending'}})
    except _client().exceptions.ConditionalCheckFailedException:
        return False
    return True


def finish_attempt(event_id, endpoint_id, delivery_fields, attempt, counters):
    """Record an attempt and its outcome: the delivery, the attempt, the event's counters."""
    names, values, expression = _update_expression(delivery_fields)
    items = [
        {'Update': {'TableName': _table(), 'Key': _key_attrs(delivery_key(event_id, endpoint_id)),
                    'UpdateExpression': expression, 'ExpressionAttributeNames': names,
                    'ExpressionAttributeValues': values}},
        {'Put': {'TableName': _table(), 'Item': _to_item({
            'pk': f'EVENT#{event_id}',
            'sk': f'ATTEMPT#{endpoint_id}#{attempt["at"]}#{attempt["number"]}#{secrets.token_hex(4)}',
            **attempt})}},
    ]
    if counters:
        items.append(_counter_update(event_key(event_id), counters))
    _transact(items)


def reset_deliveries(event_id, deliveries, counters):
    """Write `deliveries` afresh, pending and due (resend), and set the event's counters."""
    items = [{'Put': {'TableName': _table(), 'Item': _to_item({
        **delivery_key(event_id, d['endpoint_id']), **d,
        'work_pk': WEBHOOK_WORK, 'work_at': d['due_at']})}} for d in deliveries]
    names, values, expression = _update_expression(counters)
    items.append({'Update': {'TableName': _table(), 'Key': _key_attrs(event_key(event_id)),
                             'UpdateExpression': expression, 'ExpressionAttributeNames': names,
                             'ExpressionAttributeValues': values,
                             'ConditionExpression': 'attribute_exists(pk)'}})
    _transact(items)


def _counter_update(key, counters):
    names = {f'#c{i}': name for i, name in enumerate(counters)}
    values = {f':c{i}': {'N': str(delta)} for i, delta in enumerate(counters.values())}
    return {'Update': {'TableName': _table(), 'Key': _key_attrs(key),
                       'UpdateExpression': 'ADD ' + ', '.join(f'#c{i} :c{i}' for i in range(len(counters))),
                       'ExpressionAttributeNames': names, 'ExpressionAttributeValues': values}}


def list_events(subject=None, limit=20, after=None, keep=None):
    """Events oldest first (by subject when given), `limit` at most, starting after the
    event position `after`; `keep(item)` filters. Returns (items, position of the last one
    when more may follow)."""
    index, key_name, key_value = ('events_by_time', 'gsi1pk', 'EVENT')
    if subject:
        index, key_name, key_value = ('events_by_subject', 'gsi2pk', f'SUBJECT#{subject}')
    range_name = 'gsi1sk' if index == 'events_by_time' else 'gsi2sk'
    request = {'IndexName': index, 'KeyConditionExpression': f'{key_name} = :key',
               'ExpressionAttributeValues': {':key': {'S': key_value}}}
    if after:
        request['KeyConditionExpression'] += f' AND {range_name} > :after'
        request['ExpressionAttributeValues'][':after'] = {'S': after}
    found = _query(request, max_items=limit + 1, keep=keep)
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1][range_name] if more and found else None)


def _query(request, max_items=None, keep=None):
    """Query with paging; stop once `max_items` items that `keep` accepts are found."""
    found, start = [], None
    while True:
        page = dict(request, TableName=_table())
        if start:
            page['ExclusiveStartKey'] = start
        reply = _client().query(**page)
        for item in map(_from_item, reply.get('Items', [])):
            if keep is None or keep(item):
                found.append(item)
                if max_items and len(found) >= max_items:
                    return found
        start = reply.get('LastEvaluatedKey')
        if not start:
            return found


def instance_key(sign_id):
    return {'pk': f'INSTANCE#{sign_id}', 'sk': 'INSTANCE'}


def get_instance(sign_id):
    return _get(instance_key(sign_id))


def get_instance_pointer(order_id):
    """{'sign_id': ...} of the instance made for a marketplace orderId, or None."""
    return _get({'pk': f'CMORDER#{order_id}', 'sk': 'CMORDER'})


def get_marketplace_delivery(event_id):
    return _get({'pk': f'CMEVENT#{event_id}', 'sk': 'CMEVENT'})


def _marketplace_delivery_put(delivery):
    """A Put of a marketplace delivery record that never replaces an answered one,
    nor one with another body."""
    return {'Put': {
        'TableName': _table(),
        'Item': _to_item({'pk': f'CMEVENT#{delivery["event_id"]}', 'sk': 'CMEVENT', **delivery}),
        'ConditionExpression': 'attribute_not_exists(#answer) AND '
                               '(attribute_not_exists(#hash) OR #hash = :hash)',
        'ExpressionAttributeNames': {'#answer': 'answer', '#hash': 'body_hash'},
        'ExpressionAttributeValues': {':hash': {'S': delivery['body_hash']}}}}


def put_marketplace_delivery(delivery):
    """Store a marketplace delivery record on its own; False when an answered or different one is there."""
    try:
        _client().put_item(**_marketplace_delivery_put(delivery)['Put'])
    except _client().exceptions.ConditionalCheckFailedException:
        return False
    return True


def insert_instance(instance, event, delivery):
    """Store a new instance, its orderId pointer, its event and the delivery's answer at once.

    Returns APPLIED; EXISTS when the orderId already has an instance;
    DUPLICATE when the delivery was answered meanwhile (or carries another body).
    """
    return _transact_with_delivery([
        _put_new({**instance_key(instance['sign_id']), **instance}),
        _put_new({'pk': f'CMORDER#{instance["order_id"]}', 'sk': 'CMORDER', 'sign_id': instance['sign_id']})],
        event, delivery, {1: EXISTS})


def commit_instance_change(sign_id, expected_version, fields, event, delivery):
    """Change an instance still at `expected_version`, with its event and the delivery's answer.

    Returns APPLIED; DUPLICATE when the delivery was answered meanwhile;
    STALE when the instance changed since it was read.
    """
    return _transact_with_delivery([_versioned_update(instance_key(sign_id), expected_version, fields)],
                                   event, delivery, {0: STALE})


def _transact_with_delivery(items, event, delivery, outcomes):
    """Write `items`, the marketplace delivery record and the event in one transaction.

    Returns APPLIED; DUPLICATE when the delivery record refused; otherwise
    outcomes[i] for the first item i whose condition failed.
    """
    try:
        _transact([*items, _marketplace_delivery_put(delivery), *event_items(event)])
    except Cancelled as exc:
        codes = exc.codes()
        if codes[len(items)] == 'ConditionalCheckFailed':
            return DUPLICATE
        for index, outcome in outcomes.items():
            if codes[index] == 'ConditionalCheckFailed':
                return outcome
        raise
    _after_commit(event)
    return APPLIED
