"""The fuzz properties, and the counts and examples of what broke them.

For every request: no 5xx (a 502/503/504 only when the request reached a
provider, whose mocked answer may be a failure), no stack trace or exception
name in the answer, and on notification and delivery routes no change to the
table's state (every item but the raw NOTIFY#/CMEVENT# logs) unless the
request carried a valid signature.
"""
import os
import re
import sys
import traceback
from collections import Counter, defaultdict

from localdev import PROJECT_ROOT

UPSTREAM_STATUSES = (502, 503, 504)
TRACE_MARKERS = ('Traceback (most recent call last)', 'File "')
# An exception shown as Python shows it: `KeyError: 'x'`, `ValueError(...)`.
EXCEPTION_SHOWN = re.compile(r'\b[A-Z]\w*(?:Error|Exception|Warning)(?::|\()')
COLUMNS = ('cases', '5xx', 'traceback leaks', 'unsigned state changes')


def violations(case, outcome, stateful):
    """(kind, signature, detail) for each property the outcome breaks."""
    found = []
    upstream = outcome.outbound and outcome.status in UPSTREAM_STATUSES
    if outcome.status >= 500 and not upstream:
        found.append(('5xx', *_failure(outcome)))
    shown = [m for m in TRACE_MARKERS if m in outcome.body] + EXCEPTION_SHOWN.findall(outcome.body)
    shown += [name for name in our_exceptions() if re.search(rf'\b{name}\b', outcome.body)]
    leaked = sorted(m for m in set(shown) if not case.mentions(m))
    if leaked:
        found.append(('traceback leaks', f'answer shows {leaked}', outcome.body[:300]))
    if stateful and not case.signed and outcome.changed:
        found.append(('unsigned state changes', f'changed {outcome.changed[:3]}', outcome.body[:300]))
    return found


def _failure(outcome):
    """What a 5xx came from: the exception Paygate logged and where it was raised."""
    if outcome.unsendable:
        return 'the answer holds a lone surrogate: it cannot be encoded, so it is never sent', \
            outcome.body[:300]
    if not outcome.errors:
        return f'status {outcome.status}', outcome.body[:300]
    return where(outcome.errors[-1]), ''.join(traceback.format_exception(*outcome.errors[-1])[-6:])


def where(exc_info):
    """The exception and the innermost frame of Paygate's code it passed through."""
    _, exc, tb = exc_info
    ours = [frame for frame in traceback.extract_tb(tb)
            if frame.filename.startswith(str(PROJECT_ROOT)) and '/.venv/' not in frame.filename
            and '/tests/' not in frame.filename]
    if not ours:
        return f'{type(exc).__name__} outside Paygate'
    frame = ours[-1]
    place = f'{os.path.relpath(frame.filename, PROJECT_ROOT)}:{frame.lineno} in {frame.name}'
    return f'{type(exc).__name__} at {place}'


def our_exceptions():
    """Names of the exception classes Paygate defines (in the chalicelib modules loaded so far)."""
    names = set()
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith('chalicelib') and module is not None:
            names.update(name for name, value in vars(module).items() if isinstance(value, type)
                         and issubclass(value, BaseException) and value.__module__ == module_name)
    return sorted(names)


def describe(case, outcome, found):
    lines = [f'{case.method} {case.url[:300]} answered {outcome.status}: {outcome.body[:300]!r}']
    lines += [f'[{kind}] {signature}\n{detail}' for kind, signature, detail in found]
    return '\n'.join(lines)


class Stats:
    """Counters per route for the summary, and the smallest example of each distinct failure."""

    def __init__(self):
        self.counts = defaultdict(Counter)
        self.failures = {}

    def record(self, route, case, outcome, found):
        self.counts[route]['cases'] += 1
        for kind, signature, detail in found:
            self.counts[route][kind] += 1
            key, size = (route, kind, signature), len(repr(case))
            if key not in self.failures or size < self.failures[key][0]:
                self.failures[key] = (size, case, outcome.status, detail)

    def failures_of(self, route):
        return [key for key in self.failures if key[0] == route]

    def summary(self):
        width = max(len(route) for route in self.counts)
        total = Counter()
        lines = [' '.join([f'{"route":<{width}}'] + [f'{c:>22}' for c in COLUMNS])]
        for route in sorted(self.counts):
            total.update(self.counts[route])
            lines.append(' '.join([f'{route:<{width}}'] + [f'{self.counts[route][c]:>22}' for c in COLUMNS]))
        lines.append(' '.join([f'{"total":<{width}}'] + [f'{total[c]:>22}' for c in COLUMNS]))
        for (route, kind, signature), (_, case, status, detail) in sorted(self.failures.items(), key=str):
            lines.append(f'\n[{kind}] {route} -> {status}: {signature}\n'
                         f'  smallest case: {_short(case)}\n{detail}')
        # A lone surrogate is shown escaped (pytest would escape the whole summary).
        return '\n'.join(lines).encode('utf-8', 'backslashreplace').decode('utf-8')


def _short(case, limit=600):
    text = repr(case)
    return text if len(text) <= limit else text[:limit] + f'... ({len(text)} chars)'
