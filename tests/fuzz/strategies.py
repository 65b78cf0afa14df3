"""Hypothesis strategies for hostile HTTP input: values, bodies in many encodings, headers, queries, ids.

Curated hostile values are drawn far more often than random ones: a bug that
needs one bad field in an otherwise valid request is found in tens of cases
rather than thousands.
"""
import copy
import json
from urllib.parse import quote, quote_from_bytes

from hypothesis import strategies as st

LONE_SURROGATES = ['\ud800', '\udfff', '\udc80', 'a\ud83d', '\ude00b']
UNICODE_DIGITS = ['²', '³', '١٢', '߁', '１２', '𝟘', '①', 'Ⅻ', '৪', '٣٠٠']
ODD_TEXT = ['', ' ', '\x00', '\t\r\n', 'null', 'NaN', '-1', '1e309', '0x10', '6.00', '-0', '+1',
            '\ufeff', '\u202e', '😀', '中文', 'ＡＢＣ', '%00', '%ZZ', "'\"", '<x/>', ']]>', '&amp;',
            'WECHATPAY/SIGNTEST/abc', 'a' * 257, '中' * 700, '99999999999999999999']
HUGE_INTS = [2 ** 31, 2 ** 53 + 1, 2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 38, 10 ** 39, -10 ** 40, 10 ** 100]
ENCODINGS = ['UTF-8', 'GBK', 'gb2312', 'GB18030', 'UTF-16', 'utf-16le', 'UTF-16BE', 'UTF-32', 'ISO-8859-1',
             'big5', 'shift_jis', 'cp1252', 'ascii', 'EBCDIC-US', 'x-unknown', '']
BOMS = [b'\xef\xbb\xbf', b'\xff\xfe', b'\xfe\xff', b'\x00\x00\xfe\xff']
CONTENT_TYPES = ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8',
                 'application/json;charset=GBK', 'application/json; charset=utf-16', 'application/json;',
                 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=GBK',
                 'application/x-www-form-urlencoded;charset=utf-8', 'text/xml', 'text/xml; charset=GBK',
                 'application/xml; charset=UTF-16', 'multipart/form-data; boundary=x', 'text/plain',
                 'application/octet-stream', '*/*', '', ';', 'application/json; charset="',
                 'text/html;charset=utf-8', 'application/jsonx', 'application/json\x00']


def weighted(*choices):
    """One of the (weight, strategy) choices, drawn in proportion to the weights; shrinks to the first."""
    total = sum(weight for weight, _ in choices)

    def pick(n):
        for weight, strategy in choices:
            if n < weight:
                return strategy
            n -= weight
    return st.integers(0, total - 1).flatmap(pick)


def nested(depth):
    """A JSON value nested `depth` levels deep (lists and objects alternate)."""
    value = 'deep'
    for level in range(depth):
        value = [value] if level % 2 else {'k': value}
    return value


# Text a JSON string or a decoded query can hold: any code point, lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=24)
# Text that can be encoded (header values, form fields, what providers sign).
plain_text = st.text(st.characters(exclude_categories=['Cs']), max_size=24)
long_text = st.builds(lambda char, n: char * n, st.sampled_from(['x', '中', '\ud800', '9']),
                      st.integers(255, 3000))
hostile_text = weighted((3, st.sampled_from(LONE_SURROGATES + UNICODE_DIGITS + ODD_TEXT)),
                        (1, any_text), (1, long_text))
encodable_text = weighted((3, st.sampled_from(UNICODE_DIGITS + ODD_TEXT)), (1, plain_text))
header_values = encodable_text
numbers = weighted((2, st.sampled_from(HUGE_INTS + [0, -1, 1, 1.5, -0.0, 1e308, 5e-324, float('nan')])),
                   (1, st.integers(-10 ** 6, 10 ** 6)), (1, st.floats()))
keys = weighted((2, st.sampled_from(['', '\ud800', ' ', 'a' * 41, '²', '__proto__', '$', 'sign'])),
                (1, any_text))
scalars = st.one_of(st.none(), st.booleans(), numbers, hostile_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(keys, inner, max_size=4)),
                           max_leaves=10)
