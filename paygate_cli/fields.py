"""A notification's fields as one flat mapping (nested JSON as parent.child), and --tamper."""
import re
from decimal import Decimal

from paygate_cli.errors import UsageProblem

_NUMBER = re.compile(r'\A[0-9]+(\.[0-9]+)?\Z')


def flatten(mapping, prefix=''):
    flat = {}
    for name, value in mapping.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f'{prefix}{name}.'))
        else:
            flat[f'{prefix}{name}'] = value
    return flat


def unflatten(flat):
    """The nested mapping `flatten` made, keys in the same order."""
    nested = {}
    for name, value in flat.items():
        *parents, leaf = name.split('.')
        target = nested
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return nested


def tampered(fields, spec):
    """`fields` with the one `spec` names altered: FIELD (changed a little) or FIELD=VALUE."""
    name, given, value = spec.partition('=')
    if name not in fields:
        raise UsageProblem(f'--tamper {name}: this notification has no such field '
                           f'(it has {", ".join(fields)})')
    return {**fields, name: value if given else altered(fields[name])}


def altered(value):
    """A value a little off: booleans flip, numbers (also in text) go up by their last digit,
    other text has its last character changed."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    text = str(value)
    if _NUMBER.match(text):
        step = Decimal(1).scaleb(Decimal(text).as_tuple().exponent)
        return str(Decimal(text) + step)
    if not text:
        return 'X'
    return text[:-1] + ('A' if text[-1] != 'A' else 'B')
