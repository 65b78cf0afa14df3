"""Logical ids of the template's own resources, and ARN helpers."""
TABLE = 'Table'
WEBHOOK_QUEUE = 'WebhookQueue'
WEBHOOK_DLQ = 'WebhookDeadLetterQueue'
REST_API = 'RestAPI'              # Chalice's


def arn(service, resource):
    """An ARN in this stack's partition, region and account."""
    return {'Fn::Sub': f'arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}'}


def get_arn(logical_id):
    return {'Fn::GetAtt': [logical_id, 'Arn']}


def failure_queue(function_resource):
    """The queue a function invoked asynchronously sends its failed invocations to."""
    return f'{function_resource}FailureQueue'
