"""Which Lambda function serves what, how big it is, and what it may touch.

Every API route belongs to a function group by the first rule in ROUTE_RULES
that matches its method and path; a route no rule covers stops packaging. Each
group, and each event handler and @app.lambda_function in app.py, has a Spec:
its size and its Needs. The Needs are the whole of its permissions: the IAM
policy is built from them (deploy/policy.py) and nothing else.

Settings are named by variable. A function may read a setting's SSM parameter
or secret only when the setting is listed in its Needs, or belongs to a provider
it serves and is one of those PROVIDER_READS lists for what the function does
with that provider (all of the provider's variables, `PAYGATE_<NAME>_...`,
where it lists nothing). No function reads the settings of a provider the stage
does not enable.
"""
import re
from dataclasses import dataclass, replace

GET_ITEM = 'dynamodb:GetItem'
PUT_ITEM = 'dynamodb:PutItem'
UPDATE_ITEM = 'dynamodb:UpdateItem'
DELETE_ITEM = 'dynamodb:DeleteItem'
BATCH_GET = 'dynamodb:BatchGetItem'
BATCH_WRITE = 'dynamodb:BatchWriteItem'

# Queries on the base table (not an index).
TABLE = 'table'

KEYS = ('PAYGATE_PUBLISHABLE_KEYS', 'PAYGATE_SECRET_KEYS')
CATALOG = 'PAYGATE_CATALOG'
WEBHOOKS = 'PAYGATE_WEBHOOKS'

# Whose provider settings a function reads: the provider its route names
# (/notify/<provider>), one provider by name, or a tuple of operations: each
# enabled provider that can do one of them (every provider creates orders; only
# some list the capability to close, refund, be queried or refresh keys).
OWN = 'own'
NOTIFY = 'notify'                  # what a /notify/<provider> function does with its provider
CLOUDMARKET = 'cloudmarket'        # served by name; enabled by PAYGATE_CLOUDMARKET_ENABLED


@dataclass(frozen=True)
class Needs:
    """What a function does to AWS. TransactWriteItems needs no action of its
    own: IAM checks each Put/Update/Delete in it as PutItem/UpdateItem/DeleteItem."""
    items: tuple = ()          # DynamoDB item actions on the table
    queries: tuple = ()        # TABLE and/or index names it queries
    settings: tuple = ()       # settings it resolves besides its providers'
    providers: object = ''     # OWN, a provider name, a tuple of operations, or '' for none
    sends: bool = False        # enqueues webhook deliveries (retries, resends, the sweep)
    consumes: bool = False     # the webhook queue's trigger
    stream: bool = False       # the table stream's trigger
    fails_to_queue: bool = False   # invoked asynchronously: failed invocations go to a queue


@dataclass(frozen=True)
class Spec:
    memory: int                # MB
    timeout: int               # seconds; API functions stay under API Gateway's 29 s
    reserved: int              # reserved concurrency: a cap, and a guarantee
    needs: Needs


# Read, create and change items (TransactWriteItems with Puts and Updates included).
READ_WRITE = (GET_ITEM, PUT_ITEM, UPDATE_ITEM)
# What a reconciliation does, on demand or on schedule.
RECONCILE = Needs(items=READ_WRITE + (DELETE_ITEM, BATCH_GET, BATCH_WRITE), queries=(TABLE, 'events_by_time'),
                  settings=KEYS + (WEBHOOKS,), providers=('download_bill', 'query'))

