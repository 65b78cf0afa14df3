"""deploy/: the rules that place routes, and the per-stage configuration they read.

Routes are added by later work; these tests hold the rules to what docs/deployment.md
promises, for routes that exist today and routes that will.
"""
import dataclasses
import json

import pytest
from chalice import Chalice, Rate

from chalicelib import settings
from deploy import functions, package, plan, policy
from localdev import PROJECT_ROOT
from tests.helpers import settings_fields
from tests.test_deploy_template import enabled

CONFIG = json.loads((PROJECT_ROOT / '.chalice' / 'config.json').read_text())


def stage_env(stage_name):
    return {**CONFIG.get('environment_variables', {}),
            **CONFIG['stages'][stage_name].get('environment_variables', {})}


@pytest.mark.parametrize('method, path, function', [
    ('GET', '/', 'orders'),
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


def _app(extra_route=None, extra_schedule=None, extra_function=None):
    app = Chalice(app_name='paygate')
    for method, path in [('POST', '/orders'), ('GET', '/orders/{order_id}'),
                         ('POST', '/notify/codepay'), ('POST', '/notify/alipay'), ('GET', '/notify/midas'),
                         ('POST', '/notify/wechatpay'), ('POST', '/notify/wechatpay/v3'),
                         *([extra_route] if extra_route else [])]:
        app.route(path, methods=[method], name=f'{method}{path}')(lambda: None)
    app.on_sqs_message(queue='q', name='deliver_webhooks')(lambda event: None)
    app.schedule(Rate(5, Rate.MINUTES), name='compensate')(lambda event: None)
    app.lambda_function(name='midas_settle')(lambda event, context: None)
    if extra_schedule:
        app.schedule(Rate(1, Rate.HOURS), name=extra_schedule)(lambda event: None)
    if extra_function:
        app.lambda_function(name=extra_function)(lambda event, context: None)
    return app


def test_an_unplaced_route_or_handler_fails_the_plan_loudly():
    functions_by_name = {f.name: f for f in plan.build(_app())}
    assert set(functions_by_name) == {
        'orders', 'notify_codepay', 'notify_alipay', 'notify_midas', 'notify_wechatpay', 'deliver_webhooks',
        'compensate', 'midas_settle'}
    assert functions_by_name['midas_settle'].trigger == 'invoke'
    with pytest.raises(functions.PackagingError, match='GET /reports'):
        plan.build(_app(extra_route=('GET', '/reports')))
    with pytest.raises(functions.PackagingError, match='rotate_reports'):
        plan.build(_app(extra_schedule='rotate_reports'))
    with pytest.raises(functions.PackagingError, match='export_orders'):
        plan.build(_app(extra_function='export_orders'))


def test_notify_functions_read_only_what_verifies_their_own_providers_notifications():
    env = {**stage_env('prod'),
           'PAYGATE_ALIPAY_PUBLIC_KEY': 'secretsmanager:paygate/prod/alipay-public-key',
           'PAYGATE_ALIPAY_SELLER_ID': 'ssm:/paygate/prod/alipay/seller-id'}
    stage = plan.Stage('paygate', 'prod', env, 'python3.11', 'x86_64', 'PassThrough', {})
    by_name = {f.name: f for f in plan.build(_app())}
    reads = {name: _reads(policy.document(by_name[name], stage))
             for name in ('notify_codepay', 'notify_alipay', 'notify_midas', 'notify_wechatpay')}
    sub = 'arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s'

    def parameters(*names):
        return {sub % ('ssm', f'parameter/paygate/prod/{name}') for name in ('webhooks', *names)}
    assert reads == {
        'notify_codepay': parameters('codepay/key'),
        'notify_alipay': parameters('alipay/seller-id') | {
            sub % ('secretsmanager', 'secret:paygate/prod/alipay-public-key-??????')},
        'notify_midas': parameters('midas/appkey'),
        'notify_wechatpay': parameters('wechatpay/api-v2-key', 'wechatpay/api-v3-key',
                                       'wechatpay/wechatpay-public-key'),
    }


def test_no_function_reads_the_settings_of_a_provider_the_stage_does_not_enable():
    env = {**stage_env('prod'), 'PAYGATE_PROVIDERS': 'codepay'}
    by_name = {f.name: f for f in plan.build(_app())}
    assert policy.settings_read(by_name['notify_alipay'], env) == ['PAYGATE_WEBHOOKS']
    assert policy.settings_read(by_name['midas_settle'], env) == []
    assert [name for name in policy.settings_read(by_name['orders'], env) if 'CODEPAY' in name] == [
        'PAYGATE_CODEPAY_ID', 'PAYGATE_CODEPAY_KEY', 'PAYGATE_CODEPAY_URL']


def _reads(document):
    return {r['Fn::Sub'] for s in document['Statement'] if s['Sid'] in ('Parameters', 'Secrets')
            for r in s['Resource']}


def _plain_settings(obj):
    """(name, value) of every setting Paygate uses as written (never resolves)."""
    return [(name, value) for name, value in settings_fields(obj)
            if isinstance(value, str) and name != 'catalog_source']   # the catalog resolves its source


def _everything_loaded(stage_name):
    """The stage's settings with Cloud Marketplace enabled, so that its settings are checked too."""
    return settings.Settings.load({**stage_env(stage_name), 'PAYGATE_CLOUDMARKET_ENABLED': 'true'})


@pytest.mark.parametrize('stage_name', ['dev', 'prod'])
def test_references_are_only_where_paygate_resolves_them(stage_name):
    loaded = _everything_loaded(stage_name)
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
@pytest.mark.parametrize('cloudmarket', ['as configured', 'true'])
def test_every_referenced_secret_is_readable_by_some_function(stage_name, cloudmarket, app_module):
    """A reference no function may read (a provider's variable not named PAYGATE_<PROVIDER>_...,
    or one PROVIDER_READS names for none of its uses) would be refused by IAM at run time.
    A provider the stage does not enable is never asked for its settings."""
    env = stage_env(stage_name)
    if cloudmarket == 'true':
        env['PAYGATE_CLOUDMARKET_ENABLED'] = 'true'
    readable = {name for function in plan.build(app_module.app)
                for name in policy.settings_read(function, env)}
    referenced = {name for name, value in env.items()
                  if value.startswith(('ssm:', 'secretsmanager:')) and enabled(name, env)}
    assert referenced <= readable


# Alipay's ids are settings.Secret (they may be references) but are not secret.
NOT_SECRET = {'app_id', 'seller_id'}


@pytest.mark.parametrize('stage_name', ['dev', 'prod'])
def test_no_secret_is_written_in_a_deployed_stage(stage_name):
    """Every secret of dev and prod is a reference: .chalice/config.json is in git, and its values
    in every function's environment."""
    loaded = _everything_loaded(stage_name)
    written = [name for name, value in settings_fields(loaded) if isinstance(value, settings.Secret)
               and name not in NOT_SECRET and not value._ref.startswith(('ssm:', 'secretsmanager:'))]
    assert written == []


def test_a_file_setting_outside_the_package_stops_packaging():
    env = {**stage_env('prod'), 'PAYGATE_CATALOG': 'file:chalicelib/catalog.sample.json'}
    stage = plan.Stage('paygate', 'prod', env, 'python3.11', 'x86_64', 'PassThrough', {})
    package.check_file_settings(stage, PROJECT_ROOT)
    for path in ('.local/alipay-sandbox/app_private_key.pem', 'chalicelib/../.local/key.pem',
                 'chalicelib/missing.pem'):
        outside = dataclasses.replace(stage, env={**env, 'PAYGATE_ALIPAY_APP_PRIVATE_KEY': f'file:{path}'})
        with pytest.raises(functions.PackagingError, match='PAYGATE_ALIPAY_APP_PRIVATE_KEY'):
            package.check_file_settings(outside, PROJECT_ROOT)


@pytest.mark.parametrize('value, example', [
    ('CHANGE-ME-codepay-merchant-id', True), ('https://pay.example.com', True),
    ('https://saas-dev.example.org/welcome', True), ('0000000000000000000000000000000000000000', True),
    ('PUB_KEY_ID_0000000000000000000000000000000000000', True), ('wx0000000000000000', True),
    ('https://pay.merchant.cn', False), ('https://notexample.com', False), ('https://example.com.cn', False),
    ('5A0DB0C000000000000000000000000000000001', False), ('1900000001', False), ('0', False),
    ('ssm:/paygate/prod/codepay/key', False), ('example.com', False),
])
def test_example_values_are_told_from_real_ones(value, example):
    assert package.placeholders({'PAYGATE_X': value}) == ([('PAYGATE_X', value)] if example else [])
