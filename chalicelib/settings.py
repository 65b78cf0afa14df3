"""Typed settings for one stage, read from environment variables.

`.chalice/config.json` sets the variables per stage. A value of the form
`ssm:/path` or `secretsmanager:name` is a reference: it is resolved with boto3
on first use and cached for the life of the container. `file:<path>` (from the
project root) reads a local file the same way; the local stage uses it for
keys that `make run` generates. Presence of every required variable is
checked when the settings are loaded (at start), so a missing one fails
immediately with its name.

A packaged function's PAYGATE_PREFETCH lists the settings it reads
(deploy/policy.py): the first reference it resolves fetches every `ssm:` one
of them in one GetParameters call, so a cold start pays one SSM round trip.

NAMES lists every variable Paygate reads; a `PAYGATE_` variable not in it is a
typo, reported with the closest name (unknown_names). check_at_start runs
the checks when the app is imported: it logs what is wrong in one line and
never stops the import, so a request that needs the settings is answered a
plain 500 (logging the same line) instead of the Lambda failing to start.
"""
import difflib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from chalicelib import aws

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ('ssm:', 'secretsmanager:', 'file:')

_resolved = {}
_lock = threading.Lock()


# Every variable Paygate reads, here and elsewhere (aws.py, app.py). tests/test_docs_configuration.py
# holds it to the names the code reads and to docs/configuration.md.
NAMES = frozenset({
    'PAYGATE_STAGE', 'PAYGATE_TABLE', 'PAYGATE_PUBLIC_URL', 'PAYGATE_CATALOG', 'PAYGATE_PUBLISHABLE_KEYS',
    'PAYGATE_SECRET_KEYS', 'PAYGATE_PROVIDERS', 'PAYGATE_ORDER_TTL_SECONDS', 'PAYGATE_WEBHOOKS',
    'PAYGATE_WEBHOOK_QUEUE_URL', 'PAYGATE_WEBHOOK_QUEUE', 'PAYGATE_TABLE_STREAM_ARN', 'PAYGATE_PREFETCH',
    'PAYGATE_DYNAMODB_ENDPOINT',
    'PAYGATE_CODEPAY_ID', 'PAYGATE_CODEPAY_KEY', 'PAYGATE_CODEPAY_URL',
    'PAYGATE_CLOUDMARKET_ENABLED', 'PAYGATE_CLOUDMARKET_TOKEN', 'PAYGATE_CLOUDMARKET_WEBSITE',
    'PAYGATE_CLOUDMARKET_LOGIN_SECRET', 'PAYGATE_CLOUDMARKET_TRIAL_DAYS',
    'PAYGATE_ALIPAY_APP_ID', 'PAYGATE_ALIPAY_APP_PRIVATE_KEY', 'PAYGATE_ALIPAY_GATEWAY',
    'PAYGATE_ALIPAY_SELLER_ID', 'PAYGATE_ALIPAY_SIGN_MODE', 'PAYGATE_ALIPAY_PUBLIC_KEY',
    'PAYGATE_ALIPAY_PUBLIC_CERT', 'PAYGATE_ALIPAY_APP_CERT', 'PAYGATE_ALIPAY_ROOT_CERT',
    'PAYGATE_MIDAS_APPID', 'PAYGATE_MIDAS_APPKEY', 'PAYGATE_MIDAS_ENV', 'PAYGATE_MIDAS_URL',
    'PAYGATE_MIDAS_CALLBACK_PATH', 'PAYGATE_MIDAS_ORG_LOC', 'PAYGATE_MIDAS_COINS_PER_YUAN',
    'PAYGATE_WECHATPAY_APPID', 'PAYGATE_WECHATPAY_APP_APPID', 'PAYGATE_WECHATPAY_APP_SECRET',
    'PAYGATE_WECHATPAY_MCH_ID',
    'PAYGATE_WECHATPAY_API_VERSION', 'PAYGATE_WECHATPAY_KEY', 'PAYGATE_WECHATPAY_SIGN_TYPE',
    'PAYGATE_WECHATPAY_CLIENT_CERT', 'PAYGATE_WECHATPAY_CLIENT_KEY', 'PAYGATE_WECHATPAY_CLIENT_P12',
    'PAYGATE_WECHATPAY_APIV3_KEY', 'PAYGATE_WECHATPAY_PRIVATE_KEY', 'PAYGATE_WECHATPAY_CERT_SERIAL',
    'PAYGATE_WECHATPAY_PUBLIC_KEY', 'PAYGATE_WECHATPAY_PUBLIC_KEY_ID', 'PAYGATE_WECHATPAY_URL',
    'PAYGATE_WECHATPAY_LOGIN_URL',
})
# How alike a misspelt name and a real one must be (difflib's ratio) to suggest the real one.
SUGGEST_CUTOFF = 0.8


