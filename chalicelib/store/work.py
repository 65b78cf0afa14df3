"""The `work` index: items that are due (webhook deliveries, open orders), oldest first.

An item is in it while it carries `work_pk` (its kind) and `work_at` (when
it is due, RFC 3339); removing them takes it out.
"""
from chalicelib.store import dynamo


def due(kind, until, limit=100):
    """Items of `kind` due at or before `until` (RFC 3339), oldest first, at most `limit`."""
    return dynamo.query({'IndexName': 'work', 'Limit': limit,
                         'KeyConditionExpression': 'work_pk = :kind AND work_at <= :until',
                         'ExpressionAttributeValues': {':kind': {'S': kind}, ':until': {'S': until}}},
                        max_items=limit)
