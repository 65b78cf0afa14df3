"""`paygate doctor`: a stage's settings checked offline, saying per provider what is missing or malformed.

It reads `.chalice/config.json` and the files its `file:` references name;
it calls no provider and resolves no ssm:/secretsmanager: reference (those are
listed as not read).
"""
import json
import re
from urllib.parse import urlsplit

import click

from paygate_cli import crypto, output, stage

PROVIDERS = ('codepay', 'alipay', 'wechatpay', 'midas')
LOOPBACK = ('127.0.0.1', 'localhost')


class Section:
    """One provider's (or the core's) settings, read and judged."""

    def __init__(self, values, root, deployed):
        self.values, self.root, self.deployed = values, root, deployed
        self.problems, self.notes = [], []

    def value(self, name, required=True):
        """The setting's usable text, or None (having said why, when that is a problem)."""
        raw = self.values.get(name)
        if raw is None or raw == '':
            if required:
                self.problems.append(f'{name} is missing')
            return None
        if 'CHANGE-ME' in raw or re.fullmatch(r'[0]+', raw):
            self.problems.append(f'{name} is still the placeholder {raw!r}')
            return None
        if raw.startswith(stage.REMOTE_REFERENCES):
            self.notes.append(f'{name} is a reference ({raw.partition(":")[0]}:), not read here')
            return None
        if raw.startswith('file:'):
            return self._file(name, raw[len('file:'):])
        return raw

    def _file(self, name, relative):
        path = self.root / relative
        if not path.is_file():
            hint = ' (`make run` makes it)' if '.local' in path.parts else ''
            self.problems.append(f'{name}: {relative} does not exist{hint}')
            return None
        return path.read_text()

    def check(self, name, ok, problem, required=True):
        """Read `name`; when it has a value, `ok(value)` must hold, else `problem` is reported."""
        value = self.value(name, required)
        if value is not None and not ok(value):
            self.problems.append(f'{name} {problem}')
        return value

    def url(self, name, required=True):
        return self.check(name, self._url_ok, 'is not an https:// URL' if self.deployed else 'is not a URL',
                          required)

    def _url_ok(self, value):
        parts = urlsplit(value)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            return False
        return parts.scheme == 'https' or not self.deployed or parts.hostname in LOOPBACK

    def one_of(self, name, choices, default):
        value = self.check(name, lambda v: v in choices, f'must be one of {", ".join(choices)}', required=False)
        return value if value in choices else default


def _parses(reader):
    def ok(value):
        try:
            reader(value)
        except ValueError:
            return False
        return True
    return ok


def _json_list(value):
    try:
        return isinstance(json.loads(value), list)
    except ValueError:
        return False


def _core(s):
    for name in ('PAYGATE_STAGE', 'PAYGATE_TABLE'):
        s.value(name)
    public = s.url('PAYGATE_PUBLIC_URL')
    if public and public.endswith('/'):
        s.problems.append('PAYGATE_PUBLIC_URL ends with /: notify URLs would have //')
    s.check('PAYGATE_PUBLISHABLE_KEYS', lambda v: all(k.strip().startswith('pk_') for k in v.split(',')),
            'must be pk_... keys, comma-separated')
    s.check('PAYGATE_SECRET_KEYS', lambda v: all(k.strip().startswith('sk_') for k in v.split(',')),
            'must be sk_... keys, comma-separated')
    known = PROVIDERS
    s.check('PAYGATE_PROVIDERS', lambda v: all(p.strip() in known for p in v.split(',')),
            f'names a provider that is not one of {", ".join(known)}', required=False)
    catalog = s.check('PAYGATE_CATALOG', _json_list, 'is not a JSON list of products')
    if catalog is not None and _json_list(catalog):
        _catalog(s, json.loads(catalog))
    webhooks = s.check('PAYGATE_WEBHOOKS', _json_list, 'is not a JSON list of endpoints', required=False)
    if webhooks is not None and _json_list(webhooks):
        _webhooks(s, json.loads(webhooks))


