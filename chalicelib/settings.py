"""Typed settings for one stage, read from environment variables.

`.chalice/config.json` sets the variables per stage. A value of the form
`ssm:/path` or `secretsmanager:name` is a reference: it is resolved with boto3
on first use and cached for the life of the container. Presence of every
required variable is checked when the settings are loaded (at start), so a
missing one fails immediately with its name.
"""
import os
import threading
from dataclasses import dataclass, field

from chalicelib import aws

_resolved = {}
_lock = threading.Lock()


class SettingsError(RuntimeError):
    pass


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
    if not ref.startswith(('ssm:', 'secretsmanager:')):
        return ref
    with _lock:
        if ref not in _resolved:
            _resolved[ref] = _fetch(ref)
        return _resolved[ref]


def _fetch(ref):
    kind, _, name = ref.partition(':')
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


@dataclass(frozen=True)
class CodepaySettings:
    merchant_id: str
    key: Secret
    base_url: str

    @classmethod
    def load(cls, env):
        return cls(merchant_id=env.required('PAYGATE_CODEPAY_ID'),
                   key=env.secret('PAYGATE_CODEPAY_KEY'),
                   base_url=env.optional('PAYGATE_CODEPAY_URL',
                                         'https://codepay.fateqq.com').rstrip('/'))


def _optional_secret(env, name):
    value = env.optional(name)
    return Secret(value) if value else None


@dataclass(frozen=True)
class WechatpaySettings:
    """WeChat Pay for Mini Programs, API v2 and v3 (PROVIDERS.md §3).

    `api_version` decides how new orders are made; each order remembers its
    version, so notifications, queries and refunds of orders made before a
    switch keep working while the other version's keys stay configured.
    """
    appid: str
    app_secret: Secret
    mch_id: str
    api_version: str
    key: Secret
    sign_type: str
    client_cert: Secret
    client_key: Secret
    client_p12: Secret
    p12_password: Secret
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
        public_key, public_key_id = (env.optional('PAYGATE_WECHATPAY_PUBLIC_KEY'),
                                     env.optional('PAYGATE_WECHATPAY_PUBLIC_KEY_ID'))
        if bool(public_key) != bool(public_key_id):
            raise SettingsError('settings PAYGATE_WECHATPAY_PUBLIC_KEY and PAYGATE_WECHATPAY_PUBLIC_KEY_ID '
                                'go together')
        return cls(
            appid=env.required('PAYGATE_WECHATPAY_APPID'),
            app_secret=_optional_secret(env, 'PAYGATE_WECHATPAY_APP_SECRET'),
            mch_id=env.required('PAYGATE_WECHATPAY_MCH_ID'),
            api_version=version,
            key=_optional_secret(env, 'PAYGATE_WECHATPAY_KEY'),
            sign_type=sign_type,
            client_cert=_optional_secret(env, 'PAYGATE_WECHATPAY_CLIENT_CERT'),
            client_key=_optional_secret(env, 'PAYGATE_WECHATPAY_CLIENT_KEY'),
            client_p12=_optional_secret(env, 'PAYGATE_WECHATPAY_CLIENT_P12'),
            p12_password=_optional_secret(env, 'PAYGATE_WECHATPAY_P12_PASSWORD'),
            apiv3_key=_optional_secret(env, 'PAYGATE_WECHATPAY_APIV3_KEY'),
            private_key=_optional_secret(env, 'PAYGATE_WECHATPAY_PRIVATE_KEY'),
            cert_serial=env.optional('PAYGATE_WECHATPAY_CERT_SERIAL'),
            public_key=_optional_secret(env, 'PAYGATE_WECHATPAY_PUBLIC_KEY'),
            public_key_id=env.optional('PAYGATE_WECHATPAY_PUBLIC_KEY_ID'),
            base_url=env.optional('PAYGATE_WECHATPAY_URL', 'https://api.mch.weixin.qq.com').rstrip('/'),
            login_url=env.optional('PAYGATE_WECHATPAY_LOGIN_URL', 'https://api.weixin.qq.com').rstrip('/'),
        )


PROVIDER_SETTINGS = {
    'codepay': CodepaySettings,
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
