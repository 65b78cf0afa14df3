"""Reconciling one provider's China day, and every enabled provider's yesterday.

run(provider, day): download the provider's bill (a provider without a bill
API: Paygate's books alone), read what Paygate recorded that day, match them,
settle what can be settled (a payment missing here is queried at the provider
and, when it confirms, applied as its notification would have been: exactly
once, with its order.paid), keep the report in place of the day's earlier one,
and announce it: reconciliation.completed, and reconciliation.mismatch when a
line is anything but matched.

A line an earlier run of the same day settled keeps the outcome it was found
with, so running a day again gives the same report. One run of a day at a
time: a second one meanwhile is refused (Running).
"""
import logging
import secrets
from datetime import date as Date

from chalicelib import aws, clock, deadline, events, notifications, payments, providers, settings
from chalicelib.errors import ProviderError
from chalicelib.providers import bill as bills
from chalicelib.providers.contract import PAID, Billable, Queryable, Refusal
from chalicelib.reconciliation import books, matching
from chalicelib.store import dynamo
from chalicelib.store import events as event_store
from chalicelib.store import reconciliations as report_store

log = logging.getLogger('paygate.reconciliation')

COMPLETED, NO_BILL, NO_BILL_API = 'completed', 'no_bill', 'no_bill_api'
APPLIED = 'paid here now: order.paid sent'
RECONCILIATION_COMPLETED = 'reconciliation.completed'
RECONCILIATION_MISMATCH = 'reconciliation.mismatch'
# Longer than any function runs (15 minutes): a run that dies frees its day when this lapses.
LEASE_SECONDS = 900


class Running(Exception):
    """Another run of the same day is under way."""


def run(provider_name, day):
    """Reconcile `provider_name`'s China day `day` (YYYY-MM-DD); the report. Raises ProviderError
    (code `not_ready` while the provider has not published the bill), Running."""
    run_id = secrets.token_hex(8)
    if not report_store.claim(provider_name, day, run_id, int(clock.now().timestamp()), LEASE_SECONDS):
        raise Running(f'{provider_name} {day} is being reconciled already')
    try:
        with deadline.keeping(aws.REQUEST_WORST):
            report = _reconcile(provider_name, day, run_id)
    finally:
        report_store.release(provider_name, day, run_id)
    _announce(report)
    log.info('reconciled %s %s: %s', provider_name, day, report['outcomes'],
             extra={'provider': provider_name, 'outcome': report['status']})
    return report


def _reconcile(provider_name, day, run_id):
    bill = _bill(provider_name, day)
    recorded = books.recorded(provider_name, day)
    book = books.read(bill.lines if bill else (), recorded)
    if bill is None:
        lines = matching.here_only(recorded, book)
    else:
        lines = matching.match(provider_name, bill.lines, book, recorded, _billed_before(provider_name, day, recorded))
    lines = _as_found_before(lines, report_store.lines(provider_name, day))
    _settle(provider_name, lines, book)
    report = _report(provider_name, day, run_id, bill, lines)
    report_store.replace(report, lines)
    return report


def run_yesterday():
    """Reconcile yesterday (China time) for every enabled provider; {provider: status or error}.
    Raises ProviderError afterwards when a bill was not ready, so the invocation is retried."""
    day = books.previous_day(clock.now().astimezone(bills.CHINA).date().isoformat())
    done, not_ready = {}, []
    for name in settings.get().providers:
        try:
            done[name] = run(name, day)['status']
        except Running:
            done[name] = 'running elsewhere'
        except ProviderError as exc:
            log.warning('reconciliation of %s %s: %s', name, day, exc, extra={'provider': name, 'outcome': 'error'})
            done[name] = f'error: {exc}'
            if exc.code == bills.NOT_READY:
                not_ready.append(name)
    if not_ready:
        raise ProviderError(f'bills of {day} not published yet: {", ".join(not_ready)}', bills.NOT_READY, True)
    return done


def check_day(day):
    """`day` if it is a YYYY-MM-DD China day that has begun; ValueError otherwise."""
    bills.check_date(day)
    if Date.fromisoformat(day) > clock.now().astimezone(bills.CHINA).date():
        raise ValueError(f'{day} has not begun yet (China time)')
    return day


