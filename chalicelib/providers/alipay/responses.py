"""Answers of Alipay's gateway: find the signed part as received, verify, read.

An answer looks like `{"alipay_trade_query_response":{…},"sign":"…"}`. Alipay
signs the exact text of the `*_response` value, so that text is cut out of the
body as received, never re-serialised (official Java SDK `extractSignContent`:
a brace matcher that skips braces inside strings). Here the cut is made by
Python's own JSON scanner, which respects strings and escapes the same way and
also refuses malformed bodies and a repeated response node.

Only signed answers are acted on: an unsigned or badly signed answer raises a
retryable ProviderError (nothing is known to have happened, so asking again
with the same parameters is safe).
"""
import json
from dataclasses import dataclass, field

from chalicelib import rsa
from chalicelib.errors import ProviderError

SUCCESS = '10000'
RETRY_CODES = frozenset({'20000'})
RETRY_SUB_CODES = frozenset({'ACQ.SYSTEM_ERROR', 'aop.ACQ.SYSTEM_ERROR', 'isp.unknow-error'})
ERROR_NODE = 'error_response'

_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class Answer:
    """A verified answer: `code`, `sub_code`, and every field of the response node."""
    code: str
    sub_code: str = ''
    data: dict = field(default_factory=dict)

    @property
    def ok(self):
        return self.code == SUCCESS

    def failure(self):
        """The ProviderError for an answer that is not a success."""
        message = f'{self.code} {self.sub_code}: {self.data.get("sub_msg") or self.data.get("msg", "")}'
        retryable = self.code in RETRY_CODES or self.sub_code in RETRY_SUB_CODES
        return ProviderError(message.strip(), code=self.sub_code or self.code, retryable=retryable)


def node_name(method):
    """alipay.trade.query -> alipay_trade_query_response."""
    return method.replace('.', '_') + '_response'


def verified(text, method, public_key, cert_sn=None):
    """The Answer in `text`, after checking Alipay's signature over the raw response node.

    `cert_sn` (certificate mode) is the SN of the configured Alipay public
    certificate; an answer naming another certificate is refused.
    """
    try:
        members = raw_members(text)
    except ValueError as exc:
        raise ProviderError(f'unreadable answer from Alipay: {exc}', retryable=True) from None
    raw = members.get(node_name(method)) or members.get(ERROR_NODE)
    if raw is None or not raw.startswith('{'):
        raise ProviderError(f'answer without {node_name(method)}', retryable=True)
    data = json.loads(raw)
    answer = Answer(str(data.get('code', '')), str(data.get('sub_code', '')), data)
    sign = _string(members.get('sign'))
    if not sign:
        raise ProviderError(f'unsigned answer ({answer.code} {answer.sub_code}) not trusted',
                            code=answer.sub_code or answer.code, retryable=True)
    signed_by = _string(members.get('alipay_cert_sn'))
    if cert_sn and signed_by and signed_by != cert_sn:
        raise ProviderError(f'answer signed with Alipay certificate {signed_by}, configured is '
                            f'{cert_sn}: update PAYGATE_ALIPAY_PUBLIC_CERT', code='cert_sn',
                            retryable=True)
    if not rsa.verify_sha256(public_key, raw.encode('utf-8'), sign):
        raise ProviderError('answer signature does not verify with the Alipay public key',
                            code='signature', retryable=True)
    return answer


def raw_members(text):
    """{name: exact source text of its value} for the members of a top-level JSON object."""
    position = _skip(text, 0)
    _expect(text, position, '{')
    members = {}
    position = _skip(text, position + 1)
    if text.startswith('}', position):
        return _end(text, position, members)
    while True:
        name, position = _decoder.raw_decode(text, position)
        if not isinstance(name, str):
            raise ValueError('object member name is not a string')
        position = _skip(text, position)
        _expect(text, position, ':')
        start = _skip(text, position + 1)
        _, position = _decoder.raw_decode(text, start)
        if name in members:
            raise ValueError(f'member {name!r} appears twice')
        members[name] = text[start:position]
        position = _skip(text, position)
        if text.startswith('}', position):
            return _end(text, position, members)
        _expect(text, position, ',')
        position = _skip(text, position + 1)


def _skip(text, position):
    while position < len(text) and text[position] in ' \t\r\n':
        position += 1
    return position


def _expect(text, position, char):
    if not text.startswith(char, position):
        raise ValueError(f'expected {char!r} at offset {position}')


def _end(text, position, members):
    if _skip(text, position + 1) != len(text):
        raise ValueError('text after the JSON object')
    return members


def _string(raw):
    value = json.loads(raw) if raw else ''
    return value if isinstance(value, str) else ''