GROUPS = {
    # POST /orders, GET /orders/{id}: any key, creates at any provider; an
    # order whose provider call fails is deleted so the client can retry.
    # GET /, the index, too: no key, and it reads nothing but the stage's plain settings.
    'orders': Spec(1024, 29, 50, Needs(
        items=(GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM),
        settings=KEYS + (CATALOG,), providers=('create',))),
    # Secret-key routes: close and refunds (at the provider, where it can), the events API.
    # Both key lists: a publishable key is recognised to be answered 403.
    # A resend enqueues its deliveries; GET /events renders a deferred event's payload.
    'admin': Spec(512, 29, 10, Needs(
        items=READ_WRITE, queries=(TABLE, 'events_by_time', 'events_by_subject'),
        settings=KEYS + (WEBHOOKS,), providers=('close', 'refund'), sends=True)),
    # /notify/<provider>[/...]: that provider's notifications only; first webhook attempts
    # come from the table's stream, so nothing is sent from here.
    'notify': Spec(512, 15, 20, Needs(
        items=READ_WRITE, settings=(WEBHOOKS,), providers=OWN)),
    # Cloud Marketplace delivery (instances with their events), its login route and the
    # secret-key instance lookup.
    'cloudmarket': Spec(512, 15, 10, Needs(
        items=READ_WRITE, settings=KEYS + (WEBHOOKS,), providers=CLOUDMARKET)),
    # Midas game coins: balance (publishable key), presents (secret key), and payments:
    # an order from the catalog paid with pay_m (its order.paid event written), deleted again
    # when its price is not a whole number of coins.
    # Reconciliation on demand (POST) and its reports (GET): downloads a bill, reads the day's
    # events and the orders it names, pays what the provider confirms, replaces the day's report.
    'reconcile': Spec(1024, 29, 2, RECONCILE),
    'midas': Spec(512, 29, 20, Needs(
        items=(GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM),
        settings=KEYS + (CATALOG, WEBHOOKS), providers='midas')),
}

HANDLERS = {
    # Stream trigger (new delivery rows only): first attempts; a failed one is enqueued.
    'deliver_new_events': Spec(256, 60, 10, Needs(
        items=READ_WRITE, settings=(WEBHOOKS,), sends=True, stream=True)),
    # SQS trigger: one delivery per message (retries and resends); re-enqueues the next attempt.
    'deliver_webhooks': Spec(256, 60, 10, Needs(
        items=READ_WRITE, settings=(WEBHOOKS,), sends=True, consumes=True)),
    # Every minute: enqueue overdue deliveries found on the work index.
    'sweep_webhooks': Spec(256, 60, 1, Needs(queries=('work',), sends=True)),
    # Every five minutes: query open orders at their provider, close expired
    # ones there and here; a payment found is applied like a notification.
    'compensate': Spec(512, 240, 1, Needs(
        items=READ_WRITE, queries=('work',), settings=(WEBHOOKS,), providers=('query', 'close'))),
    # Invoked asynchronously after a coin recharge: polls get_balance_m every 15 s for up
    # to 2 minutes (coins.wait_for_recharge); Midas only, nothing stored. An invocation that
    # fails (Midas unreachable) is retried twice by Lambda, then kept in its failure queue.
    'midas_settle': Spec(256, 150, 10, Needs(providers='midas', fails_to_queue=True)),
    # Every 12 hours: download the providers' rotating platform certificates (WeChat Pay's)
    # and keep them (CERT# items) for the notifications and replies they verify.
    # 10:30 China time: yesterday of every enabled provider. A bill not yet published fails the
    # invocation: Lambda retries it twice, then it waits in its failure queue (alarmed).
    'reconcile_yesterday': Spec(1024, 900, 1, replace(RECONCILE, settings=(WEBHOOKS,), fails_to_queue=True)),
    'refresh_certificates': Spec(256, 60, 1, Needs(
        items=(GET_ITEM, PUT_ITEM), providers=('refresh_keys',))),
}