def _catalog(s, products):
    ids = [p.get('id') for p in products if isinstance(p, dict)]
    if len(ids) != len(products) or len(set(ids)) != len(ids):
        s.problems.append('PAYGATE_CATALOG: every product needs a unique id')
    for product in products:
        price = product.get('price') if isinstance(product, dict) else None
        if isinstance(price, bool) or not isinstance(price, int) or price < 1:
            s.problems.append(f'PAYGATE_CATALOG: product {product.get("id") if isinstance(product, dict) else product!r} '
                              'needs a price in fen (a positive integer)')


def _webhooks(s, endpoints):
    for number, endpoint in enumerate(endpoints, 1):
        if not isinstance(endpoint, dict) or not endpoint.get('id') or not endpoint.get('secrets'):
            s.problems.append(f'PAYGATE_WEBHOOKS: endpoint {number} needs an id and secrets')
            continue
        host = urlsplit(endpoint.get('url', '')).hostname
        if not str(endpoint.get('url', '')).startswith('https://') and host not in LOOPBACK:
            s.problems.append(f'PAYGATE_WEBHOOKS: endpoint {endpoint["id"]} is not https://')


def _codepay(s):
    s.value('PAYGATE_CODEPAY_ID')
    s.value('PAYGATE_CODEPAY_KEY')
    s.url('PAYGATE_CODEPAY_URL', required=False)


def _alipay(s):
    app_id = s.value('PAYGATE_ALIPAY_APP_ID')
    if app_id is not None and re.search(r'\s', app_id):
        s.problems.append('PAYGATE_ALIPAY_APP_ID has spaces')
    elif app_id is not None and not app_id.isdigit():
        s.problems.append('PAYGATE_ALIPAY_APP_ID is not an APPID (digits only)')
    s.check('PAYGATE_ALIPAY_SELLER_ID', lambda v: re.fullmatch(r'2088[0-9]{12}', v),
            'is not a PID (2088 and 12 more digits)', required=False)
    s.check('PAYGATE_ALIPAY_APP_PRIVATE_KEY', _parses(crypto.private_key), 'is not an RSA private key (PEM or base64)')
    if s.one_of('PAYGATE_ALIPAY_SIGN_MODE', ('key', 'cert'), 'key') == 'key':
        s.check('PAYGATE_ALIPAY_PUBLIC_KEY', _parses(crypto.public_key), 'is not an RSA public key (PEM or base64)')
    else:
        for name in ('PAYGATE_ALIPAY_APP_CERT', 'PAYGATE_ALIPAY_PUBLIC_CERT', 'PAYGATE_ALIPAY_ROOT_CERT'):
            s.check(name, lambda v: 'BEGIN CERTIFICATE' in v, 'is not a PEM certificate')
    s.url('PAYGATE_ALIPAY_GATEWAY', required=False)


