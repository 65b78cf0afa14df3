"""The IAM policy of one function, built from its Needs (deploy/functions.py) alone.

Settings whose value is a reference (`ssm:/path`, `secretsmanager:name`) become
read permissions on exactly those parameters and secrets, for the functions that
read those settings. SecureString parameters and secrets encrypted with the
AWS-managed keys (aws/ssm, aws/secretsmanager) need no KMS grant of their own.
"""
from chalicelib import providers, settings, tables
from chalicelib.providers import contract
from deploy import functions, names

STREAM_ACTIONS = ('dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator',
                  'dynamodb:ListStreams')


def document(function, stage):
    """The policy document for `function` in `stage` (a plan.Stage)."""
    needs = function.spec.needs
    statements = [_statement('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'],
                             [names.arn('logs', f'log-group:{stage.log_group(function)}:*')])]
    if needs.items:
        statements.append(_statement('TableItems', functions.item_actions(function), [names.get_arn(names.TABLE)]))
    if needs.queries:
        statements.append(_statement('TableQueries', ['dynamodb:Query'],
                                     [_query_target(target) for target in needs.queries]))
    queue = [names.get_arn(names.WEBHOOK_QUEUE)]
    if needs.sends:
        statements.append(_statement('WebhookQueueSend', ['sqs:SendMessage'], queue))
    if needs.consumes:
        statements.append(_statement('WebhookQueueReceive', [
            'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], queue))
    if needs.stream:
        statements.append(_statement('TableStream', STREAM_ACTIONS, [_stream_arn()]))
    if needs.fails_to_queue:
        statements.append(_statement('FailureQueueSend', ['sqs:SendMessage'],
                                     [names.get_arn(names.failure_queue(function.resource))]))
    parameters, secrets = references(settings_read(function, stage.env), stage.env)
    if parameters:
        # The function's PAYGATE_PREFETCH names them all: one GetParameters call reads them.
        statements.append(_statement('Parameters', ['ssm:GetParameters'], parameters))
    if secrets:
        statements.append(_statement('Secrets', ['secretsmanager:GetSecretValue'], secrets))
    return {'Version': '2012-10-17', 'Statement': statements}


def settings_read(function, env):
    """The names of the settings `function` resolves: its own, and what it reads of its providers'."""
    names = set(function.spec.needs.settings)
    for provider, uses in _served(function, env).items():
        names |= _provider_settings(provider, uses, env)
    return sorted(names)


def _served(function, env):
    """{provider: the uses `function` makes of it}, for the providers enabled in `env` it serves.

    A use is an operation (create, query, close, refund, refresh_keys), 'notify' for a
    /notify/<provider> function, or the function's own name for a function
    that serves one provider by name.
    """
    needs = function.spec.needs
    loaded = settings.Settings.load(env)
    if isinstance(needs.providers, tuple):
        uses = {name: tuple(op for op in needs.providers if _can(name, op)) for name in loaded.providers}
        return {name: found for name, found in uses.items() if found}
    enabled = set(loaded.providers) | ({functions.CLOUDMARKET} if loaded.cloudmarket else set())
    if needs.providers == functions.OWN:
        uses = {function.provider: (functions.NOTIFY,)}
    else:
        uses = {needs.providers: (function.name,)} if needs.providers else {}
    return {name: found for name, found in uses.items() if name in enabled}


OPERATIONS = {operation: capability for capability, operation in contract.CAPABILITY_NAMES.items()}


def _can(provider, operation):
    """Whether `provider` does `operation`: every provider creates; the rest are capabilities."""
    return operation == 'create' or providers.capable(provider, OPERATIONS[operation]) is not None


def _provider_settings(provider, uses, env):
    """The variables of `provider` set in `env` that these uses read (functions.PROVIDER_READS)."""
    everything = {name for name in env if name.startswith(f'PAYGATE_{provider.upper()}_')}
    listed = functions.PROVIDER_READS.get(provider, {})
    return set().union(*(everything & set(listed[use]) if use in listed else everything for use in uses))


def references(setting_names, env):
    """ARNs of the SSM parameters and of the secrets that these settings refer to."""
    parameters, secrets = [], []
    for name in setting_names:
        kind, _, ref = env.get(name, '').partition(':')
        if kind == 'ssm':
            parameters.append(names.arn('ssm', 'parameter/' + ref.lstrip('/')))
        elif kind == 'secretsmanager':
            # Secret ARNs end in a random six-character suffix.
            secrets.append(ref if ref.startswith('arn:')
                           else names.arn('secretsmanager', f'secret:{ref}-??????'))
    return parameters, secrets


def _stream_arn():
    return {'Fn::GetAtt': [names.TABLE, 'StreamArn']}


def _query_target(target):
    if target == functions.TABLE:
        return names.get_arn(names.TABLE)
    if target not in tables.INDEXES:
        raise ValueError(f'deploy/functions.py names an index the table does not have: {target}')
    return {'Fn::Sub': f'${{{names.TABLE}.Arn}}/index/{target}'}


def _statement(sid, actions, resources):
    return {'Sid': sid, 'Effect': 'Allow', 'Action': list(actions), 'Resource': resources}
