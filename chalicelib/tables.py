"""The one DynamoDB table's definition, shared by the local run, the tests and deployment.

Single-table design (docs/architecture.md, "Table design"): every item has `pk` and `sk`;
`ttl` (epoch seconds) expires short-lived items; its stream carries the keys
of new items (KEYS_ONLY). Three sparse global
secondary indexes:
  events_by_time     gsi1pk / gsi1sk   every event, newest last (GET /events)
  events_by_subject  gsi2pk / gsi2sk   the events of one order or instance
  work               work_pk / work_at due work: webhook deliveries, open orders
"""

KEY_SCHEMA = [
    {'AttributeName': 'pk', 'KeyType': 'HASH'},
    {'AttributeName': 'sk', 'KeyType': 'RANGE'},
]

INDEXES = {
    'events_by_time': ('gsi1pk', 'gsi1sk'),
    'events_by_subject': ('gsi2pk', 'gsi2sk'),
    'work': ('work_pk', 'work_at'),
}

TTL_ATTRIBUTE = 'ttl'
# New delivery rows in the stream trigger the first webhook attempts (app.deliver_new_events).
STREAM = {'StreamEnabled': True, 'StreamViewType': 'KEYS_ONLY'}


def attribute_definitions():
    names = ['pk', 'sk'] + [name for keys in INDEXES.values() for name in keys]
    return [{'AttributeName': name, 'AttributeType': 'S'} for name in names]


def index_definition(name):
    hash_key, range_key = INDEXES[name]
    return {'IndexName': name,
            'KeySchema': [{'AttributeName': hash_key, 'KeyType': 'HASH'},
                          {'AttributeName': range_key, 'KeyType': 'RANGE'}],
            'Projection': {'ProjectionType': 'ALL'}}


def create(client, table_name):
    """Create the table (or add indexes it lacks); wait until it is usable."""
    if table_name not in client.list_tables()['TableNames']:
        client.create_table(TableName=table_name, KeySchema=KEY_SCHEMA,
                            AttributeDefinitions=attribute_definitions(),
                            GlobalSecondaryIndexes=[index_definition(n) for n in INDEXES],
                            BillingMode='PAY_PER_REQUEST', StreamSpecification=STREAM)
        _wait(client, table_name)
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification={
            'Enabled': True, 'AttributeName': TTL_ATTRIBUTE})
        return
    _add_missing_indexes(client, table_name)


def _add_missing_indexes(client, table_name):
    """Tables made by an earlier version get the indexes added since (one per update)."""
    described = client.describe_table(TableName=table_name)['Table']
    present = {index['IndexName'] for index in described.get('GlobalSecondaryIndexes', [])}
    for name in INDEXES:
        if name not in present:
            client.update_table(TableName=table_name, AttributeDefinitions=attribute_definitions(),
                                GlobalSecondaryIndexUpdates=[{'Create': index_definition(name)}])
            _wait(client, table_name)


def _wait(client, table_name):
    client.get_waiter('table_exists').wait(TableName=table_name,
                                           WaiterConfig={'Delay': 1, 'MaxAttempts': 60})
