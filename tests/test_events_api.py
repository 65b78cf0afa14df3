"""GET /events, GET /events/{id}, POST /events/{id}/resend."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock, events, ordermodel
from tests import table
from tests.helpers import PUBLISHABLE, SECRET, body_json

ORDER_IDS = [ordermodel.new_order_id(f'trade{n}') for n in range(2)]


@pytest.fixture
def stored_events(paygate_env, client, monkeypatch):
    paygate_env.setenv('PAYGATE_WEBHOOKS', json.dumps([{'id': 'main', 'url': 'https://m.test/h',
                                                         'secrets': ['s'], 'events': ['order.*']}]))
    from chalicelib import settings
    settings.reset()
    made = []
    start = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    for n, kind in enumerate([events.ORDER_PAID, events.ORDER_CLOSED, events.ORDER_PAID,
                              events.INSTANCE_CREATED, events.ORDER_REFUNDED]):
        monkeypatch.setattr(clock, 'now', lambda n=n: start + timedelta(minutes=n))
        event = events.new_event(kind, {'order': {'order_id': ORDER_IDS[n % 2]}},
                                 events.order_subject(f'trade{n % 2}'))
        table.put_event(event)
        made.append(event)
    return made


def listing(client, query=''):
    response = client.http.get(f'/events{query}', headers=SECRET)
    assert response.status_code == 200, response.body
    return body_json(response)


def test_list_is_oldest_first_and_paginated(client, stored_events):
    first = listing(client, '?limit=2')
    assert [e['id'] for e in first['data']] == [e['id'] for e in stored_events[:2]]
    assert first['has_more']
    second = listing(client, f'?limit=2&cursor={first["next_cursor"]}')
    third = listing(client, f'?limit=2&cursor={second["next_cursor"]}')
    seen = [e['id'] for page in (first, second, third) for e in page['data']]
    assert seen == [e['id'] for e in stored_events]
    assert not third['has_more'] and third['next_cursor'] is None
    assert first['data'][0]['data'] == {'order': {'order_id': ORDER_IDS[0]}}


def test_filters(client, stored_events):
    paid = listing(client, '?type=order.paid')['data']
    assert [e['id'] for e in paid] == [stored_events[0]['id'], stored_events[2]['id']]
    by_order = listing(client, f'?order_id={ORDER_IDS[1]}')['data']
    assert [e['id'] for e in by_order] == [stored_events[1]['id'], stored_events[3]['id']]
    undelivered = listing(client, '?delivered=false')['data']
    assert [e['delivery_status'] for e in undelivered] == ['pending'] * 4
    delivered = listing(client, '?delivered=true')['data']
    assert [e['type'] for e in delivered] == ['instance.created']


def test_one_event_with_deliveries(client, stored_events):
    event = stored_events[0]
    shown = body_json(client.http.get(f'/events/{event["id"]}', headers=SECRET))
    assert shown['type'] == 'order.paid' and shown['delivery_status'] == 'pending'
    assert shown['deliveries'][0]['endpoint_id'] == 'main' and shown['attempts'] == []


@pytest.mark.parametrize('query', ['?limit=0', '?limit=101', '?limit=x', '?delivered=maybe', '?cursor=abc',
                                   '?order_id=ord_nope'])
def test_bad_listing_parameters_are_400(client, stored_events, query):
    response = client.http.get(f'/events{query}', headers=SECRET)
    assert response.status_code == 400 and body_json(response)['error']['code'] == 'invalid_request'


def test_unknown_events_and_credentials(client, stored_events):
    assert client.http.get('/events/evt_000000000000000000000000', headers=SECRET).status_code == 404
    assert client.http.get('/events/../orders', headers=SECRET).status_code in (403, 404)
    assert client.http.post('/events/evt_000000000000000000000000/resend', headers=SECRET,
                            body=b'').status_code == 404
    assert client.http.get('/events', headers=PUBLISHABLE).status_code == 403
    assert client.http.get('/events').status_code == 401
    resend = client.http.post(f'/events/{stored_events[3]["id"]}/resend', headers=SECRET, body=b'')
    assert resend.status_code == 422