class SettingsError(RuntimeError):
    """A setting (or the catalog) that is missing or will not do; the message names the variable."""


def unknown_names(environ, also_known=()):
    """One message per `PAYGATE_` variable of `environ` that Paygate does not read, naming the closest
    one it does. `also_known`: other names that are fine there (the local tools' variables)."""
    known = sorted(NAMES | set(also_known))
    return [_unknown(name, known) for name in sorted(environ)
            if name.partition('_')[0] == 'PAYGATE' and name not in known]


def _unknown(name, known):
    close = difflib.get_close_matches(name, known, n=1, cutoff=SUGGEST_CUTOFF)
    hint = f'did you mean {close[0]}?' if close else 'docs/configuration.md lists the settings'
    return f'{name} is not a Paygate setting; {hint}'


def failure_line(exc, stage=None):
    """One line for a settings problem: what is wrong, the stage, and where its variables are set."""
    stage = stage or os.environ.get('PAYGATE_STAGE') or '<stage>'
    return f'{exc} (stage {stage}: .chalice/config.json, stages.{stage}.environment_variables)'


def check_at_start(log):
    """At the app's import: one warning line for unknown `PAYGATE_` variables, one error line when the
    settings do not load. Never raises (see the module's docstring)."""
    unknown = unknown_names(os.environ)
    if unknown:
        log.warning('; '.join(unknown))
    try:
        get()
    except SettingsError as exc:
        log.error('settings not usable, requests will fail with 500: %s', failure_line(exc))


class Secret:
    """A configured value that may be a reference; its repr never shows it."""

    __slots__ = ('_ref',)

    def __init__(self, ref):
        self._ref = ref

    @property
    def value(self):
        return resolve(self._ref)

    def __repr__(self):
        return 'Secret(***)'

    __str__ = __repr__


def resolve(ref):
    """The plain value of `ref`, fetched once per container when it is a reference."""
    if not ref.startswith(REFERENCES):
        return ref
    with _lock:
        if ref not in _resolved:
            if ref.startswith('ssm:'):
                _prefetch()
            if ref not in _resolved:
                _resolved[ref] = _fetch(ref)
        return _resolved[ref]


SSM_BATCH = 10


def _prefetch():
    """Every `ssm:` reference of the settings PAYGATE_PREFETCH names, in GetParameters calls of
    at most ten names (once per container)."""
    names = [name.strip() for name in os.environ.get('PAYGATE_PREFETCH', '').split(',') if name.strip()]
    refs = sorted({os.environ.get(name, '').strip() for name in names} - set(_resolved))
    wanted = [ref for ref in refs if ref.startswith('ssm:')]
    for start in range(0, len(wanted), SSM_BATCH):
        batch = {ref[len('ssm:'):]: ref for ref in wanted[start:start + SSM_BATCH]}
        reply = aws.client('ssm').get_parameters(Names=list(batch), WithDecryption=True)
        for parameter in reply.get('Parameters', []):
            _resolved[batch[parameter['Name']]] = parameter['Value']


def _fetch(ref):
    kind, _, name = ref.partition(':')
    if kind == 'file':
        path = PROJECT_ROOT / name
        try:
            return path.read_text(encoding='utf-8')
        except OSError as exc:
            raise SettingsError(f'cannot read {path}: {exc.strerror}') from None
    if kind == 'ssm':
        reply = aws.client('ssm').get_parameter(Name=name, WithDecryption=True)
        return reply['Parameter']['Value']
    return aws.client('secretsmanager').get_secret_value(SecretId=name)['SecretString']


class Env:
    """Reads variables from a mapping, naming the variable in every error."""

    def __init__(self, environ):
        self._environ = environ

    def required(self, name):
        value = self._environ.get(name, '').strip()
        if not value:
            raise SettingsError(f'missing required setting {name}')
        return value

    def optional(self, name, default=''):
        return self._environ.get(name, '').strip() or default

    def secret(self, name):
        return Secret(self.required(name))

    def optional_secret(self, name):
        value = self.optional(name)
        return Secret(value) if value else None

    def integer(self, name, default):
        raw = self.optional(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f'setting {name} must be an integer, got {raw!r}') from None
        if value <= 0:
            raise SettingsError(f'setting {name} must be positive, got {value}')
        return value

    def words(self, name, default=''):
        return tuple(w.strip() for w in self.optional(name, default).split(',') if w.strip())

    def flag(self, name):
        """A yes/no setting: true/false (also 1/0, yes/no, on/off); absent means false."""
        raw = self.optional(name, 'false').lower()
        if raw not in _FLAGS:
            raise SettingsError(f'setting {name} must be true or false, got {raw!r}')
        return _FLAGS[raw]


