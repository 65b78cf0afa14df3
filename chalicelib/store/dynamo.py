"""The thin DynamoDB layer under every store module: one client, item (de)serialisation,
conditional writes whose refusals return the item as it was, and named transactions.

A refused condition costs no extra read: every conditional write asks DynamoDB
for the item as it stood (ReturnValuesOnConditionCheckFailure ALL_OLD), so the
caller can say why without asking again. Transaction items are named, and a
cancelled transaction is read by those names, never by position.
"""
from decimal import Decimal

from chalicelib import aws, retry, settings

CONDITION_FAILED = 'ConditionalCheckFailed'


class ConditionFailed(Exception):
    """A conditional write refused; `old` is the item as it stood (None when there was none)."""

    def __init__(self, old):
        super().__init__('the conditional request failed')
        self.old = old


class Cancelled(Exception):
    """A transaction refused by the condition of one or more of its named items."""

    def __init__(self, names, reasons):
        super().__init__(dict(zip(names, (r.get('Code', 'None') for r in reasons))))
        self._reasons = dict(zip(names, reasons))

    def failed(self, name):
        """True when item `name` was one whose condition failed."""
        return self._reasons.get(name, {}).get('Code') == CONDITION_FAILED

    def old(self, name):
        """Item `name` as it stood when its condition failed, or None."""
        item = self._reasons.get(name, {}).get('Item')
        return from_item(item) if item else None


def client():
    return aws.client('dynamodb')


def table():
    return settings.get().table_name


def key(pk, sk):
    return {'pk': {'S': pk}, 'sk': {'S': sk}}


def _serializer():
    serializer, _ = aws.dynamodb_types()
    return serializer()


def to_attr(value):
    return _serializer().serialize(value)


def to_item(mapping):
    """An item from a mapping; None values are left out."""
    serializer = _serializer()
    return {k: serializer.serialize(v) for k, v in mapping.items() if v is not None}


def from_item(item):
    _, deserializer_type = aws.dynamodb_types()
    deserializer = deserializer_type()
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value):
    """DynamoDB numbers come back as Decimal; Paygate stores integers only."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)) or type(value).__name__ == 'Binary':
        return bytes(value)
    return value


class Expression:
    """Placeholders for one request's expressions: #n0 for names, :v0 for values."""

    def __init__(self):
        self.names, self.values = {}, {}

    def name(self, path):
        """`#nX` for a field, `#nX.#nY` for a nested one (`provider_data.token`)."""
        parts = []
        for part in path.split('.'):
            placeholder = f'#n{len(self.names)}'
            self.names[placeholder] = part
            parts.append(placeholder)
        return '.'.join(parts)

    def value(self, value):
        placeholder = f':v{len(self.values)}'
        self.values[placeholder] = to_attr(value)
        return placeholder

    def equals(self, path, value):
        return f'{self.name(path)} = {self.value(value)}'

    def one_of(self, path, choices):
        """`path` is one of `choices`; a None among them also accepts an item without `path`."""
        present = [choice for choice in choices if choice is not None]
        condition = f'{self.name(path)} IN ({", ".join(self.value(c) for c in present)})'
        if len(present) < len(choices):
            condition = f'(attribute_not_exists({self.name(path)}) OR {condition})'
        return condition

    def request(self, body):
        """`body` with the placeholders this expression made."""
        if self.names:
            body['ExpressionAttributeNames'] = self.names
        if self.values:
            body['ExpressionAttributeValues'] = self.values
        return body


def update_expression(expression, fields, add=None, extra_sets=()):
    """SET the fields whose value is not None, REMOVE those that are None, ADD counters."""
    sets = [f'{expression.name(k)} = {expression.value(v)}' for k, v in fields.items() if v is not None]
    sets.extend(extra_sets)
    removes = [expression.name(k) for k, v in fields.items() if v is None]
    clauses = []
    if sets:
        clauses.append('SET ' + ', '.join(sets))
    if removes:
        clauses.append('REMOVE ' + ', '.join(removes))
    if add:
        clauses.append('ADD ' + ', '.join(f'{expression.name(k)} {expression.value(v)}' for k, v in add.items()))
    return ' '.join(clauses)


def put(item, condition=None, expression=None):
    """A Put request body for the transaction or for put_item."""
    body = {'TableName': table(), 'Item': to_item(item)}
    if condition:
        body['ConditionExpression'] = condition
        body['ReturnValuesOnConditionCheckFailure'] = 'ALL_OLD'
    return (expression or Expression()).request(body)


def put_new(item):
    """A Put that refuses when an item with the same key exists."""
    return put(item, 'attribute_not_exists(pk)')


