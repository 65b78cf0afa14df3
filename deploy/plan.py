"""The functions of one packaged stage, read from the Chalice app itself.

Every route and event handler the app has at packaging time is placed by the
rules in deploy/functions.py, so routes added later need no change here.
"""
from dataclasses import dataclass, field

from chalice.app import DynamoDBEventConfig, SQSEventConfig, ScheduledEventConfig
from chalice.utils import to_cfn_resource_name

from deploy import functions

# The group that runs in Chalice's own API function (`api_handler`, resource
# APIHandler); every other group is a copy of that function with its own role.
API_HANDLER_GROUP = 'orders'


@dataclass(frozen=True)
class Stage:
    """One stage's packaging facts, from Chalice's configuration for it."""
    app_name: str
    name: str
    env: dict                      # the stage's environment variables
    runtime: str
    architecture: str
    tracing: str
    tags: dict

    @classmethod
    def from_config(cls, config):
        return cls(config.app_name, config.chalice_stage, dict(config.environment_variables),
                   config.lambda_python_version, config.lambda_architecture,
                   'Active' if config.xray_enabled else 'PassThrough', dict(config.tags))

    def function_name(self, function):
        """The Lambda function's name, e.g. paygate-prod-notify_codepay."""
        return f'{self.app_name}-{self.name}-{function.name}'

    def log_group(self, function):
        return f'/aws/lambda/{self.function_name(function)}'

    def setting(self, name):
        """A setting packaging cannot do without (the table's and the queue's names)."""
        value = self.env.get(name, '').strip()
        if not value:
            raise functions.PackagingError(f'stage {self.name} must set {name} in .chalice/config.json')
        return value


@dataclass
class Function:
    name: str                      # e.g. notify_codepay, deliver_webhooks
    spec: functions.Spec
    provider: str = ''             # the provider a /notify/<provider> route names
    chalice_name: str = ''         # Chalice's name when Chalice creates it ('' for a copy)
    trigger: str = ''              # 'sqs', 'stream', 'schedule', 'invoke' (lambda_function), '' for API
    routes: list = field(default_factory=list)   # (method, path)

    @property
    def resource(self):
        """Its logical id in the template (Chalice's own for functions Chalice creates)."""
        if self.chalice_name == 'api_handler':
            return 'APIHandler'
        return to_cfn_resource_name(self.name)

    @property
    def is_copy(self):
        return not self.chalice_name


def build(app):
    """Every function of `app`: the API groups (by route), the event handlers and the
    functions of @app.lambda_function (invoked directly)."""
    _refuse_unsupported(app)
    groups = {}
    for path, methods in sorted(app.routes.items()):
        for method in sorted(methods):
            placed = functions.place_route(method, path)
            function = groups.setdefault(placed.function, Function(
                placed.function, placed.spec, placed.provider,
                chalice_name='api_handler' if placed.function == API_HANDLER_GROUP else ''))
            function.routes.append((method, path))
    handlers = [_handler(source.name, _trigger(source)) for source in app.event_sources]
    invoked = [_handler(function.name, 'invoke') for function in app.pure_lambda_functions]
    return list(groups.values()) + handlers + invoked


def _handler(name, trigger):
    function = Function(name, functions.place_handler(name).spec, chalice_name=name, trigger=trigger)
    if (function.trigger == 'sqs') != function.spec.needs.consumes:
        raise functions.PackagingError(f'event handler {name!r}: only the SQS handler consumes '
                                  'the webhook queue (HANDLERS says otherwise)')
    if (function.trigger == 'stream') != function.spec.needs.stream:
        raise functions.PackagingError(f'event handler {name!r}: only the stream handler reads '
                                  "the table's stream (HANDLERS says otherwise)")
    return function


def _trigger(source):
    if isinstance(source, SQSEventConfig):
        return 'sqs'
    if isinstance(source, ScheduledEventConfig):
        return 'schedule'
    if isinstance(source, DynamoDBEventConfig):
        return 'stream'
    raise functions.PackagingError(f'event handler {source.name!r}: deploy/ packages SQS, stream and '
                              f'schedule handlers only, not {type(source).__name__}')


def _refuse_unsupported(app):
    others = list(app.websocket_handlers) + [a.name for a in app.builtin_auth_handlers]
    if others:
        raise functions.PackagingError(f'deploy/ does not place {", ".join(others)} '
                                  '(websocket or authorizer); add a rule')
