"""`make package`: the packaged template, read as CloudFormation would read it.

Each stage is packaged once per session, offline (region from the environment,
dummy credentials), from a copy of the project without requirements.txt, its
config's example values filled in as a merchant would: the
template does not depend on the run-time dependencies, and fetching them would
need the package index. The expectations below are written out here, apart
from deploy/, so the two can disagree.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from deploy import filled_copy
from localdev import PROJECT_ROOT

STAGES = ('dev', 'prod')
API_TIMEOUT_LIMIT = 29            # API Gateway's integration timeout

ITEMS = {'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'}
DELETE = {'dynamodb:DeleteItem'}
BATCH = {'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'}
KEYS = {'PAYGATE_PUBLISHABLE_KEYS', 'PAYGATE_SECRET_KEYS'}
WEBHOOKS = {'PAYGATE_WEBHOOKS'}
CATALOG = {'PAYGATE_CATALOG'}
PROVIDERS = ('codepay', 'alipay', 'midas', 'wechatpay', 'cloudmarket')


def of(provider, *names):
    """Settings of a provider: of('midas', 'APPKEY') = {'PAYGATE_MIDAS_APPKEY'}."""
    return {f'PAYGATE_{provider.upper()}_{name}' for name in names}


CODEPAY = of('codepay', 'KEY')
MIDAS = of('midas', 'APPKEY')
ALIPAY_SIGNS = of('alipay', 'APP_ID', 'APP_PRIVATE_KEY', 'APP_CERT', 'ROOT_CERT')    # requests, order strings
ALIPAY_VERIFIES = of('alipay', 'PUBLIC_KEY', 'PUBLIC_CERT')                          # Alipay's signatures
WECHATPAY_API = of('wechatpay', 'KEY', 'PRIVATE_KEY', 'PUBLIC_KEY')       # v2 signing; v3 signing and replies


def need(items=(), queries=(), send=False, receive=False, settings=(), stream=False, fails_to_queue=False):
    return {'items': set(items), 'queries': set(queries), 'send': send, 'receive': receive,
            'settings': set(settings), 'stream': stream, 'fails_to_queue': fails_to_queue}


# What each function needs, by function name; `settings` are every setting it may read,
# its providers' included (granted where the stage makes them references and enables the provider).
EXPECTED = {
    'orders': need(ITEMS | DELETE, settings=KEYS | CATALOG | CODEPAY | ALIPAY_SIGNS | ALIPAY_VERIFIES | MIDAS
                   | WECHATPAY_API | of('wechatpay', 'APP_SECRET')),
    'admin': need(ITEMS, {'table', 'index/events_by_time', 'index/events_by_subject'}, send=True,
                  settings=KEYS | WEBHOOKS | ALIPAY_SIGNS | ALIPAY_VERIFIES | MIDAS | WECHATPAY_API
                  | of('wechatpay', 'CLIENT_CERT', 'CLIENT_KEY')),
    'notify_codepay': need(ITEMS - {'dynamodb:GetItem'}, settings=WEBHOOKS | CODEPAY),
    'notify_alipay': need(ITEMS, settings=WEBHOOKS | of('alipay', 'APP_ID', 'SELLER_ID') | ALIPAY_VERIFIES),
    'notify_midas': need(ITEMS, settings=WEBHOOKS | MIDAS),
    'notify_wechatpay': need(ITEMS, settings=WEBHOOKS | of('wechatpay', 'KEY', 'APIV3_KEY', 'PUBLIC_KEY')),
    'cloudmarket': need(ITEMS, settings=KEYS | WEBHOOKS | of('cloudmarket', 'TOKEN', 'LOGIN_SECRET')),
    'midas': need(ITEMS | DELETE, settings=KEYS | CATALOG | WEBHOOKS | MIDAS),
    'midas_settle': need(settings=MIDAS, fails_to_queue=True),
    'refresh_certificates': need({'dynamodb:GetItem', 'dynamodb:PutItem'},
                                 settings=of('wechatpay', 'PRIVATE_KEY', 'APIV3_KEY', 'PUBLIC_KEY')),
    'deliver_new_events': need(ITEMS, send=True, settings=WEBHOOKS, stream=True),
    'deliver_webhooks': need(ITEMS, send=True, receive=True, settings=WEBHOOKS),
    'sweep_webhooks': need(queries={'index/work'}, send=True),
    'compensate': need(ITEMS, {'index/work'}, settings=WEBHOOKS | ALIPAY_SIGNS | ALIPAY_VERIFIES | WECHATPAY_API),
    'reconcile': need(ITEMS | DELETE | BATCH, {'table', 'index/events_by_time'},
                      settings=KEYS | WEBHOOKS | ALIPAY_SIGNS | ALIPAY_VERIFIES | WECHATPAY_API),
    'reconcile_yesterday': need(ITEMS | DELETE | BATCH, {'table', 'index/events_by_time'}, fails_to_queue=True,
                                settings=WEBHOOKS | ALIPAY_SIGNS | ALIPAY_VERIFIES | WECHATPAY_API),
}

# Every route the app has today: (method, path) -> the function's logical id. Routes added
# later are held to the rules by expected_route_function.
TODAY = {
    ('GET', '/'): 'APIHandler',
    ('POST', '/orders'): 'APIHandler',
    ('GET', '/orders/{order_id}'): 'APIHandler',
    ('POST', '/orders/{order_id}/close'): 'Admin',
    ('POST', '/orders/{order_id}/refunds'): 'Admin',
    ('GET', '/events'): 'Admin',
    ('GET', '/events/{event_id}'): 'Admin',
    ('POST', '/events/{event_id}/resend'): 'Admin',
    ('POST', '/notify/codepay'): 'NotifyCodepay',
    ('POST', '/notify/alipay'): 'NotifyAlipay',
    ('GET', '/notify/midas'): 'NotifyMidas',
    ('POST', '/notify/wechatpay'): 'NotifyWechatpay',
    ('POST', '/notify/wechatpay/v3'): 'NotifyWechatpay',
    ('POST', '/cloudmarket'): 'Cloudmarket',
    ('GET', '/cloudmarket/login/{token}'): 'Cloudmarket',
    ('GET', '/instances/{sign_id}'): 'Cloudmarket',
    ('GET', '/midas/balance'): 'Midas',
    ('POST', '/midas/payments'): 'Midas',
    ('POST', '/midas/presents'): 'Midas',
}


def enabled(variable, env):
    """False for a setting of a provider the stage does not enable (no function reads it)."""
    provider = variable.split('_')[1].lower()
    if provider == 'cloudmarket':
        return env.get('PAYGATE_CLOUDMARKET_ENABLED', '').strip().lower() in ('true', '1', 'yes', 'on')
    return provider not in PROVIDERS or provider in {
        p.strip() for p in env.get('PAYGATE_PROVIDERS', 'codepay').split(',')}


def offline_env(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PAYGATE_', 'AWS_'))}
    env.update({'AWS_DEFAULT_REGION': 'us-east-1', 'AWS_ACCESS_KEY_ID': 'testing',
                'AWS_SECRET_ACCESS_KEY': 'testing', 'AWS_EC2_METADATA_DISABLED': 'true',
                'AWS_CONFIG_FILE': str(tmp / 'no-aws-config'),
                'AWS_SHARED_CREDENTIALS_FILE': str(tmp / 'no-aws-credentials')})
    return env


@pytest.fixture(scope='session')
def project_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp('deploy')
    filled_copy.make(root / 'project')
    return root


@pytest.fixture(scope='session')
def packaged(project_copy):
    """{stage: {'sam', 'merge', 'resources', 'config', 'policies', 'out'}}, both packaged at once,
    each from its own copy (Chalice caches the built package in the project)."""
    for stage in STAGES:
        filled_copy.make(project_copy / f'source-{stage}')
    runs = {stage: subprocess.Popen(
        [sys.executable, '-m', 'deploy.package', '--stage', stage,
         '--project-dir', str(project_copy / f'source-{stage}'), '--out', str(project_copy / stage)],
        cwd=PROJECT_ROOT, env=offline_env(project_copy), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for stage in STAGES}
    results = {}
    for stage, run in runs.items():
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output
        out = project_copy / stage
        chalice_dir = out / 'project' / '.chalice'
        results[stage] = {
            'out': out, 'output': output,
            'sam': json.loads((out / 'sam.json').read_text()),
            'merge': json.loads((out / 'merge.json').read_text()),
            'resources': json.loads((out / 'resources.json').read_text()),
            'config': json.loads((chalice_dir / 'config.json').read_text()),
            'policies': {p.name: json.loads(p.read_text()) for p in chalice_dir.glob('policy-*.json')},
        }
    return results


@pytest.fixture(params=STAGES)
def stage(request, packaged):
    return request.param, packaged[request.param]


def stage_env(stage_name):
    config = json.loads((PROJECT_ROOT / '.chalice' / 'config.json').read_text())
    return {**config.get('environment_variables', {}),
            **config['stages'][stage_name].get('environment_variables', {})}


def functions_of(sam):
    return {name: r for name, r in sam['Resources'].items() if r['Type'] == 'AWS::Serverless::Function'}


def short_name(function, stage_name):
    """paygate-prod-notify_codepay -> notify_codepay"""
    name = function['Properties']['FunctionName']
    prefix = f'paygate-{stage_name}-'
    assert name.startswith(prefix), name
    return name[len(prefix):]


def expected_route_function(method, path):
    """The routing rules, restated: the function's short name for a route."""
    if m := re.fullmatch(r'/notify/([a-z0-9]+)(/.*)?', path):
        return f'notify_{m.group(1)}'
    if re.fullmatch(r'/events(/.*)?', path) or re.fullmatch(r'/orders/\{\w+\}/(close|refunds)', path):
        return 'admin'
    if (method, path) in {('GET', '/'), ('POST', '/orders'), ('GET', '/orders/{order_id}')}:
        return 'orders'
    if re.fullmatch(r'/(cloudmarket|instances)(/.*)?', path):
        return 'cloudmarket'
    if path.startswith('/midas/'):
        return 'midas'
    if re.fullmatch(r'/reconciliations(/.*)?', path):
        return 'reconcile'
    raise AssertionError(f'no expectation for {method} {path}')


