"""Reconciliation reports in the table: one per provider and China day, with its lines.

Items:
  RECON#<provider>#<date> / REPORT        the report: status, totals, the run that made it
  RECON#<provider>#<date> / LINE#<key>    one bill line or Paygate record, with its outcome
  RECON#<provider>#<date> / RUN           the lease of the run under way (one run of a day at a time)

Running a day again replaces its report: the new run's lines are written
(over the old ones of the same key), the old run's other lines are deleted,
then the report names the new run. A listing shows the lines of the run the
report names, so a reader never mixes two runs.
"""
from chalicelib.store import dynamo

REPORT = 'REPORT'
LINE = 'LINE#'
RUN = 'RUN'


def _pk(provider, day):
    return f'RECON#{provider}#{day}'


def claim(provider, day, run_id, now, seconds):
    """Take the day's run lease for `seconds` from `now` (epoch seconds); False while another run
    holds it. A run that dies leaves it to lapse."""
    expression = dynamo.Expression()
    lease = expression.name('lease_until')
    condition = f'attribute_not_exists(pk) OR {lease} < {expression.value(now)}'
    item = {'pk': _pk(provider, day), 'sk': RUN, 'run_id': run_id, 'lease_until': now + seconds,
            'ttl': now + seconds + 86400}
    try:
        dynamo.write_put(dynamo.put(item, condition, expression))
    except dynamo.ConditionFailed:
        return False
    return True


def release(provider, day, run_id):
    """Give the lease back (if it is still this run's)."""
    expression = dynamo.Expression()
    try:
        dynamo.write_delete(dynamo.delete(dynamo.key(_pk(provider, day), RUN), expression.equals('run_id', run_id),
                                          expression))
    except dynamo.ConditionFailed:
        pass


def get(provider, day):
    return dynamo.get(dynamo.key(_pk(provider, day), REPORT))


def lines(provider, day, run_id=None):
    """Every line of the day's report (of run `run_id` when given), in key order."""
    return dynamo.query(_lines_request(provider, day),
                        keep=None if run_id is None else (lambda item: item.get('run_id') == run_id))


def page(provider, day, run_id, after=None, limit=100, outcome=None):
    """(lines after the key `after`, at most `limit`, of run `run_id` and `outcome` when given;
    the last one's key when more may follow)."""
    request = _lines_request(provider, day, after)

    def keep(item):
        return item['sk'].startswith(LINE) and item.get('run_id') == run_id and outcome in (None, item['outcome'])

    found = dynamo.query(request, max_items=limit + 1, keep=keep)
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1]['key'] if more and found else None)


def lines_named(provider, day, keys):
    """The lines of the day's report with these keys (whatever run wrote them)."""
    return dynamo.get_many([dynamo.key(_pk(provider, day), LINE + key) for key in keys])


def replace(report, new_lines):
    """Make `report` (with its run_id) and `new_lines` the day's report, dropping the old run's lines."""
    provider, day, run_id = report['provider'], report['date'], report['run_id']
    pk = _pk(provider, day)
    dynamo.put_many([{**line, 'pk': pk, 'sk': LINE + line['key'], 'run_id': run_id} for line in new_lines])
    stale = [item for item in lines(provider, day) if item['run_id'] != run_id]
    dynamo.delete_many([dynamo.key(pk, item['sk']) for item in stale])
    dynamo.put_many([{**report, 'pk': pk, 'sk': REPORT}])


def _lines_request(provider, day, after=None):
    values = {':pk': {'S': _pk(provider, day)}, ':from': {'S': LINE + after if after else LINE}}
    condition = 'pk = :pk AND sk > :from' if after else 'pk = :pk AND begins_with(sk, :from)'
    return {'KeyConditionExpression': condition, 'ExpressionAttributeValues': values}
