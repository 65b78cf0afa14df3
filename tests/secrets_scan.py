"""The secrets scan: a pytest plugin that searches every log line of the session for the secrets the tests use.

The values are learned where Paygate reads them, so no list of them can drift from the settings:
- every setting read as a `settings.Secret` (`Env.secret`, `Env.optional_secret`) except those public by
  nature (PUBLIC_SETTINGS), and the value of a reference (`file:`, `ssm:`) once resolved; of a PEM key, a
  line from the middle of its body; of a list, each item; of PAYGATE_WEBHOOKS, each endpoint's secrets;
- the payer's login tokens Paygate sends in a Midas call (the parameters `chalicelib.logs` masks);
- every Cloud Marketplace free-login token Paygate makes.
Scanned: every log record any logger creates (its message with the arguments, and its exception's text),
and every access-log line `http.server` writes (the local server's). A hit fails the session; the terminal
summary names the secret, the logger and the test.
"""
import http.server
import json
import logging
import threading
from dataclasses import dataclass

import pytest

from chalicelib import logs, settings
from chalicelib.cloudmarket import login
from chalicelib.providers.midas import api as midas_api

# Settings read as `Secret` because they may be references, whose values are public: ids and public
# keys or certificates. Any other setting read as a Secret is scanned for.
PUBLIC_SETTINGS = frozenset({
    'PAYGATE_ALIPAY_APP_ID', 'PAYGATE_ALIPAY_SELLER_ID', 'PAYGATE_ALIPAY_PUBLIC_KEY',
    'PAYGATE_ALIPAY_PUBLIC_CERT', 'PAYGATE_ALIPAY_APP_CERT', 'PAYGATE_ALIPAY_ROOT_CERT',
    'PAYGATE_WECHATPAY_PUBLIC_KEY', 'PAYGATE_WECHATPAY_CLIENT_CERT',
})
# Shorter values ('k', 'sk') are placeholders of input-validation tests and would match ordinary text.
MIN_LENGTH = 8
# Nor is a value of so few distinct characters ('00000000', 'aaaa…': what the fuzzer sends as a payer's
# token) a secret: it would match other generated text.
MIN_DISTINCT = 4
# Hits the terminal summary shows; one leak usually repeats in many tests.
SHOWN_HITS = 20
# A value longer than this without PEM armour (a bare base64 key) is searched for by its middle part.
FRAGMENT = 64


@dataclass(frozen=True)
class Hit:
    secret: str
    logger: str
    test: str
    text: str