def integration_target(operation):
    uri = operation['x-amazon-apigateway-integration']['uri']['Fn::Sub']
    found = re.fullmatch(r'arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:path/'
                         r'2015-03-31/functions/\$\{(\w+)\.Arn\}/invocations', uri)
    assert found, uri
    return found.group(1)


def resource_token(resource):
    """A policy Resource in a comparable form: table, index/<name>, webhook-queue, ssm:..., logs:..."""
    if resource == {'Fn::GetAtt': ['Table', 'Arn']}:
        return 'table'
    if resource == {'Fn::GetAtt': ['WebhookQueue', 'Arn']}:
        return 'webhook-queue'
    if resource == {'Fn::GetAtt': ['Table', 'StreamArn']}:
        return 'table-stream'
    if 'Fn::GetAtt' in resource and resource['Fn::GetAtt'][0].endswith('FailureQueue'):
        return 'failure-queue'
    sub = resource['Fn::Sub']
    if found := re.fullmatch(r'\$\{Table\.Arn\}/index/(\w+)', sub):
        return f'index/{found.group(1)}'
    found = re.fullmatch(r'arn:\$\{AWS::Partition\}:(ssm|logs|secretsmanager):\$\{AWS::Region\}:'
                         r'\$\{AWS::AccountId\}:(.+)', sub)
    assert found, f'unexpected policy resource {resource}'
    return f'{found.group(1)}:{found.group(2)}'


