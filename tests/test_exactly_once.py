"""Exactly once, on a real DynamoDB: many copies of one notification at once, for every notify route.

The copies are sent over real HTTP to the app, which writes to DynamoDB Local
from as many threads: every copy is answered the provider's success, the order
is paid once, one event is made, and the notification is recorded once, as
applied. make test sends 50 copies; make reliability sends 200
(PAYGATE_CONCURRENT_COPIES).
"""
from types import SimpleNamespace

import pytest

from tests import reliability, table
from tests.contract_fixtures import client, env, kit, order  # noqa: F401 (fixtures)
from tests.helpers import send_concurrently, table_items


@pytest.fixture
def store(local_table, monkeypatch):
    """DynamoDB Local, given more time to answer than DynamoDB is, and each request more time than
    API Gateway gives (chalicelib/deadline.py): one JVM on two cores takes seconds per transaction
    under 200 at once, which would test its speed, not exactly-once."""
    from chalicelib import aws, deadline
    monkeypatch.setattr(aws, 'READ_TIMEOUT', 30)
    monkeypatch.setattr(deadline, 'API_GATEWAY_LIMIT', 120)
    aws.reset()
    return local_table


def test_concurrent_duplicates_are_answered_alike_and_pay_once(kit, env, client, order):
    sent = kit.paid(env, order)
    copies = reliability.CONCURRENT_COPIES
    answers = send_concurrently(sent.method, sent.path, sent.body, sent.headers, copies)
    assert len(set(answers)) == 1, set(answers)
    status, text = answers[0]
    assert kit.success(SimpleNamespace(status_code=status, body=text.encode())), answers[0]
    stored = table.order(order['order_id'])
    assert (stored['status'], stored['version']) == ('PAID', 2)
    assert len(table_items('EVENT#')) == 1
    [record] = table_items('NOTIFY#')
    assert record['verdict']['S'] == 'applied'
    reliability.add('concurrent duplicates (DynamoDB Local)', f'/notify/{kit.route}', copies,
                    'answered alike', 'paid once, one event')
