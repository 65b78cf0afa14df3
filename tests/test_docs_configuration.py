"""docs/configuration.md names exactly the settings Paygate's code reads, and so does settings.NAMES.

The names come from the source text of app.py and chalicelib/ (a regular expression), not from
recording what `Settings.load` asks for: a recording sees only the names one environment leads to
(key or cert mode, API v2 or v3, a provider enabled or not) and misses those read outside the Env class
(PAYGATE_DYNAMODB_ENDPOINT in aws.py, PAYGATE_WEBHOOK_QUEUE in app.py). The text sees them all, as long
as no name is built at run time, which the second test checks; the third holds the text to what a
fully configured `Settings.load` really asks for.
"""
import ast
import re

from chalicelib import settings
from localdev import PROJECT_ROOT

NAME = re.compile(r'PAYGATE_[A-Z0-9_]*[A-Z0-9]')
PAGE = PROJECT_ROOT / 'docs' / 'configuration.md'


def _sources():
    return [PROJECT_ROOT / 'app.py', *sorted((PROJECT_ROOT / 'chalicelib').rglob('*.py'))]


def names_in_code():
    return {name for path in _sources() for name in NAME.findall(path.read_text(encoding='utf-8'))}


def names_in_page():
    return set(NAME.findall(PAGE.read_text(encoding='utf-8')))


def test_the_page_names_every_setting_the_code_reads_and_no_other():
    code, page = names_in_code(), names_in_page()
    assert code - page == set(), 'read by the code, missing from docs/configuration.md'
    assert page - code == set(), 'in docs/configuration.md, but the code reads no such setting'


def names_read():
    """The names in the code apart from settings.NAMES's own list."""
    found = set()
    for path in _sources():
        text = path.read_text(encoding='utf-8')
        if path.name == 'settings.py' and path.parent.name == 'chalicelib':
            [listing] = [node for node in ast.parse(text).body if isinstance(node, ast.Assign)
                         and [target.id for target in node.targets] == ['NAMES']]
            lines = text.splitlines()
            text = '\n'.join(lines[:listing.lineno - 1] + lines[listing.end_lineno:])
        found |= set(NAME.findall(text))
    return found


def test_settings_names_are_exactly_what_the_code_reads():
    """The list unknown names are checked against (settings.unknown_names) misses none and adds none."""
    assert names_read() == settings.NAMES


def test_no_setting_name_is_built_at_run_time():
    built = re.compile(r"""f?['"]PAYGATE_['"{]|['"]PAYGATE_['"]\s*\+""")
    for path in _sources():
        assert not built.search(path.read_text(encoding='utf-8')), f'{path} builds a setting name'


class Recording(dict):
    """An environment that remembers every name asked of it."""

    def __init__(self, values):
        super().__init__(values)
        self.asked = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)


FULL = {
    'PAYGATE_STAGE': 'docs', 'PAYGATE_TABLE': 't', 'PAYGATE_PUBLIC_URL': 'https://pay.test',
    'PAYGATE_CATALOG': '[]', 'PAYGATE_PUBLISHABLE_KEYS': 'pk', 'PAYGATE_SECRET_KEYS': 'sk',
    'PAYGATE_PROVIDERS': 'codepay,alipay,midas,wechatpay', 'PAYGATE_CODEPAY_ID': '1', 'PAYGATE_CODEPAY_KEY': 'k',
    'PAYGATE_ALIPAY_APP_ID': '1', 'PAYGATE_ALIPAY_SELLER_ID': '2088', 'PAYGATE_ALIPAY_APP_PRIVATE_KEY': 'k',
    'PAYGATE_ALIPAY_PUBLIC_KEY': 'k', 'PAYGATE_ALIPAY_PUBLIC_CERT': 'c', 'PAYGATE_ALIPAY_APP_CERT': 'c',
    'PAYGATE_ALIPAY_ROOT_CERT': 'c', 'PAYGATE_MIDAS_APPID': '1', 'PAYGATE_MIDAS_APPKEY': 'k',
    'PAYGATE_MIDAS_ENV': 'sandbox', 'PAYGATE_WECHATPAY_APPID': 'wx', 'PAYGATE_WECHATPAY_MCH_ID': '1',
    'PAYGATE_WECHATPAY_KEY': 'k', 'PAYGATE_WECHATPAY_APIV3_KEY': 'k', 'PAYGATE_WECHATPAY_PRIVATE_KEY': 'k',
    'PAYGATE_WECHATPAY_CERT_SERIAL': 's', 'PAYGATE_CLOUDMARKET_ENABLED': 'true', 'PAYGATE_CLOUDMARKET_TOKEN': 't',
    'PAYGATE_CLOUDMARKET_WEBSITE': 'https://saas.test', 'PAYGATE_CLOUDMARKET_LOGIN_SECRET': 's',
}


def test_what_settings_load_asks_for_is_in_the_source_text():
    asked = set()
    for mode in ('key', 'cert'):
        environment = Recording({**FULL, 'PAYGATE_ALIPAY_SIGN_MODE': mode})
        settings.Settings.load(environment)
        asked |= environment.asked
    assert len(asked) > 40
    assert asked - names_in_code() == set()