def granted(sam, function):
    """(action, resource token) pairs of the function's role; every statement a plain Allow."""
    role = sam['Resources'][function['Properties']['Role']['Fn::GetAtt'][0]]
    (policy,) = role['Properties']['Policies']
    pairs = set()
    for statement in policy['PolicyDocument']['Statement']:
        assert set(statement) <= {'Sid', 'Effect', 'Action', 'Resource'}, statement
        assert statement['Effect'] == 'Allow'
        for action in statement['Action']:
            assert '*' not in action
            pairs |= {(action, resource_token(r)) for r in statement['Resource']}
    return pairs


def expected_grants(name, stage_name, env):
    spec = EXPECTED[name]
    log_group = f'logs:log-group:/aws/lambda/paygate-{stage_name}-{name}:*'
    pairs = {('logs:CreateLogStream', log_group), ('logs:PutLogEvents', log_group)}
    pairs |= {(action, 'table') for action in spec['items']}
    pairs |= {('dynamodb:Query', target) for target in spec['queries']}
    if spec['send']:
        pairs.add(('sqs:SendMessage', 'webhook-queue'))
    if spec['receive']:
        pairs |= {(a, 'webhook-queue') for a in ('sqs:ReceiveMessage', 'sqs:DeleteMessage',
                                                   'sqs:GetQueueAttributes')}
    if spec['stream']:
        pairs |= {(a, 'table-stream') for a in ('dynamodb:DescribeStream', 'dynamodb:GetRecords',
                                                 'dynamodb:GetShardIterator', 'dynamodb:ListStreams')}
    if spec['fails_to_queue']:
        pairs.add(('sqs:SendMessage', 'failure-queue'))
    for var in spec['settings']:
        kind, _, ref = env.get(var, '').partition(':')
        if kind == 'ssm' and enabled(var, env):
            pairs.add(('ssm:GetParameters', 'ssm:parameter/' + ref.lstrip('/')))
        elif kind == 'secretsmanager' and enabled(var, env):
            pairs.add(('secretsmanager:GetSecretValue', f'secretsmanager:secret:{ref}-??????'))
    return pairs


