"""JSON text from outside Paygate, read strictly: UTF-8, standard JSON, storable strings.

Python's json module accepts NaN and Infinity, and strings holding lone
surrogates (`"\\ud800"`), which no UTF-8 encoder, signature or DynamoDB
attribute can take later. Refusing them here, at the edge, keeps them out
of everything behind it.
"""
import json
import math


class JSONTextError(ValueError):
    """Text that is not JSON Paygate can read; the message says where and why."""


def loads(raw):
    """The value of `raw` (bytes), or JSONTextError."""
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise JSONTextError(f'the body is not valid UTF-8 (byte {exc.start})') from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JSONTextError(f'the body is not valid JSON: {exc.msg} at line {exc.lineno} '
                            f'column {exc.colno}') from None
    except RecursionError:
        raise JSONTextError('the body is nested too deeply') from None
    except ValueError as exc:
        raise JSONTextError(f'the body is not valid JSON: {exc}') from None
    _require_storable(value)
    return value


def _finite_float(text):
    number = float(text)
    if math.isinf(number):
        raise ValueError(f'{text} is out of range')
    return number


def _refuse_constant(name):
    raise ValueError(f'{name} is not a JSON number')


def _require_storable(value):
    try:
        json.dumps(value, ensure_ascii=False).encode('utf-8')
    except UnicodeEncodeError:
        raise JSONTextError('the body holds a lone surrogate (an unpaired \\ud800-\\udfff escape)') from None
    except RecursionError:
        raise JSONTextError('the body is nested too deeply') from None