def update(item_key, fields, condition=None, expression=None, add=None, extra_sets=()):
    """An Update request body: `fields` SET (None REMOVEs), `add` counters, under `condition`.

    `condition` may use placeholders made with the same `expression`.
    """
    expression = expression or Expression()
    body = {'TableName': table(), 'Key': item_key,
            'UpdateExpression': update_expression(expression, fields, add, extra_sets)}
    if condition:
        body['ConditionExpression'] = condition
        body['ReturnValuesOnConditionCheckFailure'] = 'ALL_OLD'
    return expression.request(body)


def delete(item_key, condition=None, expression=None):
    """A Delete request body, under `condition` when given."""
    body = {'TableName': table(), 'Key': item_key}
    if condition:
        body['ConditionExpression'] = condition
    return (expression or Expression()).request(body)


def get(item_key):
    """An item, strongly consistent, or None."""
    found = client().get_item(TableName=table(), Key=item_key, ConsistentRead=True).get('Item')
    return from_item(found) if found else None


def write_put(body):
    """put_item(body); ConditionFailed with the old item when its condition refuses."""
    _single(client().put_item, body)


def write_update(body):
    """update_item(body); ConditionFailed with the old item when its condition refuses."""
    _single(client().update_item, body)


def write_delete(body):
    """delete_item(body); ConditionFailed with the old item when its condition refuses."""
    _single(client().delete_item, body)


def _single(call, body):
    try:
        call(**body)
    except client().exceptions.ConditionalCheckFailedException as exc:
        item = exc.response.get('Item')
        raise ConditionFailed(from_item(item) if item else None) from None


def transact(named):
    """TransactWriteItems over `named`, a list of (name, {'Put'|'Update'|...: body}) pairs.

    Transaction conflicts (another writer on the same items at the same moment:
    nothing was written) are retried; a refused condition raises Cancelled.
    """
    from botocore.exceptions import ClientError
    names = [name for name, _ in named]
    items = [item for _, item in named]

    def attempt():
        try:
            client().transact_write_items(TransactItems=items)
        except ClientError as exc:
            code = exc.response['Error']['Code']
            reasons = exc.response.get('CancellationReasons', [])
            codes = {reason.get('Code') for reason in reasons}
            if code == 'TransactionConflictException' or (
                    code == 'TransactionCanceledException' and 'TransactionConflict' in codes
                    and CONDITION_FAILED not in codes):
                return retry.AGAIN
            if code == 'TransactionCanceledException':
                raise Cancelled(names, reasons) from None
            raise
        return None

    retry.optimistic(attempt, f'a transaction on {names[0]}')


def query(request, max_items=None, keep=None):
    """Query with paging; stop once `max_items` items that `keep` accepts are found."""
    found, start = [], None
    while True:
        page = dict(request, TableName=table())
        if start:
            page['ExclusiveStartKey'] = start
        reply = client().query(**page)
        for item in map(from_item, reply.get('Items', [])):
            if keep is None or keep(item):
                found.append(item)
                if max_items and len(found) >= max_items:
                    return found
        start = reply.get('LastEvaluatedKey')
        if not start:
            return found


BATCH_GET, BATCH_WRITE = 100, 25


def get_many(item_keys):
    """The items of `item_keys` that exist, strongly consistent, by BatchGetItem (100 keys a call;
    keys DynamoDB leaves unprocessed are asked again)."""
    unique = list({(k['pk']['S'], k['sk']['S']): k for k in item_keys}.values())
    found = []
    for start in range(0, len(unique), BATCH_GET):
        found += _batch(lambda keys: client().batch_get_item(
                            RequestItems={table(): {'Keys': keys, 'ConsistentRead': True}}),
                        unique[start:start + BATCH_GET],
                        lambda reply: reply.get('UnprocessedKeys', {}).get(table(), {}).get('Keys', []),
                        lambda reply: reply.get('Responses', {}).get(table(), []))
    return [from_item(item) for item in found]


def put_many(items):
    """Put every item (BatchWriteItem, 25 a call; unprocessed ones are sent again). Unconditional."""
    _write_many([{'PutRequest': {'Item': to_item(item)}} for item in items])


def delete_many(item_keys):
    _write_many([{'DeleteRequest': {'Key': item_key}} for item_key in item_keys])


def _write_many(requests):
    for start in range(0, len(requests), BATCH_WRITE):
        _batch(lambda chunk: client().batch_write_item(RequestItems={table(): chunk}),
               requests[start:start + BATCH_WRITE],
               lambda reply: reply.get('UnprocessedItems', {}).get(table(), []), lambda reply: [])


def _batch(call, chunk, unprocessed, results):
    """call(chunk) until nothing is left unprocessed (throttled parts are retried with a pause)."""
    found = []

    def attempt():
        nonlocal chunk
        reply = call(chunk)
        found.extend(results(reply))
        chunk = unprocessed(reply)
        return retry.AGAIN if chunk else None

    retry.optimistic(attempt, 'a batch request')
    return found