deep_values = st.integers(1, 600).map(nested)
CLASSIC_VALUES = [[], {}, None, True, '', '\ud800', '²', 2 ** 63, -1, 0, 1.5, float('nan'), 10 ** 40,
                  'x' * 3000, {'': 'v'}, {'\ud800': 'v'}, {'k': '\ud800'}, ['\ud800'], {'k': {'k': 'v'}},
                  nested(40), '中' * 700, 'a\ud83d']
field_values = weighted((3, st.sampled_from(CLASSIC_VALUES)), (2, json_values), (1, deep_values))


def _paths(value, prefix=()):
    """Every (path to a field, is an object) in a JSON object, nested fields included."""
    for key, item in value.items():
        yield prefix + (key,), isinstance(item, dict)
        if isinstance(item, dict):
            yield from _paths(item, prefix + (key,))


@st.composite
def mutated(draw, template, values=field_values, names=keys):
    """The template with a few fields (mostly one) replaced, removed or added, nested ones too."""
    result = copy.deepcopy(template)
    paths = [((), True)] + list(_paths(template))
    for _ in range(draw(weighted((1, st.just(0)), (4, st.just(1)), (3, st.just(2)), (2, st.integers(3, 6))))):
        path, is_object = draw(st.sampled_from(paths))
        parent = result
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        target = parent.get(path[-1]) if path and isinstance(parent, dict) else result
        operation = draw(st.sampled_from(['replace', 'drop', 'add'] if path else ['add']))
        if operation == 'add' and is_object and isinstance(target, dict):
            target[draw(names)] = copy.deepcopy(draw(values))
        elif operation == 'replace' and isinstance(parent, dict):
            parent[path[-1]] = copy.deepcopy(draw(values))
        elif operation == 'drop' and isinstance(parent, dict):
            parent.pop(path[-1], None)
    return result


def mutated_text(template):
    """A flat str -> str template mutated with encodable text only (fields that get signed)."""
    return mutated(template, encodable_text, encodable_text).map(
        lambda fields: {str(k): _as_text(v) for k, v in fields.items()})


def _as_text(value):
    return value if isinstance(value, str) else json.dumps(value)


def _dumps_raw(value):
    """JSON whose strings are raw UTF-8 (lone surrogates become invalid UTF-8 bytes)."""
    return json.dumps(value, ensure_ascii=False).encode('utf-8', 'surrogatepass')


def _encode(text, encoding):
    return text.encode(encoding, 'surrogatepass' if encoding == 'utf-8' else 'replace')


def _form(value, encoding):
    fields = value.items() if isinstance(value, dict) else [('v', value)]
    pairs = (f'{_quote(k, encoding)}={_quote(_as_text(v), encoding)}' for k, v in fields)
    return '&'.join(pairs).encode('ascii')


def _quote(text, encoding):
    return quote_from_bytes(_encode(str(text), encoding))


@st.composite
def xml_bodies(draw, value):
    """The value's fields as <xml> elements, with a declared encoding that may not be the real one."""
    fields = value.items() if isinstance(value, dict) else [('v', value)]
    inner = ''.join(f'<{k or "x"}><![CDATA[{_as_text(v)}]]></{k or "x"}>' for k, v in fields)
    declared = draw(st.one_of(st.none(), st.sampled_from(ENCODINGS)))
    declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared is not None else ''
    actual = draw(st.sampled_from(['utf-8', 'gbk', 'utf-16', 'utf-16-le']))
    bom = draw(st.sampled_from([b'', b''] + BOMS))
    content_type = draw(st.sampled_from(['text/xml', 'application/xml']))
    return bom + _encode(declaration + f'<xml>{inner}</xml>', actual), content_type


def _encoded(value):
    """Every way of putting a value on the wire, each with the content type that goes with it."""
    json_type = 'application/json'
    return st.one_of(
        well_formed_json(value),
        st.sampled_from(BOMS).map(lambda bom: (bom + json.dumps(value).encode('ascii'), json_type)),
        st.sampled_from(['utf-16', 'utf-16-le', 'utf-32', 'gbk']).map(
            lambda enc: (_encode(json.dumps(value, ensure_ascii=False), enc), f'{json_type}; charset={enc}')),
        st.sampled_from(['utf-8', 'gbk']).map(
            lambda enc: (_form(value, enc), f'application/x-www-form-urlencoded; charset={enc}')),
        xml_bodies(value),
    )


