"""The marketplace signature (docs/cloudmarket.md#the-signature): vectors, round trip, and what POST /cloudmarket refuses."""
import hashlib
from datetime import timedelta

import pytest

from chalicelib.cloudmarket import signature
from tests.cloudmarket_fixtures import (NOW, deliver, frozen, items, php_signature,  # noqa: F401
                                        signed_query)
from tests.helpers import body_json

# Computed outside Python, twice: `printf '%s\n' T TS ID | LC_ALL=C sort | tr -d '\n' | sha256sum`
# and Node's crypto with Array.prototype.sort.
VECTORS = [
    ('paygate-test-token', '1763780000', '1447906768',
     '849d129cd3efbade4d3d412e1af0ae6c7943f9d10add97357702a111584d2c81'),
    # eventId with fewer digits than the timestamp: as strings "1763780000" < "987654321"
    ('paygate-test-token', '1763780000', '987654321',
     '336fbdfb109caa9acb480c60bca0c4a4172af9325df62b943a9cab5cf9d043a7'),
    ('0a-token', '1763780000', '99',
     'e7f12970cc111ccf4fbbfb07699eb04c5af35b1c248d4d4e17b78c490ea4462b'),
]
VERIFY = {'action': 'verifyInterface', 'echoback': 'hello'}


@pytest.mark.parametrize('token, timestamp, event_id, expected', VECTORS)
def test_signature_vectors(token, timestamp, event_id, expected):
    assert signature.sign(token, timestamp, event_id) == expected
    assert php_signature(token, timestamp, event_id) == expected


def test_sign_and_verify_round_trip():
    query = (('timestamp', '1763780000'), ('eventId', '42'),
             ('signature', signature.sign('tok', '1763780000', '42')))
    assert signature.verify(query, 'tok', NOW, 30) == ('1763780000', '42')
    with pytest.raises(signature.SignatureError):
        signature.verify(query, 'other-token', NOW, 30)


def test_a_valid_signature_is_accepted(client, frozen):
    response = deliver(client, VERIFY)
    assert response.status_code == 200
    assert body_json(response) == {'echoback': 'hello'}


def test_event_id_sorted_as_a_string_not_as_a_number(client, frozen):
    """eventId 987654321 has fewer digits than the timestamp: numeric order would put it first."""
    query = signed_query(event_id='987654321')
    assert query['signature'] == VECTORS[1][3]
    assert deliver(client, VERIFY, query).status_code == 200
    numeric = hashlib.sha256(b'9876543211763780000paygate-test-token').hexdigest()
    response = deliver(client, VERIFY, {**signed_query(event_id='987654321'), 'signature': numeric})
    assert response.status_code == 401


def test_the_unsorted_concatenation_of_the_widely_copied_sample_is_refused(client, frozen):
    """The C# sample's OrderBy result is discarded: timestamp + eventId + token, unsorted."""
    unsorted = hashlib.sha256(b'17637800001000paygate-test-token').hexdigest()
    query = {'signature': unsorted, 'timestamp': '1763780000', 'eventId': '1000'}
    assert deliver(client, VERIFY, query).status_code == 401
    assert deliver(client, VERIFY, signed_query(event_id='1000')).status_code == 200


@pytest.mark.parametrize('part', ['signature', 'timestamp', 'eventId'])
def test_each_altered_part_is_refused(client, frozen, part):
    query = signed_query(event_id='1447900001')
    query[part] = {'signature': 'f' * 64, 'timestamp': '1763780001', 'eventId': '1447900002'}[part]
    response = deliver(client, VERIFY, query)
    assert response.status_code == 401
    assert body_json(response)['error']['code'] == 'invalid_signature'


@pytest.mark.parametrize('seconds', [31, -31, 3600])
def test_timestamp_outside_thirty_seconds_is_refused(client, frozen, seconds):
    """31 s old (or ahead): refused even though correctly signed; the clock is Paygate's, injected."""
    query = signed_query(timestamp=int((NOW - timedelta(seconds=seconds)).timestamp()))
    response = deliver(client, VERIFY, query)
    assert response.status_code == 401
    assert body_json(response)['error']['code'] == 'stale_timestamp'


@pytest.mark.parametrize('seconds', [30, -30, 0])
def test_timestamp_within_thirty_seconds_is_accepted(client, frozen, seconds):
    query = signed_query(timestamp=int((NOW - timedelta(seconds=seconds)).timestamp()))
    assert deliver(client, VERIFY, query).status_code == 200


def test_the_window_follows_the_clock(client, frozen):
    query = signed_query()
    frozen.set(NOW + timedelta(seconds=31))
    assert deliver(client, VERIFY, query).status_code == 401


@pytest.mark.parametrize('missing', ['signature', 'timestamp', 'eventId'])
def test_a_missing_part_is_refused(client, frozen, missing):
    query = signed_query()
    del query[missing]
    response = deliver(client, VERIFY, query)
    assert response.status_code == 401
    assert missing in body_json(response)['error']['message']


def test_odd_values_are_refused_not_crashed_on(client, frozen):
    for query in ({'signature': 'x', 'timestamp': 'soon', 'eventId': '1'},
                  {**signed_query(), 'timestamp': '-1763780000'}):
        assert deliver(client, VERIFY, query).status_code == 401
    duplicated = '/cloudmarket?' + '&'.join(f'{k}={v}' for k, v in signed_query().items()) + '&eventId=2'
    response = client.http.post(duplicated, headers={'Content-Type': 'application/json'},
                                body=b'{"action": "verifyInterface", "echoback": "x"}')
    assert response.status_code == 401


def test_refused_deliveries_are_recorded_and_change_nothing(client, frozen):
    deliver(client, {'action': 'createInstance'}, signed_query(token='wrong'))
    [record] = items('CMEVENT#')
    assert record['pk']['S'].startswith('CMEVENT#refused#')
    assert record['verdict']['S'].startswith('invalid_signature')
    assert 'ttl' in record
    assert items('INSTANCE#') == [] and items('EVENT#') == []
