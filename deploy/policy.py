"""The IAM policy of one function, built from its Needs (deploy/functions.py) alone.

Settings whose value is a reference (`ssm:/path`, `secretsmanager:name`) become
read permissions on exactly those parameters and secrets, for the functions that
read those settings. SecureString parameters and secrets encrypted with the
AWS-managed keys (aws/ssm, aws/secretsmanager) need no KMS grant of their own.
"""
from chalicelib import providers, settings, tables
from deploy import functions, names


def document(function, stage):
    """The policy document for `function` in `stage` (a plan.Stage)."""
    needs = function.spec.needs
    statements = [_statement('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'],
                             [names.arn('logs', f'log-group:{stage.log_group(function)}:*')])]
    if needs.items:
        statements.append(_statement('TableItems', needs.items, [names.get_arn(names.TABLE)]))
    if needs.queries:
        statements.append(_statement('TableQueries', ['dynamodb:Query'],
                                     [_query_target(target) for target in needs.queries]))
    queue = [names.get_arn(names.WEBHOOK_QUEUE)]
    if needs.sends:
        statements.append(_statement('WebhookQueueSend', ['sqs:SendMessage'], queue))
    if needs.consumes:
        statements.append(_statement('WebhookQueueReceive', [
            'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], queue))
    parameters, secrets = references(settings_read(function, stage.env), stage.env)
    if parameters:
        statements.append(_statement('Parameters', ['ssm:GetParameter'], parameters))
    if secrets:
        statements.append(_statement('Secrets', ['secretsmanager:GetSecretValue'], secrets))
    return {'Version': '2012-10-17', 'Statement': statements}


def settings_read(function, env):
    """The names of the settings `function` resolves: its own, and its providers'."""
    needs = function.spec.needs
    if isinstance(needs.providers, tuple):
        served = [name for name in settings.Settings.load(env).providers
                  if any(hasattr(providers.load(name), op) for op in needs.providers)]
    elif needs.providers == functions.OWN:
        served = [function.provider]
    else:
        served = [needs.providers] if needs.providers else []
    prefixes = tuple(f'PAYGATE_{name.upper()}_' for name in served)
    return sorted(set(needs.settings) | {variable for variable in env if variable.startswith(prefixes)})


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


def _query_target(target):
    if target == functions.TABLE:
        return names.get_arn(names.TABLE)
    if target not in tables.INDEXES:
        raise ValueError(f'deploy/functions.py names an index the table does not have: {target}')
    return {'Fn::Sub': f'${{{names.TABLE}.Arn}}/index/{target}'}


def _statement(sid, actions, resources):
    return {'Sid': sid, 'Effect': 'Allow', 'Action': list(actions), 'Resource': resources}