def well_formed_json(value):
    return st.sampled_from([(json.dumps(value).encode('ascii'), 'application/json'),
                            (_dumps_raw(value), 'application/json')])


raw_bodies = st.one_of(
    st.just((b'', 'application/json')),
    st.binary(max_size=64).map(lambda data: (data, 'application/json')),
    st.integers(1, 120000).map(lambda n: (b'[' * n + b']' * n, 'application/json')),
    st.integers(4300, 5000).map(lambda n: (b'{"amount": 1' + b'0' * n + b'}', 'application/json')),
    st.sampled_from([b'{"a": NaN}', b'{"a": -Infinity}', b'{"a":1,"a":2}', b'{"a": "\\ud800"}',
                     b'{"\\u0000": 1}', b'{"a": "\\udc00\\ud800"}', b'<xml><a>\xff</a></xml>',
                     b'<?xml version="1.0" encoding="GBK"?><xml/>',
                     b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>',
                     b'a=1&a=2&=&%ZZ=%', b'\xff\xfe\x00', b'null', b'[]', b'"text"', b'1e999999']).map(
        lambda data: (data, 'application/json')),
    st.integers(65530, 65545).map(lambda n: (b'{"k": "' + b'x' * (n - 9) + b'"}', 'application/json')),
)


def bodies(template, native=well_formed_json):
    """A body for a route: mostly its template mutated in the route's own format; else other
    encodings, any value, or raw bytes."""
    return weighted((14, mutated(template).flatmap(native)),
                    (3, mutated(template).flatmap(_encoded)),
                    (1, field_values.flatmap(_encoded)),
                    (2, raw_bodies))


content_types = st.one_of(st.sampled_from(CONTENT_TYPES),
                          st.builds(lambda base, enc: f'{base}; charset={enc}',
                                    st.sampled_from(['application/json', 'text/xml',
                                                     'application/x-www-form-urlencoded']),
                                    st.sampled_from(ENCODINGS)),
                          plain_text)


@st.composite
def typed_body(draw, template, native=well_formed_json):
    """(body bytes, Content-Type or None): mostly the type that matches the body, sometimes not."""
    body, natural = draw(bodies(template, native))
    content_type = draw(weighted((8, st.just(natural)), (1, content_types), (1, st.none())))
    return body, content_type


def form_bodies(value):
    return st.sampled_from(['utf-8', 'gbk']).map(
        lambda enc: (_form(value, enc), 'application/x-www-form-urlencoded'))


def headers(names):
    """Extra headers named from `names` (or anything), with hostile values."""
    name = weighted((3, st.sampled_from(names)), (1, st.from_regex(r'\A[A-Za-z][A-Za-z0-9-]{0,20}\Z')))
    return st.dictionaries(name, header_values, max_size=4)


def _query_pair(key, value):
    return f'{quote(key.encode("utf-8", "surrogatepass"))}={quote(value.encode("utf-8", "surrogatepass"))}'


def query_strings(names, values=hostile_text):
    """A query string: named and random keys (repeated ones too), hostile and empty values, raw junk."""
    pair = st.builds(_query_pair, weighted((3, st.sampled_from(names)), (1, any_text)), values)
    junk = st.sampled_from(['&', '=', '==', 'a=b=c', '%', '%zz', '+', 'k', '%ED%A0%80=%FF', ';'])
    return st.lists(weighted((4, pair), (1, junk)), max_size=6).map('&'.join)


def path_ids(known):
    """A path parameter: a known id, or hostile text (long, unicode, surrogates) that stays one segment."""
    segment = st.characters(exclude_categories=(), exclude_characters='/?#')
    return weighted((3, st.sampled_from(known)),
                    (1, st.text(segment, min_size=1, max_size=40)),
                    (1, st.builds(lambda char, n: char * n, st.sampled_from(['x', '中', '\ud800', '%']),
                                  st.integers(500, 3000))),
                    (1, st.sampled_from(['²', '.', '..', '%2F', '%00', ' ', 'evt_' + '0' * 24])))