_FLAGS = {'true': True, '1': True, 'yes': True, 'on': True,
          'false': False, '0': False, 'no': False, 'off': False}


@dataclass(frozen=True)
class CodepaySettings:
    """Codepay (码支付). Its documented HTTPS API endpoint has its own port (51888); the plain
    HTTP one is http://codepay.fateqq.com:52888 (and api2.fateqq.com:52888 in later demos)."""
    HTTPS_API = 'https://codepay.fateqq.com:51888'

    merchant_id: str
    key: Secret
    base_url: str

    @classmethod
    def load(cls, env):
        return cls(merchant_id=env.required('PAYGATE_CODEPAY_ID'),
                   key=env.secret('PAYGATE_CODEPAY_KEY'),
                   base_url=env.optional('PAYGATE_CODEPAY_URL', cls.HTTPS_API).rstrip('/'))


@dataclass(frozen=True)
class CloudMarketSettings:
    """Tencent Cloud Marketplace SaaS delivery (docs/cloudmarket.md)."""
    token: Secret
    website: str
    login_secret: Secret
    trial_days: int = 7

    @classmethod
    def load(cls, env):
        """The settings when PAYGATE_CLOUDMARKET_ENABLED is true; None otherwise."""
        if not env.flag('PAYGATE_CLOUDMARKET_ENABLED'):
            return None
        website = env.required('PAYGATE_CLOUDMARKET_WEBSITE')
        if not website.startswith(('https://', 'http://')):
            raise SettingsError('setting PAYGATE_CLOUDMARKET_WEBSITE must be an http(s) URL')
        return cls(token=env.secret('PAYGATE_CLOUDMARKET_TOKEN'), website=website,
                   login_secret=env.secret('PAYGATE_CLOUDMARKET_LOGIN_SECRET'),
                   trial_days=env.integer('PAYGATE_CLOUDMARKET_TRIAL_DAYS', 7))


@dataclass(frozen=True)
class AlipaySettings:
    """Alipay APP pay. Sign mode `key` (Alipay public key) or `cert` (public-key certificates).

    app_id and seller_id (the merchant's PID, 2088...) are not secret, but may be
    references like the rest; both are checked on every notification.
    """
    app_id: Secret
    app_private_key: Secret
    gateway_url: str
    seller_id: Secret
    alipay_public_key: Secret = None
    alipay_public_cert: Secret = None
    app_cert: Secret = None
    root_cert: Secret = None

    PRODUCTION = 'https://openapi.alipay.com/gateway.do'

    @property
    def cert_mode(self):
        return self.alipay_public_cert is not None

    @property
    def verify_key(self):
        """What Alipay's signatures are checked with: its public key or its public certificate."""
        return (self.alipay_public_cert or self.alipay_public_key).value

    @classmethod
    def load(cls, env):
        mode = env.optional('PAYGATE_ALIPAY_SIGN_MODE', 'key')
        common = {'app_id': env.secret('PAYGATE_ALIPAY_APP_ID'),
                  'app_private_key': env.secret('PAYGATE_ALIPAY_APP_PRIVATE_KEY'),
                  'gateway_url': env.optional('PAYGATE_ALIPAY_GATEWAY', cls.PRODUCTION),
                  'seller_id': env.secret('PAYGATE_ALIPAY_SELLER_ID')}
        if mode == 'key':
            return cls(alipay_public_key=env.secret('PAYGATE_ALIPAY_PUBLIC_KEY'), **common)
        if mode == 'cert':
            return cls(alipay_public_cert=env.secret('PAYGATE_ALIPAY_PUBLIC_CERT'),
                       app_cert=env.secret('PAYGATE_ALIPAY_APP_CERT'),
                       root_cert=env.secret('PAYGATE_ALIPAY_ROOT_CERT'), **common)
        raise SettingsError(f'PAYGATE_ALIPAY_SIGN_MODE must be key or cert, got {mode!r}')