def test_both_templates_pass_cfn_lint(stage):
    from cfnlint.api import lint
    _, built = stage
    for name in ('sam.json', 'resources.json'):
        assert [str(m) for m in lint((built['out'] / name).read_text(), regions=['us-east-1'])] == []


def test_every_route_is_served_by_its_group_function(stage, app_module):
    stage_name, built = stage
    functions = functions_of(built['sam'])
    paths = built['sam']['Resources']['RestAPI']['Properties']['DefinitionBody']['paths']
    app_routes = {(m, p) for p, methods in app_module.app.routes.items() for m in methods}
    served = {(method.upper(), path): integration_target(operation)
              for path, operations in paths.items() for method, operation in operations.items()}
    assert set(served) == app_routes
    for (method, path), target in served.items():
        function = functions[target]
        assert function['Properties']['Handler'] == 'app.app'
        assert short_name(function, stage_name) == expected_route_function(method, path)
    assert {route: served[route] for route in TODAY} == TODAY


def test_each_function_has_its_own_role_granting_exactly_what_it_needs(stage):
    stage_name, built = stage
    env = stage_env(stage_name)
    roles = [f['Properties']['Role']['Fn::GetAtt'][0] for f in functions_of(built['sam']).values()]
    assert len(roles) == len(set(roles))
    for function in functions_of(built['sam']).values():
        name = short_name(function, stage_name)
        assert granted(built['sam'], function) == expected_grants(name, stage_name, env), name


@pytest.mark.parametrize('function, parameters', [
    ('NotifyCodepay', {'codepay/key'}),
    ('NotifyAlipay', {'alipay/alipay-public-key'}),
    ('NotifyMidas', {'midas/appkey'}),
    ('NotifyWechatpay', {'wechatpay/api-v2-key', 'wechatpay/api-v3-key', 'wechatpay/wechatpay-public-key'}),
])
def test_a_notify_function_reads_the_webhooks_and_what_verifies_its_providers_notifications(
        packaged, function, parameters):
    """Never another provider's secrets, nor its own provider's signing keys, app secret or
    client certificate."""
    sam = packaged['prod']['sam']
    reads = {token for action, token in granted(sam, functions_of(sam)[function])
             if action == 'ssm:GetParameters'}
    assert reads == {f'ssm:parameter/paygate/prod/{name}' for name in parameters | {'webhooks'}}


