"""`paygate reconcile`: run a day's reconciliation against a provider's bill, or show its report."""
from datetime import datetime, timedelta, timezone

import click

from paygate_cli import output
from paygate_cli.client import segment

CHINA = timezone(timedelta(hours=8))
LINE_COLUMNS = [('kind', 'kind'), ('outcome', 'outcome'), ('out_trade_no', 'out_trade_no'),
                ('bill_amount', 'bill'), ('here_amount', 'here'), ('here_status', 'status here'),
                ('detail', 'detail'), ('resolution', 'done')]


def today():
    """Today in China time (the providers' day); the local sandbox's bills are of today."""
    return datetime.now(CHINA).date().isoformat()


@click.command()
@click.argument('provider')
@click.option('--date', 'day', metavar='YYYY-MM-DD', help='The China day (default: today, as the local sandbox bills).')
@click.option('--show', 'show_only', is_flag=True, help="Show the day's report without running it again.")
@click.option('--outcome', help='Only lines of this outcome (missing_here, missing_there, ...).')
@click.pass_obj
def reconcile(ctx, provider, day, show_only, outcome):
    """Reconcile a provider's day against its bill (POST /reconciliations) and show the report
    (GET /reconciliations/{provider}/{date})."""
    day = day or today()
    paygate = ctx.paygate()
    if not show_only:
        paygate.call('POST', '/reconciliations', {'provider': provider, 'date': day})
    params = {'limit': 500, **({'outcome': outcome} if outcome else {})}
    report = paygate.call('GET', f'/reconciliations/{segment(provider)}/{segment(day)}', params=params)
    if ctx.json:
        output.as_json(report)
        return
    lines = report.pop('lines')
    output.pairs(report)
    click.echo()
    output.table(lines['data'], LINE_COLUMNS)
    if lines.get('has_more'):
        click.echo('more lines: GET /reconciliations/... with cursor ' + lines['next_cursor'])
