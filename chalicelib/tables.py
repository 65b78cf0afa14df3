"""The one DynamoDB table's definition, shared by the local run, the tests and deployment.

Single-table design (see README "Table design"): every item has `pk` and `sk`;
`ttl` (epoch seconds) expires short-lived items.
"""

KEY_SCHEMA = [
    {'AttributeName': 'pk', 'KeyType': 'HASH'},
    {'AttributeName': 'sk', 'KeyType': 'RANGE'},
]

ATTRIBUTES = [
    {'AttributeName': 'pk', 'AttributeType': 'S'},
    {'AttributeName': 'sk', 'AttributeType': 'S'},
]

TTL_ATTRIBUTE = 'ttl'


def create(client, table_name):
    """Create the table if it does not exist; wait until it is usable."""
    existing = client.list_tables()['TableNames']
    if table_name not in existing:
        client.create_table(TableName=table_name, KeySchema=KEY_SCHEMA,
                            AttributeDefinitions=ATTRIBUTES, BillingMode='PAY_PER_REQUEST')
        client.get_waiter('table_exists').wait(TableName=table_name,
                                               WaiterConfig={'Delay': 1, 'MaxAttempts': 30})
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification={
            'Enabled': True, 'AttributeName': TTL_ATTRIBUTE})