def test_functions_are_sized_and_wired_to_the_table_and_queue(stage):
    _, built = stage
    for name, function in functions_of(built['sam']).items():
        properties = function['Properties']
        assert properties['MemorySize'] >= 128 and properties['ReservedConcurrentExecutions'] >= 1
        if properties['Handler'] == 'app.app':
            assert properties['Timeout'] <= API_TIMEOUT_LIMIT, name
        variables = properties['Environment']['Variables']
        assert variables['PAYGATE_TABLE'] == {'Ref': 'Table'}
        assert variables['PAYGATE_WEBHOOK_QUEUE_URL'] == {'Ref': 'WebhookQueue'}
        assert properties['CodeUri'] == './deployment.zip'
        log_group = built['sam']['Resources'][function['DependsOn'][0]]
        assert log_group['Properties']['LogGroupName'] == f'/aws/lambda/{properties["FunctionName"]}'
        assert log_group['Properties']['RetentionInDays'] > 0


def test_each_api_copy_may_be_invoked_by_the_api(stage):
    _, built = stage
    resources = built['sam']['Resources']
    invocable = {r['Properties']['FunctionName']['Ref'] for r in resources.values()
                 if r['Type'] == 'AWS::Lambda::Permission'
                 and r['Properties']['Principal'] == 'apigateway.amazonaws.com'}
    api_functions = {n for n, f in functions_of(built['sam']).items() if f['Properties']['Handler'] == 'app.app'}
    assert invocable == api_functions


