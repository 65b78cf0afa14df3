"""Strict parsing of application/x-www-form-urlencoded bodies from providers."""
from urllib.parse import unquote_to_bytes

FORM_TYPE = 'application/x-www-form-urlencoded'


class FormError(ValueError):
    pass


def is_form(content_type):
    return content_type.split(';')[0].strip().lower() == FORM_TYPE


def parse(body, encoding='utf-8'):
    """Decode a form body to a dict of strings; refuse repeated keys and bad bytes.

    Values are percent-decoded bytes first, then decoded with `encoding`, so a
    GBK or UTF-8 body gives the exact text the sender signed.
    """
    fields = {}
    if not body:
        return fields
    for part in body.split(b'&'):
        if not part:
            continue
        raw_key, _, raw_value = part.partition(b'=')
        try:
            key = _decode(raw_key, encoding)
            value = _decode(raw_value, encoding)
        except UnicodeDecodeError:
            raise FormError(f'form field is not valid {encoding}') from None
        if not key:
            raise FormError('form field without a name')
        if key in fields:
            raise FormError(f'form field {key!r} appears twice')
        fields[key] = value
    return fields


def _decode(raw, encoding):
    return unquote_to_bytes(raw.replace(b'+', b' ')).decode(encoding)
