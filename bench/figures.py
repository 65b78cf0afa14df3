"""The figures a bench script measures, each with its target and verdict, and how they are printed.

Every bench script returns a list of Figure. Counts are judged in every mode;
times and ratios only in a full run (in smoke mode, with a few iterations,
they only show that the script works). `python -m bench` gathers the figures
of every script into one table and exits non-zero when one misses its target.
"""
import argparse
import json
import sys
from dataclasses import asdict, dataclass

OK = 'ok'
MISSED = 'MISSED'
INFO = 'info'
SMOKE = 'not judged (smoke)'
ABSENT = 'not installed'


@dataclass(frozen=True)
class Figure:
    name: str
    target: str
    measured: str
    verdict: str

    @property
    def missed(self):
        return self.verdict == MISSED


def count(name, value, at_most):
    """A count of requests or calls: always judged (it does not depend on the machine)."""
    return Figure(name, f'<= {at_most}', str(value), OK if value <= at_most else MISSED)


def check(name, target, measured, met):
    """A fact with a yes/no target (e.g. "no other network call"): always judged."""
    return Figure(name, target, measured, OK if met else MISSED)


def ratio(name, value, at_most, smoke):
    """A same-run ratio: judged in a full run only."""
    verdict = SMOKE if smoke else (OK if value <= at_most else MISSED)
    return Figure(name, f'<= {at_most:.2f}x', f'{value:.2f}x', verdict)


def info(name, measured):
    """A figure shown for comparison, with no target."""
    return Figure(name, '-', measured, INFO)


def absent(name, what):
    return Figure(name, '-', f'{what} not installed', ABSENT)


def table(figures):
    """The figures as an aligned text table."""
    rows = [('figure', 'target', 'measured', 'verdict')] + [
        (f.name, f.target, f.measured, f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ['  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, '  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def options(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--smoke', action='store_true',
                        help='a few iterations only: show that it runs; times are not judged')
    parser.add_argument('--figures-to', metavar='FILE', help='also write the figures as JSON to FILE')
    return parser.parse_args()


def run(measure, description):
    """A bench script's entry point: measure, print the table, exit 1 when a figure missed its target."""
    args = options(description)
    figures = measure(smoke=args.smoke)
    print()
    print(table(figures))
    if args.figures_to:
        with open(args.figures_to, 'w', encoding='utf-8') as out:
            json.dump([asdict(figure) for figure in figures], out)
    sys.exit(1 if any(figure.missed for figure in figures) else 0)


def load(path):
    with open(path, encoding='utf-8') as source:
        return [Figure(**fields) for fields in json.load(source)]
