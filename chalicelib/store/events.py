"""Events for the merchant's webhooks in the table, with their deliveries and attempts.

  EVENT#<event_id> / EVENT                          the event
  EVENT#<event_id> / DELIVERY#<endpoint>            one endpoint's delivery (store/deliveries.py)
  EVENT#<event_id> / ATTEMPT#<endpoint>#<at>#<n>#.. one attempt at it

Indexes: events_by_time (every event, oldest first) and events_by_subject
(the events of one order or instance). An event is written in the same
transaction as the change that causes it, with its pending deliveries.
"""
from chalicelib.store import dynamo

WEBHOOK_WORK = 'WEBHOOK'


def event_key(event_id):
    return dynamo.key(f'EVENT#{event_id}', 'EVENT')


def items(event):
    """Named transaction items writing an event and its pending deliveries, with index keys."""
    item = {k: v for k, v in event.items() if k not in ('deliveries', 'position')}
    position = event['position']
    item.update(pk=f'EVENT#{event["id"]}', sk='EVENT', gsi1pk='EVENT', gsi1sk=position,
                gsi2pk=f'SUBJECT#{event["subject"]}', gsi2sk=position)
    named = [('event', {'Put': dynamo.put_new(item)})]
    for delivery in event.get('deliveries', ()):
        named.append((f'delivery:{delivery["endpoint_id"]}', {'Put': dynamo.put_new({
            'pk': f'EVENT#{event["id"]}', 'sk': f'DELIVERY#{delivery["endpoint_id"]}', **delivery,
            'work_pk': WEBHOOK_WORK, 'work_at': delivery['due_at']})}))
    return named


def get(event_id):
    return dynamo.get(event_key(event_id))


def records(event_id):
    """Every item of one event: the event, its deliveries and their attempts."""
    return dynamo.query({'KeyConditionExpression': 'pk = :pk',
                         'ExpressionAttributeValues': {':pk': {'S': f'EVENT#{event_id}'}}})


def save_payload(event_id, payload):
    """Keep the rendered payload of an event written without one (the first render wins)."""
    expression = dynamo.Expression()
    payload_name = expression.name('payload')
    dynamo.write_update(dynamo.update(event_key(event_id), {}, expression=expression, extra_sets=[
        f'{payload_name} = if_not_exists({payload_name}, {expression.value(payload)})']))


def listing(subject=None, limit=20, after=None, keep=None):
    """Events oldest first (of `subject` when given), at most `limit`, after the position `after`;
    `keep(item)` filters. Returns (items, the last one's position when more may follow)."""
    index, key_name, range_name, key_value = 'events_by_time', 'gsi1pk', 'gsi1sk', 'EVENT'
    if subject:
        index, key_name, range_name, key_value = 'events_by_subject', 'gsi2pk', 'gsi2sk', f'SUBJECT#{subject}'
    request = {'IndexName': index, 'KeyConditionExpression': f'{key_name} = :key',
               'ExpressionAttributeValues': {':key': {'S': key_value}}}
    if after:
        request['KeyConditionExpression'] += f' AND {range_name} > :after'
        request['ExpressionAttributeValues'][':after'] = {'S': after}
    found = dynamo.query(request, max_items=limit + 1, keep=keep)
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1][range_name] if more and found else None)


def between(start, end, keep=None):
    """Every event whose position is in [start, end) (positions are times followed by `#<id>`, so
    BETWEEN takes none at `end`), oldest first; `keep(item)` filters."""
    return dynamo.query({'IndexName': 'events_by_time',
                         'KeyConditionExpression': 'gsi1pk = :key AND gsi1sk BETWEEN :start AND :end',
                         'ExpressionAttributeValues': {':key': {'S': 'EVENT'}, ':start': {'S': start},
                                                       ':end': {'S': end}}},
                        keep=keep)