@dataclass(frozen=True)
class MidasSettings:
    """Tencent Midas / YSDK (docs/providers/midas.md#settings).

    `appid` is the Midas offerid (支付 ID), `appkey` the Midas appkey of the
    environment (sandbox and production keys differ). `callback_path` is the
    path of the delivery (发货) URL exactly as configured in the Midas console:
    Tencent signs the callback over it (default: the path of
    PAYGATE_PUBLIC_URL + /notify/midas). `org_loc` says which URI goes into the
    `org_loc` cookie: `path` (/mpay/<api>, the official YSDK PHP SDK) or
    `sig_path` (/v3/r/mpay/<api>, the 道具直购 wiki page).
    """
    HOSTS = {'sandbox': 'https://ysdktest.qq.com', 'production': 'https://ysdk.qq.com'}
    ORG_LOC_FORMS = ('path', 'sig_path')

    appid: str
    appkey: Secret
    environment: str
    base_url: str
    callback_path: str
    org_loc: str
    coins_per_yuan: int

    @classmethod
    def load(cls, env):
        environment = env.required('PAYGATE_MIDAS_ENV')
        if environment not in cls.HOSTS:
            raise SettingsError(f'PAYGATE_MIDAS_ENV must be sandbox or production, got {environment!r}')
        public_path = urlsplit(env.required('PAYGATE_PUBLIC_URL')).path.rstrip('/')
        callback_path = env.optional('PAYGATE_MIDAS_CALLBACK_PATH', f'{public_path}/notify/midas')
        if not callback_path.startswith('/') or '?' in callback_path:
            raise SettingsError('PAYGATE_MIDAS_CALLBACK_PATH must be a path like /notify/midas')
        org_loc = env.optional('PAYGATE_MIDAS_ORG_LOC', 'path')
        if org_loc not in cls.ORG_LOC_FORMS:
            raise SettingsError(f'PAYGATE_MIDAS_ORG_LOC must be path or sig_path, got {org_loc!r}')
        return cls(appid=env.required('PAYGATE_MIDAS_APPID'),
                   appkey=env.secret('PAYGATE_MIDAS_APPKEY'),
                   environment=environment,
                   base_url=env.optional('PAYGATE_MIDAS_URL', cls.HOSTS[environment]).rstrip('/'),
                   callback_path=callback_path,
                   org_loc=org_loc,
                   coins_per_yuan=env.integer('PAYGATE_MIDAS_COINS_PER_YUAN', 10))