def fragments(value):
    """The strings that give `value` away in a log line."""
    value = value.strip()
    if value.startswith('-----BEGIN'):
        body = [line.strip() for line in value.splitlines() if line.strip() and not line.startswith('-----')]
        return body[len(body) // 2:len(body) // 2 + 1]
    if value.startswith(('[', '{')):
        try:
            return list(_json_secrets(json.loads(value)))
        except ValueError:
            pass
    if len(value) > 2 * FRAGMENT:
        middle = len(value) // 2
        return [value[middle - FRAGMENT // 2:middle + FRAGMENT // 2]]
    items = [item.strip() for item in value.split(',')]
    return [value, *items] if len(items) > 1 else [value]


def _json_secrets(data, under_secret=False):
    """The strings under a key named secret(s), anywhere in a JSON value (PAYGATE_WEBHOOKS)."""
    if isinstance(data, dict):
        for key, item in data.items():
            yield from _json_secrets(item, under_secret or 'secret' in key.lower())
    elif isinstance(data, list):
        for item in data:
            yield from _json_secrets(item, under_secret)
    elif isinstance(data, str) and under_secret:
        yield data


class Scan:
    """The secrets learned so far, the lines scanned, and the hits."""

    def __init__(self):
        self.secrets = {}
        self.scanned = 0
        self.hits = []
        self.test = None
        self._values = ()
        self._lock = threading.Lock()

    def learn(self, name, value):
        """Remember a secret `value` (a str; anything else is ignored) under `name`."""
        if not isinstance(value, str):
            return
        with self._lock:
            for fragment in fragments(value):
                if len(fragment) >= MIN_LENGTH and len(set(fragment)) >= MIN_DISTINCT \
                        and fragment not in self.secrets:
                    self.secrets[fragment] = name
            self._values = tuple(self.secrets)

    def check(self, logger, text):
        """Count one log line of `logger` and record a hit when it holds a secret.

        Substring tests, one per value: several times faster than one regular expression of them all."""
        found = sorted((value for value in self._values if value in text), key=len, reverse=True)
        for value in found:
            text = text.replace(value, f'<{self.secrets[value]}>')
        with self._lock:
            self.scanned += 1
            if found:
                self.hits.append(Hit(self.secrets[found[0]], logger, self.test or 'outside any test', text))

    def check_record(self, record):
        self.check(record.name, record_text(record))

    def summary(self):
        """The line the terminal summary prints."""
        return (f'{_counted(self.scanned, "log line")} scanned for {_counted(len(self.secrets), "secret value")}: '
                f'{_counted(len(self.hits), "hit")}')


def _counted(number, noun):
    return f'{number:,} {noun}{"" if number == 1 else "s"}'


def record_text(record):
    """A record's message with its arguments, and its exception's text."""
    try:
        text = record.getMessage()
    except Exception:  # logging reports a record it cannot format when it is handled; scan its parts
        text = f'{record.msg} {record.args!r}'
    if record.exc_info and record.exc_info[1] is not None:
        text += f' {record.exc_info[1]}'
    return text


SCAN = Scan()
_patches = pytest.MonkeyPatch()
_references = {}   # reference -> the name of the secret setting that holds it


def _learning_secret(read):
    def secret(env, name):
        found = read(env, name)
        ref = env.optional(name)
        if ref and name not in PUBLIC_SETTINGS:
            _references[ref] = name
            if not ref.startswith(settings.REFERENCES):
                SCAN.learn(name, ref)
        return found
    return secret


def _learning_resolve(resolve):
    def resolved(ref):
        value = resolve(ref)
        if ref in _references:
            SCAN.learn(_references[ref], value)
        return value
    return resolved


def _learning_midas_call(call):
    def learning_call(api, payer_login, *args, **kwargs):
        for name in logs.SECRET_PARAMETERS & set(payer_login):
            SCAN.learn(f'Midas payer {name}', payer_login[name])
        return call(api, payer_login, *args, **kwargs)
    return learning_call


def _learning_login_token(make):
    def login_token(sign_id, secret):
        token = make(sign_id, secret)
        SCAN.learn('Cloud Marketplace login token', token.rpartition('.')[2])
        return token
    return login_token


def _scanning_factory(make_record):
    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        SCAN.check_record(record)
        return record
    return factory


def _scanning_access_log(log_message):
    def scanned(handler, format, *args):
        SCAN.check(f'access log ({type(handler).__name__})', format % args)
        log_message(handler, format, *args)
    return scanned


def pytest_configure(config):
    _patches.setattr(settings.Env, 'secret', _learning_secret(settings.Env.secret))
    _patches.setattr(settings.Env, 'optional_secret', _learning_secret(settings.Env.optional_secret))
    _patches.setattr(settings, 'resolve', _learning_resolve(settings.resolve))
    _patches.setattr(midas_api, 'call', _learning_midas_call(midas_api.call))
    _patches.setattr(login, 'login_token', _learning_login_token(login.login_token))
    _patches.setattr(http.server.BaseHTTPRequestHandler, 'log_message',
                     _scanning_access_log(http.server.BaseHTTPRequestHandler.log_message))
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(_scanning_factory(previous))
    config.add_cleanup(lambda: logging.setLogRecordFactory(previous))
    config.add_cleanup(_patches.undo)


def pytest_runtest_logstart(nodeid):
    SCAN.test = nodeid


def pytest_runtest_logfinish():
    SCAN.test = None


def pytest_sessionfinish(session):
    if SCAN.hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section('secrets scan')
    terminalreporter.write_line(SCAN.summary(), red=bool(SCAN.hits))
    for hit in SCAN.hits[:SHOWN_HITS]:
        terminalreporter.write_line(f'  {hit.secret} logged by {hit.logger} in {hit.test}: {hit.text[:300]}',
                                    red=True)
    if len(SCAN.hits) > SHOWN_HITS:
        terminalreporter.write_line(f'  and {len(SCAN.hits) - SHOWN_HITS:,} more', red=True)