def _bill(provider_name, day):
    """The provider's Bill or NoBill of the day; None when the provider publishes none."""
    provider = providers.capable(provider_name, Billable)
    return provider.download_bill(day) if provider else None


def _billed_before(provider_name, day, recorded):
    """Keys of the day's records that the previous day's report found in its bill."""
    earlier = report_store.lines_named(provider_name, books.previous_day(day),
                                       [matching.key_of(entry) for entry in recorded])
    return {line['key'] for line in earlier if line.get('bill_amount') is not None}


def _as_found_before(lines, previous):
    """A line an earlier run settled (it found the payment missing and acted) stays as that run found
    it, where the books now agree."""
    settled = {line['key']: line for line in previous if line.get('resolution')}
    return [{name: settled[line['key']].get(name) for name in line}
            if line['key'] in settled and line['outcome'] == matching.MATCHED else line for line in lines]


def _settle(provider_name, lines, book):
    """Ask the provider about each payment missing here whose order is open, and apply its answer."""
    provider = providers.capable(provider_name, Queryable)
    for line in lines:
        order = book.orders.get(line['out_trade_no'])
        if line['outcome'] != matching.MISSING_HERE or line['resolution'] or provider is None or order is None \
                or order['provider'] != provider_name:
            continue
        line['resolution'] = _query_and_apply(provider_name, provider, order)


def _query_and_apply(provider_name, provider, order):
    try:
        note = provider.query(order)
    except (ProviderError, Refusal) as exc:
        return f'query failed ({exc}): run the day again'
    if note is None or note.kind != PAID:
        return 'the provider says it is not paid'
    outcome = notifications.apply_query_result(provider_name, note)
    log.warning('order %s paid at %s but not here: %s', order['order_id'], provider_name, outcome,
                extra={'provider': provider_name, 'order_id': order['order_id'], 'outcome': f'reconciled: {outcome}'})
    if outcome == payments.APPLIED:
        return APPLIED
    return f'not applied ({outcome}): see the notification log'


def _report(provider_name, day, run_id, bill, lines):
    status = NO_BILL_API if bill is None else NO_BILL if isinstance(bill, bills.NoBill) else COMPLETED
    outcomes = matching.totals(lines)
    off = sum(found['count'] for outcome, found in outcomes.items()
              if outcome not in (matching.MATCHED, matching.HERE_ONLY))
    return {'provider': provider_name, 'date': day, 'status': status, 'run_id': run_id,
            'reconciled_at': clock.rfc3339(clock.now()), 'outcomes': outcomes, 'mismatches': off,
            'bill': _bill_totals(bill) if bill is not None else None}


def _bill_totals(bill):
    """What the bill's lines add up to, and whether that agrees with the bill's own summary."""
    done = [line for line in bill.lines if line.succeeded]
    payments_total = sum(line.amount for line in done if line.kind == bills.PAYMENT)
    refunds_total = sum(line.amount for line in done if line.kind == bills.REFUND)
    fee = sum(line.fee for line in bill.lines)
    return {'lines': len(bill.lines), 'payments': payments_total, 'refunds': refunds_total, 'fee': fee,
            'net': payments_total - refunds_total - fee, 'stated': dict(bill.totals),
            'agrees': bill.totals.get('count') == len(bill.lines) and bill.totals.get('fee') == fee}


def _announce(report):
    """reconciliation.completed, and reconciliation.mismatch when anything is off, to the webhooks."""
    subject = f'RECON#{report["provider"]}#{report["date"]}'
    data = {'reconciliation': view(report)}
    types = [RECONCILIATION_COMPLETED] + ([RECONCILIATION_MISMATCH] if report['mismatches'] else [])
    for event_type in types:
        dynamo.transact(event_store.items(events.new_event(event_type, data, subject)))


def view(report):
    """The report as the API shows it (without its lines)."""
    return {name: report.get(name) for name in ('provider', 'date', 'status', 'reconciled_at', 'outcomes',
                                                 'mismatches', 'bill')}
