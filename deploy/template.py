"""The CloudFormation merged into Chalice's SAM template (`chalice package --merge-template`).

Chalice's template has one API function (APIHandler) and one function per event
handler. This adds:
  - a copy of the API function per other endpoint group (`Handler: app.app`, same
    code), each with its own role, and points the group's API paths at it;
    Chalice dispatches on the request's resource path, so any copy serves any route;
  - a log group per function (with retention), created before the function;
  - the DynamoDB table (from chalicelib/tables.py) and the webhook queue with its
    dead-letter queue, wired into every function's environment and the SQS trigger.
The merge deep-merges dicts and replaces everything else, lists included.
"""
import json

from chalicelib import tables
from deploy import functions, names, policy

LAMBDA_TRUST = {'Version': '2012-10-17', 'Statement': [{
    'Effect': 'Allow', 'Principal': {'Service': 'lambda.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}
# AWS's advice for an SQS-triggered function: visibility timeout six times its timeout.
VISIBILITY_PER_TIMEOUT = 6
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def merge_template(plan_functions, stage):
    """The template to merge into Chalice's for `stage`."""
    resources = data_resources(plan_functions, stage)
    paths = {}
    for function in plan_functions:
        resources.update(_function_resources(function, stage))
        for method, path in function.routes:
            paths.setdefault(path, {})[method.lower()] = {
                'x-amazon-apigateway-integration': {'uri': invocation_uri(function)}}
    resources[names.REST_API] = {'Properties': {'DefinitionBody': {'paths': paths}}}
    return {'Resources': resources, 'Outputs': _outputs()}


def resources_template(plan_functions, stage):
    """The table and queues alone: what `chalice deploy` (one function) needs to exist."""
    return {'AWSTemplateFormatVersion': '2010-09-09',
            'Description': f'{stage.app_name} {stage.name}: DynamoDB table and webhook queues',
            'Resources': data_resources(plan_functions, stage), 'Outputs': _outputs()}


def data_resources(plan_functions, stage):
    """The table, the webhook queue with its dead-letter queue, and the failure queue (with its
    alarm) of each function invoked asynchronously."""
    worker_timeout = max(f.spec.timeout for f in plan_functions if f.spec.needs.consumes)
    failing = [f for f in plan_functions if f.spec.needs.fails_to_queue]
    return {
        **{name: resource for f in failing for name, resource in _failure_queue(f, stage).items()},
        names.TABLE: {
            'Type': 'AWS::DynamoDB::Table',
            'DeletionPolicy': 'Retain',
            'UpdateReplacePolicy': 'Retain',
            'Properties': {
                'TableName': stage.setting('PAYGATE_TABLE'),
                'BillingMode': 'PAY_PER_REQUEST',
                'KeySchema': tables.KEY_SCHEMA,
                'AttributeDefinitions': tables.attribute_definitions(),
                'GlobalSecondaryIndexes': [tables.index_definition(name) for name in tables.INDEXES],
                'PointInTimeRecoverySpecification': {'PointInTimeRecoveryEnabled': True},
                'TimeToLiveSpecification': {'AttributeName': tables.TTL_ATTRIBUTE, 'Enabled': True},
                'StreamSpecification': {'StreamViewType': tables.STREAM['StreamViewType']},
            },
        },
        names.WEBHOOK_QUEUE: {
            'Type': 'AWS::SQS::Queue',
            'Properties': {
                'QueueName': stage.setting('PAYGATE_WEBHOOK_QUEUE'),
                'VisibilityTimeout': VISIBILITY_PER_TIMEOUT * worker_timeout,
                'RedrivePolicy': {'deadLetterTargetArn': names.get_arn(names.WEBHOOK_DLQ),
                                  'maxReceiveCount': functions.MAX_RECEIVE_COUNT},
                'SqsManagedSseEnabled': True,
            },
        },
        names.WEBHOOK_DLQ: {
            'Type': 'AWS::SQS::Queue',
            'Properties': {
                'QueueName': stage.setting('PAYGATE_WEBHOOK_QUEUE') + '-dlq',
                'MessageRetentionPeriod': DLQ_RETENTION_SECONDS,
                'SqsManagedSseEnabled': True,
            },
        },
    }


def _failure_queue(function, stage):
    """Where an asynchronous invocation of `function` goes after Lambda's retries, and an alarm
    that fires as soon as one is there."""
    queue = names.failure_queue(function.resource)
    return {
        queue: {'Type': 'AWS::SQS::Queue', 'Properties': {
            'QueueName': stage.function_name(function) + '-failures',
            'MessageRetentionPeriod': DLQ_RETENTION_SECONDS, 'SqsManagedSseEnabled': True}},
        f'{queue}Alarm': {'Type': 'AWS::CloudWatch::Alarm', 'Properties': {
            'AlarmDescription': f'{stage.function_name(function)}: failed invocations are waiting in '
                                f'{stage.function_name(function)}-failures',
            'Namespace': 'AWS/SQS', 'MetricName': 'ApproximateNumberOfMessagesVisible',
            'Dimensions': [{'Name': 'QueueName', 'Value': {'Fn::GetAtt': [queue, 'QueueName']}}],
            'Statistic': 'Maximum', 'Period': 300, 'EvaluationPeriods': 1, 'Threshold': 0,
            'ComparisonOperator': 'GreaterThanThreshold', 'TreatMissingData': 'notBreaching'}},
    }


def invocation_uri(function):
    return {'Fn::Sub': 'arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31'
                       f'/functions/${{{function.resource}.Arn}}/invocations'}


def wiring(function, stage):
    """Environment variables that name the template's own resources, and the settings the
    function reads (PAYGATE_PREFETCH: their ssm: references are fetched in one call)."""
    return {'PAYGATE_TABLE': {'Ref': names.TABLE}, 'PAYGATE_WEBHOOK_QUEUE_URL': {'Ref': names.WEBHOOK_QUEUE},
            'PAYGATE_PREFETCH': ','.join(policy.settings_read(function, stage.env))}


def _function_resources(function, stage):
    """Its log group, and what the function itself needs beyond Chalice's definition
    (all of it for a copy, with its role and its permission to be invoked by the API)."""
    res = function.resource
    log_group = f'{res}LogGroup'
    resources = {log_group: {'Type': 'AWS::Logs::LogGroup', 'Properties': {
        'LogGroupName': stage.log_group(function), 'RetentionInDays': functions.LOG_RETENTION_DAYS}}}
    properties = {'FunctionName': stage.function_name(function),
                  'Environment': {'Variables': wiring(function, stage)}}
    if function.trigger == 'sqs':
        # Chalice's Queue is {"Fn::Sub": <ARN from the queue's name>}: the same key replaces it.
        properties['Events'] = {f'{res}SqsEventSource': {'Properties': {
            'Queue': {'Fn::Sub': f'${{{names.WEBHOOK_QUEUE}.Arn}}'},
            'ScalingConfig': {'MaximumConcurrency': max(2, function.spec.reserved)}}}}
    if function.trigger == 'stream':
        properties['Events'] = {f'{res}DynamodbEventSource': {'Properties': _stream_source()}}
    if function.spec.needs.fails_to_queue:
        properties['EventInvokeConfig'] = {'MaximumRetryAttempts': 2, 'DestinationConfig': {'OnFailure': {
            'Type': 'SQS', 'Destination': names.get_arn(names.failure_queue(res))}}}
    resources[res] = {'Properties': properties, 'DependsOn': [log_group]}
    if function.is_copy:
        resources[res]['Type'] = 'AWS::Serverless::Function'
        properties.update(_copy_properties(function, stage))
        resources.update(_role_and_permission(function, stage))
    return resources


def _stream_source():
    """The table's stream, filtered to new webhook delivery rows (nothing else wakes the function)."""
    pattern = {'eventName': ['INSERT'], 'dynamodb': {'Keys': {'sk': {'S': [{'prefix': 'DELIVERY#'}]}}}}
    return {'Stream': {'Fn::GetAtt': [names.TABLE, 'StreamArn']}, 'StartingPosition': 'LATEST',
            'FilterCriteria': {'Filters': [{'Pattern': json.dumps(pattern, separators=(',', ':'))}]},
            'MaximumRetryAttempts': 3, 'BisectBatchOnFunctionError': True}


def _copy_properties(function, stage):
    """A copy of Chalice's API function, sized for its group."""
    return {
        'Runtime': stage.runtime, 'Handler': 'app.app', 'CodeUri': './deployment.zip',
        'MemorySize': function.spec.memory, 'Timeout': function.spec.timeout,
        'ReservedConcurrentExecutions': function.spec.reserved,
        'Architectures': [stage.architecture], 'Tracing': stage.tracing, 'Tags': stage.tags,
        'Environment': {'Variables': {**stage.env, **wiring(function, stage)}},
        'Role': names.get_arn(f'{function.resource}Role'),
    }


def _role_and_permission(function, stage):
    res = function.resource
    return {
        f'{res}Role': {'Type': 'AWS::IAM::Role', 'Properties': {
            'AssumeRolePolicyDocument': LAMBDA_TRUST,
            'Policies': [{'PolicyName': f'{res}RolePolicy',
                          'PolicyDocument': policy.document(function, stage)}]}},
        f'{res}InvokePermission': {'Type': 'AWS::Lambda::Permission', 'Properties': {
            'FunctionName': {'Ref': res}, 'Action': 'lambda:InvokeFunction',
            'Principal': 'apigateway.amazonaws.com',
            'SourceArn': names.arn('execute-api', f'${{{names.REST_API}}}/*')}},
    }


def _outputs():
    return {'TableName': {'Value': {'Ref': names.TABLE}},
            'WebhookQueueUrl': {'Value': {'Ref': names.WEBHOOK_QUEUE}},
            'WebhookDeadLetterQueueUrl': {'Value': {'Ref': names.WEBHOOK_DLQ}}}
