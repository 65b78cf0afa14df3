"""Cold start: a fresh interpreter importing the app and answering one Codepay notification.

Baseline: a fresh interpreter that imports chalice and boto3 and makes one
DynamoDB GetItem, the least any Paygate request that touches the table costs.
Run: .venv/bin/python -m bench.cold_start
"""
from bench import common

RUNS = 7
BASELINE = '''
import chalice, boto3, os
boto3.client('dynamodb', endpoint_url=os.environ['PAYGATE_DYNAMODB_ENDPOINT']).get_item(
    TableName=os.environ['PAYGATE_TABLE'], Key={'pk': {'S': 'x'}, 'sk': {'S': 'x'}})
'''
IMPORT_ONLY = 'import app'
NOTIFY = '''
import app
from chalice.test import Client
from bench.common import codepay_body
with Client(app.app, stage_name='bench') as client:
    reply = client.http.post('/notify/codepay', body=codepay_body('missing-order', 'P1'),
                             headers={'Content-Type': 'application/x-www-form-urlencoded'})
assert reply.body == b'fail'
'''


def main():
    with common.engine() as engine:
        env = common.environment(engine)
        baseline = common.median_seconds(BASELINE, env, RUNS)
        imported = common.median_seconds(IMPORT_ONLY, env, RUNS)
        notified = common.median_seconds(NOTIFY, env, RUNS)
    print(f'baseline (chalice + boto3 + one GetItem): {baseline * 1000:.0f} ms (= 1.00)')
    print(f'import app:                              {imported / baseline:.2f} x baseline')
    print(f'import app + one Codepay notification:   {notified / baseline:.2f} x baseline')


if __name__ == '__main__':
    main()
