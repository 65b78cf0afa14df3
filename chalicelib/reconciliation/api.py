"""POST /reconciliations (run one day now) and GET /reconciliations/{provider}/{date} (its report)."""
import base64
import binascii

from chalicelib import settings
from chalicelib.errors import ApiError, ProviderError, invalid, not_found
from chalicelib.providers import bill as bills
from chalicelib.reconciliation import matching, service
from chalicelib.store import reconciliations as report_store

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
LINE_FIELDS = ('kind', 'outcome', 'detail', 'out_trade_no', 'order_id', 'provider_trade_no', 'refund_no',
               'bill_amount', 'bill_fee', 'bill_status', 'bill_time', 'here_amount', 'here_status', 'resolution')


def start(body):
    """Reconcile {provider, date} now; the report (its lines: GET)."""
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object: {"provider": ..., "date": "YYYY-MM-DD"}')
    provider = _enabled(body.get('provider'))
    day = _day(body.get('date'))
    try:
        return service.view(service.run(provider, day))
    except service.Running:
        raise ApiError(409, 'reconciliation_running', f'{provider} {day} is being reconciled now; '
                                                      'ask for its report in a minute') from None
    except ProviderError as exc:
        if exc.code == bills.NOT_READY:
            raise ApiError(409, 'bill_not_ready', f'{provider} has not published its bill of {day} yet; '
                                                  'try again later') from None
        raise


def report(provider, day, params):
    """The day's report with a page of its lines (`outcome` filters, `cursor` continues)."""
    found = report_store.get(provider, day) if provider in settings.get().providers and _is_day(day) else None
    if found is None:
        raise not_found(f'no reconciliation of {provider[:40]} for {day[:40]}: POST /reconciliations runs one')
    limit = _limit(params.get('limit'))
    outcome = params.get('outcome')
    if outcome is not None and outcome not in matching.OUTCOMES:
        raise invalid(f'outcome must be one of {", ".join(matching.OUTCOMES)}', 'outcome', matching.OUTCOMES)
    lines, last = report_store.page(provider, day, found['run_id'], _after(params.get('cursor')), limit, outcome)
    cursor = base64.urlsafe_b64encode(last.encode('utf-8')).decode('ascii') if last else None
    return {**service.view(found), 'lines': {'data': [{name: line.get(name) for name in LINE_FIELDS}
                                                      for line in lines],
                                             'next_cursor': cursor, 'has_more': cursor is not None}}


def _enabled(provider):
    enabled = list(settings.get().providers)
    if not isinstance(provider, str) or provider not in enabled:
        raise ApiError(400, 'provider_not_enabled', f'provider must be one this stage enables: {", ".join(enabled)}',
                       'provider', enabled)
    return provider


def _day(day):
    try:
        return service.check_day(day)
    except ValueError as exc:
        raise invalid(f'date: {exc}', 'date') from None


def _is_day(day):
    try:
        bills.check_date(day)
    except ValueError:
        return False
    return True


def _limit(text):
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_LIMIT):
        raise invalid(f'limit must be an integer from 1 to {MAX_LIMIT}', 'limit')
    return int(text)


def _after(cursor):
    """The line key a cursor stands for (opaque to callers)."""
    if cursor is None:
        return None
    try:
        key = base64.urlsafe_b64decode(cursor.encode('ascii')).decode('utf-8')
    except (ValueError, UnicodeError, binascii.Error):
        key = ''
    if not key.startswith((bills.PAYMENT + '#', bills.REFUND + '#')) or len(key.encode('utf-8')) > matching.MAX_KEY:
        raise invalid('cursor is not one this API returned', 'cursor')
    return key
