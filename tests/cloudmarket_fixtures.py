"""Requests as Tencent Cloud Marketplace sends them, signed independently of chalicelib.

The signer follows the marketplace document's PHP checkSignature
(docs/cloudmarket.md#the-signature): $arr = [$token, $timestamp, $eventId];
sort($arr, SORT_STRING) (byte order); hash('sha256', implode($arr)).
"""
import hashlib
import itertools
import json
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

from chalicelib import aws, clock, settings
from tests.conftest import CLOUDMARKET_TOKEN

NOW = datetime.fromtimestamp(1763780000, timezone.utc)   # 2025-11-22T02:53:20Z
JSON = {'Content-Type': 'application/json'}
_event_ids = itertools.count(1447906768)


def php_signature(token, timestamp, event_id):
    ordered = sorted([token, timestamp, event_id], key=lambda part: part.encode('utf-8'))
    return hashlib.sha256(''.join(ordered).encode('utf-8')).hexdigest()


def signed_query(timestamp=None, event_id=None, token=CLOUDMARKET_TOKEN):
    timestamp = str(int(NOW.timestamp()) if timestamp is None else timestamp)
    event_id = str(next(_event_ids) if event_id is None else event_id)
    return {'signature': php_signature(token, timestamp, event_id), 'timestamp': timestamp,
            'eventId': event_id}


def deliver(client, body, query=None, headers=JSON, raw=None):
    """POST a delivery to /cloudmarket the way the marketplace does."""
    query = signed_query() if query is None else query
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode('utf-8')
    return client.http.post('/cloudmarket?' + urlencode(query), headers=headers, body=data)


def create_body(order_id='MK20251122000001', **info):
    product_info = {'productName': 'Paygate SaaS', 'isTrial': False, 'spec': 'standard',
                    'timeSpan': 1, 'timeUnit': 'm', **info}
    return {'action': 'createInstance', 'orderId': order_id, 'openId': 'openid-123',
            'productId': '1001', 'requestId': 'req-1', 'productInfo': product_info}


def items(prefix):
    found = aws.client('dynamodb').scan(TableName=settings.get().table_name)['Items']
    return [item for item in found if item['pk']['S'].startswith(prefix)]


def event_payloads():
    from tests.helpers import event_bodies
    return event_bodies()


@pytest.fixture
def frozen(monkeypatch):
    """Paygate's clock stopped at NOW; the test moves it with frozen.set(...)."""
    class Frozen:
        moment = NOW

        def set(self, moment):
            self.moment = moment

    state = Frozen()
    monkeypatch.setattr(clock, 'now', lambda: state.moment)
    return state
