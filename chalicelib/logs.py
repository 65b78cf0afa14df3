"""Paygate's logs: one JSON object per line in Lambda, plain text locally.

In Lambda (AWS_LAMBDA_FUNCTION_NAME is set) every line is JSON with `time`,
`level`, `logger`, `message`, `request_id` and `function`, and, where a line is
about one, `provider`, `order_id`, `out_trade_no`, `event_id` and `outcome`
(given as `extra=` by the code that logs), so CloudWatch Logs Insights can
query any of them. Locally (`make run`, tests) lines stay Chalice's plain text.
Nothing here logs a secret: the fields are ids and outcomes.
"""
import contextvars
import json
import logging
import os
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode

FIELDS = ('provider', 'order_id', 'out_trade_no', 'event_id', 'outcome')
# Query parameters whose values are logins or one-time tokens (Midas's openkey and pfkey, a
# WeChat js_code, the marketplace's login signature), and paths that carry a login token.
SECRET_PARAMETERS = frozenset({'openkey', 'pfkey', 'pay_token', 'access_token', 'session_key', 'js_code',
                               'signature', 'secret', 'password'})
SECRET_PATHS = re.compile(r'(/cloudmarket/login/)[^/?#]+')
MASK = '***'

_request = contextvars.ContextVar('paygate_request', default={})


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {'time': datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec='milliseconds'),
                 'level': record.levelname, 'logger': record.name, 'message': record.getMessage(),
                 **_request.get()}
        entry.update({name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None})
        if record.exc_info:
            entry['exception'] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def in_lambda():
    return bool(os.environ.get('AWS_LAMBDA_FUNCTION_NAME'))


def configure(logger):
    """JSON lines for the app's logger (and its children, `paygate.*`) when running in Lambda."""
    if in_lambda():
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())


def bind(event):
    """Remember the invocation's request id and function for every line logged while it runs."""
    context = getattr(event, 'lambda_context', None) or getattr(event, 'context', None)
    _request.set({'request_id': getattr(context, 'aws_request_id', None),
                  'function': os.environ.get('AWS_LAMBDA_FUNCTION_NAME')})


def redact_url(target):
    """A request target (path and query) fit for an access log: login tokens and the values of
    secret query parameters replaced by ***."""
    path, mark, query = target.partition('?')
    path = SECRET_PATHS.sub(lambda found: found[1] + MASK, path)
    if not mark:
        return path
    pairs = [(name, MASK if name.lower() in SECRET_PARAMETERS else value)
             for name, value in parse_qsl(query, keep_blank_values=True)]
    return f'{path}?{urlencode(pairs, safe="*")}'
