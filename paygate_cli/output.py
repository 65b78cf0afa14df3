"""What the CLI prints: aligned plain tables for a person, JSON for a script.

Colour comes from click.style; click.echo drops it when stdout is not a
terminal, so piped output is plain text.
"""
import json

import click

from paygate_cli import fields

STATUS_COLOURS = {'PAID': 'green', 'SUCCEEDED': 'green', 'delivered': 'green', 'ACTIVE': 'green',
                  'CREATED': 'yellow', 'PENDING': 'yellow', 'pending': 'yellow',
                  'CLOSED': 'blue', 'REFUNDED': 'blue', 'EXPIRED': 'blue',
                  'failed': 'red', 'FAILED': 'red', 'DESTROYED': 'red'}
MARKS = {True: click.style('✓', fg='green'), False: click.style('✗', fg='red')}


def as_json(data):
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def text(value):
    """A value as one line of a table."""
    if value is None:
        return '-'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(', ', ': '))
    return str(value)


def coloured(value, width=0):
    """`value` padded to `width`, coloured by what it says (statuses)."""
    shown = text(value)
    colour = STATUS_COLOURS.get(shown)
    return (click.style(shown, fg=colour) if colour else shown) + ' ' * (width - len(shown))


def mark(ok):
    return MARKS[bool(ok)]


def heading(line):
    click.echo(click.style(line, bold=True))


def pairs(mapping, indent=''):
    """`name  value` lines, names aligned; nested objects flattened as parent.child."""
    flat = fields.flatten(mapping)
    width = max((len(name) for name in flat), default=0)
    for name, value in flat.items():
        padding = ' ' * (width - len(name) + 2)
        click.echo(f'{indent}{click.style(name, dim=True)}{padding}{coloured(value)}'.rstrip())


def table(rows, columns, indent=''):
    """Rows (dicts) under a header; `columns` is [(key, header)]; keys may be dotted paths."""
    cells = [[text(_dig(row, key)) for key, _ in columns] for row in rows]
    widths = [max([len(header)] + [len(line[i]) for line in cells]) for i, (_, header) in enumerate(columns)]
    click.echo(indent + click.style('  '.join(h.ljust(w) for (_, h), w in zip(columns, widths)).rstrip(),
                                    bold=True))
    for line in cells:
        padded = [coloured(cell, w) for cell, w in zip(line[:-1], widths)] + [coloured(line[-1])]
        click.echo(indent + '  '.join(padded))


def _dig(row, key):
    for part in key.split('.'):
        row = row.get(part) if isinstance(row, dict) else None
    return row
