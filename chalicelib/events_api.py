"""GET /events, GET /events/{id}, POST /events/{id}/resend (secret key)."""
import base64
import re

from chalicelib import clock, events, ordermodel
from chalicelib.errors import ApiError, invalid, not_found
from chalicelib.store import deliveries as delivery_store
from chalicelib.store import events as event_store

MAX_LIMIT = 100
_CURSOR = re.compile(r'\A[0-9TZ:.-]{27}#evt_[0-9a-f]{24}\Z')


def list_events(params):
    """Events oldest first; filters type, delivered, order_id or instance_id (a marketplace
    signId); `cursor` continues a listing."""
    limit = _limit(params.get('limit', '20'))
    after = _position(params.get('cursor'))
    wanted_type = params.get('type')
    delivered = _boolean(params.get('delivered'), 'delivered')

    def keep(item):
        if wanted_type and item['type'] != wanted_type:
            return False
        return delivered is None or (events.delivery_status(item) in ('delivered', 'no_endpoints')) == delivered

    found, last = event_store.listing(_subject(params), limit, after, keep)
    next_cursor = base64.urlsafe_b64encode(last.encode('ascii')).decode('ascii') if last else None
    return {'data': [events.view(item) for item in found], 'next_cursor': next_cursor,
            'has_more': next_cursor is not None}


def _subject(params):
    """The subject to list the events of: an order (by its id) or a marketplace instance."""
    if params.get('order_id'):
        out_trade_no = ordermodel.trade_no_of(params['order_id'])
        if out_trade_no is None:
            raise invalid('order_id is not an order id', 'order_id')
        return events.order_subject(out_trade_no)
    if params.get('instance_id'):
        return events.instance_subject(params['instance_id'])
    return None


def _position(cursor):
    """The listing position a cursor stands for (an opaque URL-safe token to callers)."""
    if cursor is None:
        return None
    try:
        position = base64.urlsafe_b64decode(cursor.encode('ascii')).decode('ascii')
    except (ValueError, UnicodeError):
        position = ''
    if not _CURSOR.match(position):
        raise invalid('cursor is not one this API returned', 'cursor')
    return position


def get_event(event_id):
    """The event with each delivery and every attempt (time, status, latency, response)."""
    records = event_store.records(event_id) if _valid_id(event_id) else []
    event = next((r for r in records if r['sk'] == 'EVENT'), None)
    if event is None:
        raise not_found(f'no event {event_id}')
    deliveries = [_delivery_view(r) for r in records if r['sk'].startswith('DELIVERY#')]
    attempts = [_attempt_view(r) for r in records if r['sk'].startswith('ATTEMPT#')]
    return {**events.view(event), 'deliveries': deliveries,
            'attempts': sorted(attempts, key=lambda a: (a['at'], a['number']))}


def resend(event_id):
    """Deliver the event again to every endpoint that wants it, starting now."""
    from chalicelib.webhooks import endpoints, queue
    view = get_event(event_id)
    wanted = endpoints.for_event(view['type'])
    if not wanted:
        raise ApiError(422, 'no_endpoints', f'no webhook endpoint takes {view["type"]} events')
    now = clock.rfc3339(clock.now())
    fresh = [{'event_id': event_id, 'endpoint_id': e.id, 'state': 'pending', 'attempts': 0,
              'due_at': now} for e in wanted]
    delivery_store.reset(event_id, fresh, {'endpoint_count': len(fresh), 'pending_deliveries': len(fresh),
                                           'failed_deliveries': 0})
    for delivery in fresh:
        queue.enqueue(event_id, delivery['endpoint_id'])
    return get_event(event_id)


def _limit(text):
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_LIMIT):
        raise invalid(f'limit must be 1-{MAX_LIMIT}', 'limit')
    return int(text)


def _boolean(text, field):
    if text is None:
        return None
    if text not in ('true', 'false'):
        raise invalid(f'{field} must be true or false', field)
    return text == 'true'


def _valid_id(event_id):
    return bool(re.match(r'\Aevt_[0-9a-f]{24}\Z', event_id or ''))


def _delivery_view(record):
    return {name: record.get(name) for name in (
        'endpoint_id', 'state', 'attempts', 'due_at', 'delivered_at', 'last_status', 'last_attempt_at')}


def _attempt_view(record):
    return {name: record.get(name) for name in (
        'endpoint_id', 'number', 'at', 'status', 'latency_ms', 'response')}
