"""Paygate-Signature: format, rotation, and the merchant's verification helper."""
import hashlib
import hmac

import pytest

from chalicelib.settings import SettingsError
from chalicelib.webhooks import endpoints, signature

PAYLOAD = b'{"id":"evt_1","type":"order.paid"}'


def independent(secret, timestamp, payload):
    return hmac.new(secret.encode(), f'{timestamp}.'.encode() + payload, hashlib.sha256).hexdigest()


def test_header_format_pinned():
    assert signature.header(PAYLOAD, ['whsec_a'], 1763798400) == (
        f't=1763798400,v1={independent("whsec_a", 1763798400, PAYLOAD)}')


def test_rotation_sends_one_v1_per_secret_and_either_verifies():
    header = signature.header(PAYLOAD, ['whsec_new', 'whsec_old'], 1763798400)
    assert header.count('v1=') == 2
    for secret in ('whsec_new', 'whsec_old'):
        assert signature.verify(PAYLOAD, header, secret, now=1763798400)
    assert not signature.verify(PAYLOAD, header, 'whsec_other', now=1763798400)


@pytest.mark.parametrize('payload, header, now, valid', [
    (PAYLOAD, None, 1000, True),
    (PAYLOAD + b' ', None, 1000, False),
    (PAYLOAD, None, 1000 + 300, True),
    (PAYLOAD, None, 1000 + 301, False),
    (PAYLOAD, None, 1000 - 301, False),
    (PAYLOAD, 't=1000', 1000, False),
    (PAYLOAD, 'v1=' + independent('whsec_a', 1000, PAYLOAD), 1000, False),
    (PAYLOAD, 't=abc,v1=' + independent('whsec_a', 1000, PAYLOAD), 1000, False),
    (PAYLOAD, 't=1001,v1=' + independent('whsec_a', 1000, PAYLOAD), 1001, False),
    (PAYLOAD, '', 1000, False),
])
def test_verify_helper(payload, header, now, valid):
    header = signature.header(PAYLOAD, ['whsec_a'], 1000) if header is None else header
    assert signature.verify(payload, header, 'whsec_a', now=now) is valid


def test_endpoint_patterns():
    endpoint = endpoints.Endpoint('e', 'https://m.test', ('s',), ('order.*', 'instance.created'))
    assert endpoint.wants('order.paid') and endpoint.wants('instance.created')
    assert not endpoint.wants('instance.destroyed') and not endpoint.wants('orderX.paid')


@pytest.mark.parametrize('config', [
    'not json', '{}', '[{"url": "https://m.test", "secrets": ["s"]}]',
    '[{"id": "a", "url": "http://m.test/hook", "secrets": ["s"]}]',
    '[{"id": "a", "url": "https://m.test", "secrets": []}]',
    '[{"id": "a", "url": "https://m.test", "secrets": ["s"], "events": "order.paid"}]',
    '[{"id": "a", "url": "https://m.test", "secrets": ["s"]}, {"id": "a", "url": "https://n.test", "secrets": ["t"]}]',
])
def test_bad_endpoint_configuration_names_the_setting(config):
    with pytest.raises(SettingsError, match='PAYGATE_WEBHOOKS'):
        endpoints.parse(config)
