import json

import pytest

from chalicelib import catalog


def parse(entries):
    return catalog.parse(json.dumps(entries))


def test_sample_catalog_loads_with_extras():
    products = catalog.get()
    gold = products.get('gold_60')
    assert (gold.name, gold.price) == ('60 金币', 600)
    assert gold.extras('midas')['item_id'] == 'g001'
    assert gold.extras('alipay') == {}
    assert products.get('nope') is None


@pytest.mark.parametrize('entries, message', [
    ([{'id': 'a', 'name': 'A', 'price': 1}, {'id': 'a', 'name': 'B', 'price': 2}], 'duplicate'),
    ([{'id': 'a', 'name': 'A', 'price': 0}], 'positive integer'),
    ([{'id': 'a', 'name': 'A', 'price': -5}], 'positive integer'),
    ([{'id': 'a', 'name': 'A', 'price': 1.5}], 'positive integer'),
    ([{'id': 'a', 'name': 'A', 'price': '100'}], 'positive integer'),
    ([{'id': 'a', 'name': 'A', 'price': True}], 'positive integer'),
    ([{'id': '', 'name': 'A', 'price': 1}], 'id'),
    ([{'id': 'a', 'price': 1}], 'name'),
    ([{'id': 'a', 'name': 'A', 'price': 1, 'providers': {'midas': 'g001'}}], 'providers'),
    ([], 'non-empty'),
    ({'id': 'a'}, 'non-empty'),
])
def test_invalid_catalogs_are_refused_at_load(entries, message):
    with pytest.raises(catalog.CatalogError, match=message):
        parse(entries)


def test_catalog_from_inline_json_and_missing_file(paygate_env):
    assert len(catalog.load('[{"id": "x", "name": "X", "price": 5}]')) == 1
    with pytest.raises(catalog.CatalogError, match='cannot read'):
        catalog.load('file:does/not/exist.json')
