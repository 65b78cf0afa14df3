"""Which Lambda function serves what, how big it is, and what it may touch.

Every API route belongs to a function group by the first rule in ROUTE_RULES
that matches its method and path; a route no rule covers stops packaging. Each
group, and each event handler in app.py, has a Spec: its size and its Needs.
The Needs are the whole of its permissions: the IAM policy is built from them
(deploy/policy.py) and nothing else.

Settings are named by variable. A function may read a setting's SSM parameter
or secret only when the setting is listed in its Needs, or belongs to a provider
it serves: a provider's settings are the variables starting `PAYGATE_<NAME>_`.
"""
import re
from dataclasses import dataclass

GET_ITEM = 'dynamodb:GetItem'
PUT_ITEM = 'dynamodb:PutItem'
UPDATE_ITEM = 'dynamodb:UpdateItem'
DELETE_ITEM = 'dynamodb:DeleteItem'

# Queries on the base table (not an index).
TABLE = 'table'

KEYS = ('PAYGATE_PUBLISHABLE_KEYS', 'PAYGATE_SECRET_KEYS')
CATALOG = 'PAYGATE_CATALOG'
WEBHOOKS = 'PAYGATE_WEBHOOKS'

# Whose provider settings a function reads: the provider its route names
# (/notify/<provider>), one provider by name, or a tuple of operations: each
# enabled provider whose module has one of them (every provider creates orders;
# only some can close, refund or be queried).
OWN = 'own'


@dataclass(frozen=True)
class Needs:
    """What a function does to AWS. TransactWriteItems needs no action of its
    own: IAM checks each Put/Update/Delete in it as PutItem/UpdateItem/DeleteItem."""
    items: tuple = ()          # DynamoDB item actions on the table
    queries: tuple = ()        # TABLE and/or index names it queries
    settings: tuple = ()       # settings it resolves besides its providers'
    providers: object = ''     # OWN, a provider name, a tuple of operations, or '' for none
    sends: bool = False        # enqueues webhook deliveries (it writes events)
    consumes: bool = False     # the webhook queue's trigger


@dataclass(frozen=True)
class Spec:
    memory: int                # MB
    timeout: int               # seconds; API functions stay under API Gateway's 29 s
    reserved: int              # reserved concurrency: a cap, and a guarantee
    needs: Needs


# Read, create and change items (TransactWriteItems with Puts and Updates included).
READ_WRITE = (GET_ITEM, PUT_ITEM, UPDATE_ITEM)

GROUPS = {
    # POST /orders, GET /orders/{id}: any key, creates at any provider; an
    # order whose provider call fails is deleted so the client can retry.
    'orders': Spec(1024, 29, 50, Needs(
        items=(GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM),
        settings=KEYS + (CATALOG,), providers=('create',))),
    # Secret-key routes: close and refunds (at the provider, where it can), the events API.
    # Both key lists: a publishable key is recognised to be answered 403.
    'admin': Spec(512, 29, 10, Needs(
        items=READ_WRITE, queries=(TABLE, 'events_by_time', 'events_by_subject'),
        settings=KEYS + (WEBHOOKS,), providers=('close', 'refund'), sends=True)),
    # /notify/<provider>[/...]: that provider's notifications only.
    'notify': Spec(512, 15, 20, Needs(
        items=READ_WRITE, settings=(WEBHOOKS,), providers=OWN, sends=True)),
    # Cloud Marketplace and Midas: a first estimate until their routes land;
    # tests/test_deploy_permissions.py holds the needs to the code once they do.
    # Cloud Marketplace delivery, its login route and the instance lookup.
    'cloudmarket': Spec(512, 15, 10, Needs(
        items=READ_WRITE, settings=KEYS + (WEBHOOKS,), providers='cloudmarket', sends=True)),
    # Midas game-coin routes (balance, payments, presents).
    'midas': Spec(512, 29, 20, Needs(
        items=READ_WRITE, settings=KEYS, providers='midas')),
}

HANDLERS = {
    # SQS trigger: one delivery per message; re-enqueues the next attempt.
    'deliver_webhooks': Spec(256, 60, 10, Needs(
        items=READ_WRITE, settings=(WEBHOOKS,), sends=True, consumes=True)),
    # Every minute: enqueue overdue deliveries found on the work index.
    'sweep_webhooks': Spec(256, 60, 1, Needs(queries=('work',), sends=True)),
    # Every five minutes: query open orders at their provider, close expired
    # ones there and here; a payment found is applied like a notification.
    'compensate': Spec(512, 240, 1, Needs(
        items=READ_WRITE, queries=('work',), settings=(WEBHOOKS,), providers=('query', 'close'),
        sends=True)),
}

LOG_RETENTION_DAYS = 90
# Receives of one webhook message before it goes to the dead-letter queue; the
# delivery row stays in DynamoDB and the sweep enqueues it again.
MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class Rule:
    methods: str               # regular expression over the HTTP method
    path: str                  # regular expression over the route path
    group: str                 # a key of GROUPS
    name: str                  # the function's name; may use the path's named groups


ROUTE_RULES = (
    Rule('.*', r'/notify/(?P<provider>[a-z0-9]+)(/[^{}]+)?', 'notify', 'notify_{provider}'),
    Rule('POST', r'/orders', 'orders', 'orders'),
    Rule('GET', r'/orders/\{[^/]+\}', 'orders', 'orders'),
    Rule('POST', r'/orders/\{[^/]+\}/(close|refunds)', 'admin', 'admin'),
    Rule('GET|POST', r'/events(/.*)?', 'admin', 'admin'),
    Rule('.*', r'/(cloudmarket|instances)(/.*)?', 'cloudmarket', 'cloudmarket'),
    Rule('.*', r'/midas/.+', 'midas', 'midas'),
)


class PackagingError(Exception):
    """A route or event handler no rule places, or a stage setting missing: packaging stops."""


@dataclass(frozen=True)
class Placement:
    function: str              # the function's name, e.g. notify_codepay
    spec: Spec
    provider: str = ''         # the provider a notify route names


def place_route(method, path):
    """The function that serves `method path`, by the first matching rule."""
    for rule in ROUTE_RULES:
        if re.fullmatch(rule.methods, method) and (found := re.fullmatch(rule.path, path)):
            return Placement(rule.name.format(**found.groupdict()), GROUPS[rule.group],
                             found.groupdict().get('provider', ''))
    raise PackagingError(f'no rule in deploy/functions.py ROUTE_RULES places {method} {path}; '
                    'add one (or extend a group) before packaging')


def place_handler(name):
    """An event handler's own function; it must be listed in HANDLERS."""
    if name not in HANDLERS:
        raise PackagingError(f'event handler {name!r} has no entry in deploy/functions.py HANDLERS; '
                        'say what it needs before packaging')
    return Placement(name, HANDLERS[name])