# The settings each use of a provider reads, where that is not all of them. A use
# is an operation of the provider (create, query, close, refund, refresh_keys),
# NOTIFY, or the name of a function that serves the provider by name. A use (or
# a provider) not listed reads every PAYGATE_<NAME>_ variable.
# tests/test_deploy_permissions.py holds these lists to the calls the code makes.
PROVIDER_READS = {
    'alipay': {
        # The order string and wap URL are signed with the app's key (and name the certificates' SNs);
        # a qr order's precreate answer is verified with Alipay's key.
        'create': ('PAYGATE_ALIPAY_APP_ID', 'PAYGATE_ALIPAY_APP_PRIVATE_KEY',
                   'PAYGATE_ALIPAY_APP_CERT', 'PAYGATE_ALIPAY_ROOT_CERT',
                   'PAYGATE_ALIPAY_PUBLIC_KEY', 'PAYGATE_ALIPAY_PUBLIC_CERT'),
        # Verified with Alipay's key; app_id and seller_id are checked.
        NOTIFY: ('PAYGATE_ALIPAY_APP_ID', 'PAYGATE_ALIPAY_SELLER_ID',
                 'PAYGATE_ALIPAY_PUBLIC_KEY', 'PAYGATE_ALIPAY_PUBLIC_CERT'),
        **dict.fromkeys(('query', 'close', 'refund', 'download_bill'), (
            'PAYGATE_ALIPAY_APP_ID', 'PAYGATE_ALIPAY_APP_PRIVATE_KEY', 'PAYGATE_ALIPAY_APP_CERT',
            'PAYGATE_ALIPAY_ROOT_CERT', 'PAYGATE_ALIPAY_PUBLIC_KEY', 'PAYGATE_ALIPAY_PUBLIC_CERT')),
    },
    'wechatpay': {
        # v2 signs with the API key; v3 with the merchant key and checks the reply with the
        # WeChat Pay public key (or a cached certificate); a js_code needs the app secret.
        'create': ('PAYGATE_WECHATPAY_APP_SECRET', 'PAYGATE_WECHATPAY_KEY',
                   'PAYGATE_WECHATPAY_PRIVATE_KEY', 'PAYGATE_WECHATPAY_PUBLIC_KEY'),
        # v2: the API key (payments' sign, refunds' req_info); v3: the APIv3 key and the public key.
        NOTIFY: ('PAYGATE_WECHATPAY_KEY', 'PAYGATE_WECHATPAY_APIV3_KEY', 'PAYGATE_WECHATPAY_PUBLIC_KEY'),
        **dict.fromkeys(('query', 'close', 'download_bill'), (
            'PAYGATE_WECHATPAY_KEY', 'PAYGATE_WECHATPAY_PRIVATE_KEY', 'PAYGATE_WECHATPAY_PUBLIC_KEY')),
        # v2 refunds also present the merchant's client certificate.
        'refund': ('PAYGATE_WECHATPAY_KEY', 'PAYGATE_WECHATPAY_PRIVATE_KEY', 'PAYGATE_WECHATPAY_PUBLIC_KEY',
                   'PAYGATE_WECHATPAY_CLIENT_CERT', 'PAYGATE_WECHATPAY_CLIENT_KEY'),
        # Signed request; certificates decrypted with the APIv3 key; the reply verified.
        'refresh_keys': ('PAYGATE_WECHATPAY_PRIVATE_KEY', 'PAYGATE_WECHATPAY_APIV3_KEY',
                         'PAYGATE_WECHATPAY_PUBLIC_KEY'),
    },
    'midas': {
        # Item orders have nothing to close at Midas; a coin payment is rolled back
        # (cancel_pay_m) only with the payer's login, which only a close request carries
        # (admin, which reads the appkey for refunds anyway), never compensation.
        'close': (),
    },
}

# Providers whose notifications never need a read: each is one conditional write (Codepay
# reports payments only). The others read on their rare paths (refunds, a Midas lookup).
WRITE_ONLY_NOTIFY = ('codepay',)


def item_actions(function):
    """The DynamoDB item actions a function's role grants."""
    if function.provider in WRITE_ONLY_NOTIFY:
        return tuple(action for action in function.spec.needs.items if action != GET_ITEM)
    return function.spec.needs.items


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
    Rule('GET', r'/', 'orders', 'orders'),
    Rule('POST', r'/orders', 'orders', 'orders'),
    Rule('GET', r'/orders/\{[^/]+\}', 'orders', 'orders'),
    Rule('POST', r'/orders/\{[^/]+\}/(close|refunds)', 'admin', 'admin'),
    Rule('GET|POST', r'/events(/.*)?', 'admin', 'admin'),
    Rule('.*', r'/(cloudmarket|instances)(/.*)?', 'cloudmarket', 'cloudmarket'),
    Rule('.*', r'/midas/.+', 'midas', 'midas'),
    Rule('GET|POST', r'/reconciliations(/.*)?', 'reconcile', 'reconcile'),
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