def _wechatpay(s):
    s.check('PAYGATE_WECHATPAY_APPID', lambda v: v.startswith('wx'), 'is not an appid (wx...)')
    s.check('PAYGATE_WECHATPAY_MCH_ID', str.isdigit, 'is not a merchant id (digits)')
    version = s.one_of('PAYGATE_WECHATPAY_API_VERSION', ('v2', 'v3'), 'v3')
    s.one_of('PAYGATE_WECHATPAY_SIGN_TYPE', ('MD5', 'HMAC-SHA256'), 'MD5')
    s.check('PAYGATE_WECHATPAY_KEY', lambda v: len(v.encode('utf-8')) == 32, 'is not 32 bytes (the API v2 key)',
            required=version == 'v2')
    v3 = version == 'v3'
    s.check('PAYGATE_WECHATPAY_APIV3_KEY', lambda v: len(v.encode('utf-8')) == 32,
            'is not 32 bytes (the APIv3 key)', required=v3)
    s.check('PAYGATE_WECHATPAY_PRIVATE_KEY', _parses(crypto.private_key),
            'is not an RSA private key (PEM or base64)', required=v3)
    s.check('PAYGATE_WECHATPAY_CERT_SERIAL', lambda v: re.fullmatch(r'[0-9A-Fa-f]{8,40}', v),
            "is not a certificate serial number (hex)", required=v3)
    has_key = bool(s.values.get('PAYGATE_WECHATPAY_PUBLIC_KEY'))
    if has_key != bool(s.values.get('PAYGATE_WECHATPAY_PUBLIC_KEY_ID')):
        s.problems.append('PAYGATE_WECHATPAY_PUBLIC_KEY and PAYGATE_WECHATPAY_PUBLIC_KEY_ID go together')
    s.check('PAYGATE_WECHATPAY_PUBLIC_KEY', _parses(crypto.public_key), 'is not an RSA public key (PEM or base64)',
            required=False)
    s.check('PAYGATE_WECHATPAY_PUBLIC_KEY_ID', lambda v: v.startswith('PUB_KEY_ID_'), 'does not start PUB_KEY_ID_',
            required=False)
    s.url('PAYGATE_WECHATPAY_URL', required=False)


def _midas(s):
    s.check('PAYGATE_MIDAS_APPID', str.isdigit, 'is not an offerid (digits)')
    s.value('PAYGATE_MIDAS_APPKEY')
    s.one_of('PAYGATE_MIDAS_ENV', ('sandbox', 'production'), 'sandbox')
    s.one_of('PAYGATE_MIDAS_ORG_LOC', ('path', 'sig_path'), 'path')
    s.check('PAYGATE_MIDAS_COINS_PER_YUAN', lambda v: v.isdigit() and int(v) > 0, 'is not a positive integer',
            required=False)
    s.url('PAYGATE_MIDAS_URL', required=False)


def _cloudmarket(s):
    s.value('PAYGATE_CLOUDMARKET_TOKEN')
    s.url('PAYGATE_CLOUDMARKET_WEBSITE')
    s.value('PAYGATE_CLOUDMARKET_LOGIN_SECRET')


CHECKS = {'core': _core, 'codepay': _codepay, 'alipay': _alipay, 'wechatpay': _wechatpay, 'midas': _midas,
          'cloudmarket': _cloudmarket}


def examine(values, root, deployed):
    """{section: {enabled, problems, notes}} for a stage's settings."""
    enabled = {p.strip() for p in values.get('PAYGATE_PROVIDERS', 'codepay').split(',')}
    if values.get('PAYGATE_CLOUDMARKET_ENABLED', 'false').lower() == 'true':
        enabled.add('cloudmarket')
    found = {}
    for name, check in CHECKS.items():
        section = Section(values, root, deployed)
        on = name == 'core' or name in enabled
        if on:
            check(section)
        found[name] = {'enabled': on, 'problems': section.problems, 'notes': section.notes}
    return found


@click.command()
@click.option('--stage', 'stage_name', default='local', show_default=True, help='The stage in .chalice/config.json.')
@click.pass_obj
def doctor(ctx, stage_name):
    """Check a stage's settings without calling any provider: per provider, what is missing or
    malformed. Exit status 1 when something is."""
    root = stage.project_root()
    found = examine(stage.stage_values(root, stage_name), root, deployed=stage_name != 'local')
    healthy = not any(section['problems'] for section in found.values())
    if ctx.json:
        output.as_json({'stage': stage_name, 'ok': healthy, 'sections': found})
    else:
        output.heading(f'stage {stage_name} ({root / stage.CONFIG})')
        for name, section in found.items():
            if not section['enabled']:
                click.echo(click.style(f'- {name}: not enabled', dim=True))
                continue
            click.echo(f'{output.mark(not section["problems"])} {name}')
            for problem in section['problems']:
                click.echo(f'    {problem}')
            for note in section['notes']:
                click.echo(click.style(f'    ({note})', dim=True))
    if not healthy:
        raise click.exceptions.Exit(1)
