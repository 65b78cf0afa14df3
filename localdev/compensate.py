"""`make compensate`: one compensation pass against the local stage's table, printed."""
import os
import sys

from localdev.dynamodb_local import client_environment
from localdev.server import stage_environment


def main():
    endpoint = os.environ.get('PAYGATE_DYNAMODB_ENDPOINT')
    if not endpoint:
        sys.exit('Set PAYGATE_DYNAMODB_ENDPOINT to the DynamoDB that `make run` printed.')
    os.environ.update(client_environment(endpoint))
    os.environ.update({k: v for k, v in stage_environment('local').items() if k not in os.environ})
    from chalicelib import compensation
    print(compensation.run())


if __name__ == '__main__':
    main()
