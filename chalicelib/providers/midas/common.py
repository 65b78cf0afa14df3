"""What every Midas module shares: its name and settings, the payer's YSDK login, lookups."""
import re

from chalicelib import settings
from chalicelib.providers.midas import sign
from chalicelib.providers.contract import InvalidPayer

NAME = 'midas'
LOGIN_TYPES = ('qq', 'wx', 'guest')
LOGIN_FIELDS = ('openid', 'openkey', 'pf', 'pfkey')
STORED_FIELDS = ('openid', 'zoneid', 'pf', 'login_type')
ITEM, COINS = 'item', 'coins'
MAX_FIELD = 512
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def login(payer):
    """The payer's full YSDK login from a request, checked; it is used for one call, never stored.

    `zoneid` defaults to 1; `roleid`, when given, is URL-encoded and appended as
    zoneid_roleid (查询余额接口: 角色需要进行urlencode).
    """
    if not isinstance(payer, dict):
        raise InvalidPayer('payer must be an object with the YSDK login')
    found = {name: _field(payer, name) for name in LOGIN_FIELDS}
    if payer.get('login_type') not in LOGIN_TYPES:
        raise InvalidPayer('payer.login_type must be one of qq, wx, guest', 'payer.login_type')
    found['login_type'] = payer['login_type']
    zoneid = _field(payer, 'zoneid', '1')
    roleid = _field(payer, 'roleid', '')
    found['zoneid'] = f'{zoneid}_{sign.encode(roleid)}' if roleid else zoneid
    return found


def _field(payer, name, default=None):
    value = payer.get(name) or default
    if value is None:
        raise InvalidPayer(f'payer.{name} is required', f'payer.{name}')
    if not isinstance(value, str) or len(value) > MAX_FIELD or _CONTROL.search(value):
        raise InvalidPayer(f'payer.{name} must be a string of at most {MAX_FIELD} printable characters',
                           f'payer.{name}')
    return value


def validate_payer(payer, scene):
    """Keep only openid, zoneid, pf and login_type: never the openkey or pfkey."""
    full = login(payer)
    return {name: full[name] for name in STORED_FIELDS}


def config():
    """The MidasSettings of this stage."""
    return settings.get().provider(NAME)


def token_lookup(token):
    """The lookup name under which an item order is found by its buy_goods_m token."""
    return f'{NAME}#token#{token}'