def test_the_table_is_kept_recoverable_and_matches_the_code(stage):
    _, built = stage
    for template in (built['sam'], built['resources']):
        table = template['Resources']['Table']
        assert table['DeletionPolicy'] == 'Retain' and table['UpdateReplacePolicy'] == 'Retain'
        props = table['Properties']
        assert props['TableName'] == f'paygate-{stage[0]}'
        assert props['BillingMode'] == 'PAY_PER_REQUEST'
        assert props['PointInTimeRecoverySpecification'] == {'PointInTimeRecoveryEnabled': True}
        assert props['TimeToLiveSpecification'] == {'AttributeName': 'ttl', 'Enabled': True}
        assert props['StreamSpecification'] == {'StreamViewType': 'KEYS_ONLY'}
        assert props['KeySchema'] == [{'AttributeName': 'pk', 'KeyType': 'HASH'},
                                      {'AttributeName': 'sk', 'KeyType': 'RANGE'}]
        indexes = {i['IndexName']: tuple(k['AttributeName'] for k in i['KeySchema'])
                   for i in props['GlobalSecondaryIndexes']}
        assert indexes == {'events_by_time': ('gsi1pk', 'gsi1sk'),
                           'events_by_subject': ('gsi2pk', 'gsi2sk'), 'work': ('work_pk', 'work_at')}
        assert {d['AttributeName'] for d in props['AttributeDefinitions']} == {
            'pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'work_pk', 'work_at'}


def test_every_queue_has_a_dead_letter_queue(stage):
    """The webhook queue redrives to its dead-letter queue; the dead-letter and failure queues are
    where things end, each alarmed when it holds anything."""
    _, built = stage
    for template in (built['sam'], built['resources']):
        queues = {n: r for n, r in template['Resources'].items() if r['Type'] == 'AWS::SQS::Queue'}
        dead_letter = {q['Properties']['RedrivePolicy']['deadLetterTargetArn']['Fn::GetAtt'][0]
                       for q in queues.values() if 'RedrivePolicy' in q['Properties']}
        assert dead_letter and dead_letter <= set(queues)
        failure = {name for name in queues if name.endswith('FailureQueue')}
        assert failure == {'MidasSettleFailureQueue', 'ReconcileYesterdayFailureQueue'}
        for name, queue in queues.items():
            if name not in dead_letter | failure:
                assert queue['Properties']['RedrivePolicy']['maxReceiveCount'] >= 1, name
        for queue in failure:
            alarm = template['Resources'][f'{queue}Alarm']['Properties']
            assert alarm['Dimensions'] == [{'Name': 'QueueName', 'Value': {'Fn::GetAtt': [queue, 'QueueName']}}]
            assert (alarm['MetricName'], alarm['Threshold'], alarm['ComparisonOperator']) == (
                'ApproximateNumberOfMessagesVisible', 0, 'GreaterThanThreshold')


def test_midas_settle_fails_to_its_queue_after_lambdas_retries(stage):
    """midas_settle is invoked with InvocationType Event: a failed invocation is not lost."""
    _, built = stage
    settle = built['sam']['Resources']['MidasSettle']['Properties']
    assert settle['EventInvokeConfig'] == {'MaximumRetryAttempts': 2, 'DestinationConfig': {'OnFailure': {
        'Type': 'SQS', 'Destination': {'Fn::GetAtt': ['MidasSettleFailureQueue', 'Arn']}}}}


def test_first_webhook_attempts_come_from_the_stream_filtered_to_new_deliveries(stage):
    _, built = stage
    trigger = built['sam']['Resources']['DeliverNewEvents']['Properties']
    (event,) = trigger['Events'].values()
    assert event['Type'] == 'DynamoDB'
    assert event['Properties']['Stream'] == {'Fn::GetAtt': ['Table', 'StreamArn']}
    (pattern,) = event['Properties']['FilterCriteria']['Filters']
    assert json.loads(pattern['Pattern']) == {
        'eventName': ['INSERT'], 'dynamodb': {'Keys': {'sk': {'S': [{'prefix': 'DELIVERY#'}]}}}}


def test_the_webhook_worker_is_triggered_by_the_queue_within_its_visibility_timeout(stage):
    _, built = stage
    resources = built['sam']['Resources']
    worker = resources['DeliverWebhooks']['Properties']
    (event,) = worker['Events'].values()
    assert event['Type'] == 'SQS'
    assert event['Properties']['Queue'] == {'Fn::Sub': '${WebhookQueue.Arn}'}
    queue = resources['WebhookQueue']['Properties']
    assert queue['QueueName'] == f'paygate-{stage[0]}-webhooks'
    assert queue['VisibilityTimeout'] >= worker['Timeout']


def test_the_schedules_exist(stage):
    _, built = stage
    resources = built['sam']['Resources']
    schedules = {name: event['Properties']['Schedule']
                 for name in ('SweepWebhooks', 'Compensate', 'RefreshCertificates')
                 for event in resources[name]['Properties']['Events'].values()
                 if event['Type'] == 'Schedule'}
    assert schedules == {'SweepWebhooks': 'rate(1 minute)', 'Compensate': 'rate(5 minutes)',
                         'RefreshCertificates': 'rate(12 hours)'}


def test_midas_settle_is_invoked_directly_and_has_time_for_its_poll(stage):
    """It polls get_balance_m for up to two minutes; nothing triggers it but a direct invoke."""
    _, built = stage
    settle = built['sam']['Resources']['MidasSettle']
    assert settle['Properties']['Handler'] == 'app.midas_settle'
    assert 'Events' not in settle['Properties']
    assert settle['Properties']['Timeout'] > 120
    assert not [r for r in built['sam']['Resources'].values() if r['Type'] == 'AWS::Lambda::Permission'
                and r['Properties']['FunctionName'] == {'Ref': 'MidasSettle'}]


def test_chalice_made_functions_use_their_generated_policy_files(stage):
    stage_name, built = stage
    config = built['config']['stages'][stage_name]
    assert config['autogen_policy'] is False
    resources = built['sam']['Resources']
    per_function = config['lambda_functions']
    assert set(per_function) == {'api_handler', 'deliver_new_events', 'deliver_webhooks', 'sweep_webhooks',
                                 'compensate', 'refresh_certificates', 'midas_settle', 'reconcile_yesterday'}
    for chalice_name, settings in per_function.items():
        resource = 'APIHandler' if chalice_name == 'api_handler' else \
            ''.join(w.capitalize() for w in chalice_name.split('_'))
        role = resources[resources[resource]['Properties']['Role']['Fn::GetAtt'][0]]
        assert role['Properties']['Policies'][0]['PolicyDocument'] == \
            built['policies'][settings['iam_policy_file']]


def test_the_merge_template_is_written_beside_the_package(stage):
    _, built = stage
    assert set(built['merge']['Resources']) <= set(built['sam']['Resources'])
    assert 'cfn-lint clean' in built['output']


def test_the_quick_dev_path_is_one_api_function_under_the_dev_policy(project_copy):
    """`chalice deploy --stage dev` builds from the committed config as it is: check it by packaging it."""
    out = project_copy / 'quick-dev'
    run = subprocess.run([sys.executable, '-c', 'import sys; from chalice.cli import main; sys.exit(main())',
                          '--project-dir', str(project_copy / 'project'), 'package', '--stage', 'dev', str(out)],
                         env=offline_env(project_copy), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    sam = json.loads((out / 'sam.json').read_text())
    api = [f for f in functions_of(sam).values() if f['Properties']['Handler'] == 'app.app']
    assert len(api) == 1
    quick = json.loads((PROJECT_ROOT / '.chalice' / 'policy-dev.json').read_text())
    for function in functions_of(sam).values():
        role = sam['Resources'][function['Properties']['Role']['Fn::GetAtt'][0]]
        assert role['Properties']['Policies'][0]['PolicyDocument'] == quick


def test_packaging_refuses_a_stage_that_still_holds_the_configs_examples_naming_each(tmp_path):
    project = tmp_path / 'project'
    filled_copy.make(project, filled=False)
    run = subprocess.run([sys.executable, '-m', 'deploy.package', '--stage', 'dev',
                          '--project-dir', str(project)], cwd=PROJECT_ROOT, env=offline_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and 'Traceback' not in run.stderr
    first, *listed = run.stderr.splitlines()
    assert first == ('package: stage dev still holds example values; set (or remove) them in '
                     '.chalice/config.json, stages.dev.environment_variables:')
    assert dict(line.strip().split(' = ') for line in listed) == {
        'PAYGATE_PUBLIC_URL': "'https://pay-dev.example.com'",
        'PAYGATE_CODEPAY_ID': "'CHANGE-ME-codepay-merchant-id'",
        'PAYGATE_CLOUDMARKET_WEBSITE': "'https://saas-dev.example.com/'",
        'PAYGATE_ALIPAY_APP_ID': "'CHANGE-ME-alipay-app-id'",
        'PAYGATE_ALIPAY_SELLER_ID': "'CHANGE-ME-alipay-seller-pid'",
        'PAYGATE_MIDAS_APPID': "'CHANGE-ME-midas-offerid'",
        'PAYGATE_WECHATPAY_MCH_ID': "'CHANGE-ME-wechatpay-mch-id'",
        'PAYGATE_WECHATPAY_APPID': "'wx0000000000000000'",
        'PAYGATE_WECHATPAY_CERT_SERIAL': "'0000000000000000000000000000000000000000'",
        'PAYGATE_WECHATPAY_PUBLIC_KEY_ID': "'PUB_KEY_ID_0000000000000000000000000000000000000'"}
    assert not (project / 'build').exists()


def test_packaging_stops_at_a_route_no_rule_covers(tmp_path):
    project = tmp_path / 'project'
    filled_copy.make(project)
    with open(project / 'app.py', 'a') as app_py:
        app_py.write("\n\n@app.route('/reports', methods=['GET'])\ndef reports():\n    return {}\n")
    run = subprocess.run([sys.executable, '-m', 'deploy.package', '--stage', 'prod',
                          '--project-dir', str(project)], cwd=PROJECT_ROOT, env=offline_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert 'no rule in deploy/functions.py ROUTE_RULES places GET /reports' in run.stderr
    assert not (project / 'build' / 'prod' / 'sam.json').exists()


def test_the_summary_gives_the_zips_size_and_its_ten_largest_entries(stage):
    import zipfile
    _, built = stage
    path = built['out'] / 'deployment.zip'
    with zipfile.ZipFile(path) as archive:
        entries = sorted(archive.infolist(), key=lambda entry: entry.compress_size, reverse=True)
    lines = built['output'].splitlines()
    [start] = [n for n, line in enumerate(lines) if line.startswith(f'{path}: ')]
    assert f'{path.stat().st_size / 1e6:.2f} MB (limit 5 MB)' in lines[start]
    assert [line.split()[-1] for line in lines[start + 1:start + 11]] == [e.filename for e in entries[:10]]


def test_the_zip_carries_bytecode_beside_every_module(stage):
    import zipfile
    from importlib.util import cache_from_source
    _, built = stage
    with zipfile.ZipFile(built['out'] / 'deployment.zip') as archive:
        listed = set(archive.namelist())
    sources = {name for name in listed if name.endswith('.py')}
    assert {'app.py', 'chalicelib/settings.py'} <= sources
    assert {name for name in sources if cache_from_source(name) not in listed} == set()
