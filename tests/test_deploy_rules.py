"""deploy/: the rules that place routes, and the per-stage configuration they read.

Routes are added by later work; these tests hold the rules to what the README
promises, for routes that exist today and routes that will.
"""
import dataclasses
import json

import pytest
from chalice import Chalice, Rate

from chalicelib import settings
from deploy import functions, plan, policy
from localdev import PROJECT_ROOT

CONFIG = json.loads((PROJECT_ROOT / '.chalice' / 'config.json').read_text())


def stage_env(stage_name):
    return {**CONFIG.get('environment_variables', {}),
            **CONFIG['stages'][stage_name].get('environment_variables', {})}


@pytest.mark.parametrize('method, path, function', [
    ('POST', '/orders', 'orders'),
    ('GET', '/orders/{order_id}', 'orders'),
    ('POST', '/orders/{order_id}/close', 'admin'),
    ('POST', '/orders/{order_id}/refunds', 'admin'),
    ('GET', '/events', 'admin'),
    ('POST', '/events/{event_id}/resend', 'admin'),
    ('POST', '/notify/codepay', 'notify_codepay'),
    ('POST', '/notify/alipay', 'notify_alipay'),
    ('POST', '/notify/wechatpay', 'notify_wechatpay'),
    ('POST', '/notify/wechatpay/v3', 'notify_wechatpay'),
    ('GET', '/notify/midas', 'notify_midas'),
    ('POST', '/cloudmarket', 'cloudmarket'),
    ('GET', '/cloudmarket/login/{provider}', 'cloudmarket'),
    ('GET', '/instances/{signId}', 'cloudmarket'),
    ('GET', '/midas/balance', 'midas'),
    ('POST', '/midas/presents', 'midas'),
])
def test_routes_are_placed_by_rule(method, path, function):
    assert functions.place_route(method, path).function == function


@pytest.mark.parametrize('method, path', [
    ('DELETE', '/orders/{order_id}'), ('GET', '/refunds'), ('PUT', '/events'), ('GET', '/midas'),
    ('POST', '/notify/{provider}'),
])
def test_a_route_no_rule_covers_stops_packaging(method, path):
    with pytest.raises(functions.PackagingError, match='ROUTE_RULES'):
        functions.place_route(method, path)


def _app(extra_route=None, extra_schedule=None):
    app = Chalice(app_name='paygate')
    for method, path in [('POST', '/orders'), ('GET', '/orders/{order_id}'),
                         ('POST', '/notify/codepay'), ('POST', '/notify/alipay'),
                         ('POST', '/notify/wechatpay'), ('POST', '/notify/wechatpay/v3'),
                         *([extra_route] if extra_route else [])]:
        app.route(path, methods=[method], name=f'{method}{path}')(lambda: None)
    app.on_sqs_message(queue='q', name='deliver_webhooks')(lambda event: None)
    app.schedule(Rate(5, Rate.MINUTES), name='compensate')(lambda event: None)
    if extra_schedule:
        app.schedule(Rate(1, Rate.HOURS), name=extra_schedule)(lambda event: None)
    return app


def test_an_unplaced_route_or_handler_fails_the_plan_loudly():
    assert {f.name for f in plan.build(_app())} == {
        'orders', 'notify_codepay', 'notify_alipay', 'notify_wechatpay', 'deliver_webhooks', 'compensate'}
    with pytest.raises(functions.PackagingError, match='GET /reports'):
        plan.build(_app(extra_route=('GET', '/reports')))
    with pytest.raises(functions.PackagingError, match='refresh_wechatpay_certificates'):
        plan.build(_app(extra_schedule='refresh_wechatpay_certificates'))


def test_notify_functions_read_only_their_own_providers_settings():
    env = {**stage_env('prod'),
           'PAYGATE_ALIPAY_APP_ID': '2021000000000000',
           'PAYGATE_ALIPAY_PRIVATE_KEY': 'ssm:/paygate/prod/alipay/private-key',
           'PAYGATE_WECHATPAY_API_V3_KEY': 'secretsmanager:paygate/prod/wechatpay-v3-key'}
    stage = plan.Stage('paygate', 'prod', env, 'python3.11', 'x86_64', 'PassThrough', {})
    by_name = {f.name: f for f in plan.build(_app())}
    reads = {name: _reads(policy.document(by_name[name], stage))
             for name in ('notify_codepay', 'notify_alipay', 'notify_wechatpay')}
    sub = 'arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s'
    webhooks = sub % ('ssm', 'parameter/paygate/prod/webhooks')
    assert reads == {
        'notify_codepay': {webhooks, sub % ('ssm', 'parameter/paygate/prod/codepay/key')},
        'notify_alipay': {webhooks, sub % ('ssm', 'parameter/paygate/prod/alipay/private-key')},
        'notify_wechatpay': {webhooks, sub % ('secretsmanager', 'secret:paygate/prod/wechatpay-v3-key-??????')},
    }


def _reads(document):
    return {r['Fn::Sub'] for s in document['Statement'] if s['Sid'] in ('Parameters', 'Secrets')
            for r in s['Resource']}


def _plain_settings(obj):
    """(name, value) of every setting Paygate uses as written (never resolves)."""
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if isinstance(value, dict):
            for nested in value.values():
                yield from _plain_settings(nested)
        elif dataclasses.is_dataclass(value):
            yield from _plain_settings(value)
        elif isinstance(value, str) and field.name != 'catalog_source':  # the catalog resolves its source
            yield field.name, value


@pytest.mark.parametrize('stage_name', ['dev', 'prod'])
def test_references_are_only_where_paygate_resolves_them(stage_name):
    loaded = settings.Settings.load(stage_env(stage_name))
    references = [(name, value) for name, value in _plain_settings(loaded)
                  if value.startswith(('ssm:', 'secretsmanager:'))]
    assert references == []


def test_the_quick_dev_policy_allows_everything_any_dev_function_is_granted(app_module):
    env = stage_env('dev')
    stage = plan.Stage('paygate', 'dev', env, 'python3.11', 'x86_64', 'PassThrough', {})
    granted = {action for function in plan.build(app_module.app)
               for statement in policy.document(function, stage)['Statement']
               for action in statement['Action']}
    quick = json.loads((PROJECT_ROOT / '.chalice' / 'policy-dev.json').read_text())
    allowed = {action for statement in quick['Statement'] for action in statement['Action']}
    assert granted <= allowed
    resources = json.dumps(quick)
    for name in (env['PAYGATE_TABLE'], env['PAYGATE_WEBHOOK_QUEUE'], 'parameter/paygate/dev/'):
        assert name in resources


@pytest.mark.parametrize('stage_name', ['dev', 'prod'])
def test_every_referenced_secret_is_readable_by_some_function(stage_name, app_module):
    """A reference no function may read (a provider's variable not named PAYGATE_<PROVIDER>_...)
    would be refused by IAM at run time."""
    env = stage_env(stage_name)
    readable = {name for function in plan.build(app_module.app)
                for name in policy.settings_read(function, env)}
    referenced = {name for name, value in env.items() if value.startswith(('ssm:', 'secretsmanager:'))}
    assert referenced <= readable