@dataclass(frozen=True)
class WechatpaySettings:
    """WeChat Pay for Mini Programs, API v2 and v3 (docs/providers/wechatpay.md#settings).

    `api_version` decides how new orders are made; each order remembers its
    version, so notifications, queries and refunds of orders made before a
    switch keep working while the other version's keys stay configured.
    `appid` is the mini program's (JSAPI, Native and H5 orders); `app_appid`
    the open-platform mobile app's, for APP orders (none: no APP orders).
    """
    appid: str
    app_appid: str
    app_secret: Secret
    mch_id: str
    api_version: str
    key: Secret
    sign_type: str
    client_cert: Secret
    client_key: Secret
    apiv3_key: Secret
    private_key: Secret
    cert_serial: str
    public_key: Secret
    public_key_id: str
    base_url: str
    login_url: str

    VERSIONS = ('v2', 'v3')
    SIGN_TYPES = ('MD5', 'HMAC-SHA256')

    @classmethod
    def load(cls, env):
        version = env.optional('PAYGATE_WECHATPAY_API_VERSION', 'v3')
        sign_type = env.optional('PAYGATE_WECHATPAY_SIGN_TYPE', 'MD5')
        if version not in cls.VERSIONS:
            raise SettingsError(f'setting PAYGATE_WECHATPAY_API_VERSION must be v2 or v3, got {version!r}')
        if sign_type not in cls.SIGN_TYPES:
            raise SettingsError('setting PAYGATE_WECHATPAY_SIGN_TYPE must be MD5 or HMAC-SHA256, '
                                f'got {sign_type!r}')
        required = {'v2': ('PAYGATE_WECHATPAY_KEY',),
                    'v3': ('PAYGATE_WECHATPAY_APIV3_KEY', 'PAYGATE_WECHATPAY_PRIVATE_KEY',
                           'PAYGATE_WECHATPAY_CERT_SERIAL')}[version]
        for name in required:
            env.required(name)
        if env.optional('PAYGATE_WECHATPAY_CLIENT_P12'):
            raise SettingsError('setting PAYGATE_WECHATPAY_CLIENT_P12 is not read: convert the .p12 with '
                                '`paygate keys from-p12 apiclient_cert.p12` and set '
                                'PAYGATE_WECHATPAY_CLIENT_CERT and PAYGATE_WECHATPAY_CLIENT_KEY')
        public_key, public_key_id = (env.optional('PAYGATE_WECHATPAY_PUBLIC_KEY'),
                                     env.optional('PAYGATE_WECHATPAY_PUBLIC_KEY_ID'))
        if bool(public_key) != bool(public_key_id):
            raise SettingsError('settings PAYGATE_WECHATPAY_PUBLIC_KEY and PAYGATE_WECHATPAY_PUBLIC_KEY_ID '
                                'go together')
        return cls(
            appid=env.required('PAYGATE_WECHATPAY_APPID'),
            app_appid=env.optional('PAYGATE_WECHATPAY_APP_APPID'),
            app_secret=env.optional_secret('PAYGATE_WECHATPAY_APP_SECRET'),
            mch_id=env.required('PAYGATE_WECHATPAY_MCH_ID'),
            api_version=version,
            key=env.optional_secret('PAYGATE_WECHATPAY_KEY'),
            sign_type=sign_type,
            client_cert=env.optional_secret('PAYGATE_WECHATPAY_CLIENT_CERT'),
            client_key=env.optional_secret('PAYGATE_WECHATPAY_CLIENT_KEY'),
            apiv3_key=env.optional_secret('PAYGATE_WECHATPAY_APIV3_KEY'),
            private_key=env.optional_secret('PAYGATE_WECHATPAY_PRIVATE_KEY'),
            cert_serial=env.optional('PAYGATE_WECHATPAY_CERT_SERIAL'),
            public_key=env.optional_secret('PAYGATE_WECHATPAY_PUBLIC_KEY'),
            public_key_id=env.optional('PAYGATE_WECHATPAY_PUBLIC_KEY_ID'),
            base_url=env.optional('PAYGATE_WECHATPAY_URL', 'https://api.mch.weixin.qq.com').rstrip('/'),
            login_url=env.optional('PAYGATE_WECHATPAY_LOGIN_URL', 'https://api.weixin.qq.com').rstrip('/'),
        )


PROVIDER_SETTINGS = {
    'codepay': CodepaySettings,
    'alipay': AlipaySettings,
    'midas': MidasSettings,
    'wechatpay': WechatpaySettings,
}


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    public_url: str
    catalog_source: str
    publishable_keys: Secret
    secret_keys: Secret
    order_ttl_seconds: int
    providers: dict = field(default_factory=dict)
    webhooks: Secret = None
    webhook_queue_url: str = ''
    cloudmarket: CloudMarketSettings = None

    @classmethod
    def load(cls, environ):
        env = Env(environ)
        enabled = env.words('PAYGATE_PROVIDERS', 'codepay')
        unknown = [name for name in enabled if name not in PROVIDER_SETTINGS]
        if unknown:
            raise SettingsError(f'PAYGATE_PROVIDERS names unknown providers: {", ".join(unknown)}')
        return cls(
            stage=env.required('PAYGATE_STAGE'),
            table_name=env.required('PAYGATE_TABLE'),
            public_url=env.required('PAYGATE_PUBLIC_URL').rstrip('/'),
            catalog_source=env.required('PAYGATE_CATALOG'),
            publishable_keys=env.secret('PAYGATE_PUBLISHABLE_KEYS'),
            secret_keys=env.secret('PAYGATE_SECRET_KEYS'),
            order_ttl_seconds=env.integer('PAYGATE_ORDER_TTL_SECONDS', 1800),
            providers={name: PROVIDER_SETTINGS[name].load(env) for name in enabled},
            webhooks=env.optional_secret('PAYGATE_WEBHOOKS'),
            webhook_queue_url=env.optional('PAYGATE_WEBHOOK_QUEUE_URL'),
            cloudmarket=CloudMarketSettings.load(env),
        )

    def provider(self, name):
        """The settings of an enabled provider; None when it is not enabled."""
        return self.providers.get(name)

    def notify_url(self, provider_name):
        return f'{self.public_url}/notify/{provider_name}'


_settings = None


def get():
    """The settings of this container, loaded once."""
    global _settings
    if _settings is None:
        _settings = Settings.load(os.environ)
    return _settings


def reset():
    """Forget loaded settings and resolved references (tests change the environment)."""
    global _settings
    _settings = None
    with _lock:
        _resolved.clear()
