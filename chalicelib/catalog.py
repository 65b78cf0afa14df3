"""The product catalog: the only source of prices.

`PAYGATE_CATALOG` holds the catalog as inline JSON, as `file:<path>` (relative
to the project root, so it is bundled with the Lambda), or as an SSM / Secrets
Manager reference. The catalog is a JSON list of products:

    {"id": "gold_60", "name": "60 gold", "price": 600,
     "description": "optional",
     "providers": {"midas": {"item_id": "g001"}}}

`price` is integer fen; `providers` holds per-provider extras.
"""
import json
from dataclasses import dataclass, field
from types import MappingProxyType

from chalicelib import settings


class CatalogError(settings.SettingsError):
    """The catalog will not do; a settings problem like any other (PAYGATE_CATALOG)."""


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    price: int
    description: str = ''
    providers: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def extras(self, provider_name):
        return self.providers.get(provider_name, {})


class Catalog:
    def __init__(self, products):
        self._products = {}
        for product in products:
            if product.id in self._products:
                raise CatalogError(f'duplicate product id {product.id!r}')
            self._products[product.id] = product

    def get(self, product_id):
        return self._products.get(product_id)

    def __iter__(self):
        return iter(self._products.values())

    def __len__(self):
        return len(self._products)


def parse(text):
    """Build a Catalog from its JSON text, refusing anything ambiguous."""
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise CatalogError(f'catalog is not valid JSON: {exc}') from None
    if not isinstance(entries, list) or not entries:
        raise CatalogError('catalog must be a non-empty JSON list of products')
    return Catalog(_product(entry, index) for index, entry in enumerate(entries))


def _product(entry, index):
    if not isinstance(entry, dict):
        raise CatalogError(f'product #{index} is not an object')
    product_id, name, price = entry.get('id'), entry.get('name'), entry.get('price')
    if not isinstance(product_id, str) or not product_id.strip():
        raise CatalogError(f'product #{index} needs a non-empty string id')
    if not isinstance(name, str) or not name.strip():
        raise CatalogError(f'product {product_id!r} needs a non-empty name')
    if isinstance(price, bool) or not isinstance(price, int) or price <= 0:
        raise CatalogError(f'product {product_id!r}: price must be a positive integer (fen)')
    extras = entry.get('providers', {})
    if not isinstance(extras, dict) or not all(isinstance(v, dict) for v in extras.values()):
        raise CatalogError(f'product {product_id!r}: providers must map provider names to objects')
    return Product(id=product_id, name=name, price=price,
                   description=str(entry.get('description', '')),
                   providers=MappingProxyType({k: MappingProxyType(v) for k, v in extras.items()}))


def load(source):
    """The catalog at `source` (PAYGATE_CATALOG's value); CatalogError naming the setting otherwise."""
    try:
        return parse(settings.resolve(source))
    except settings.SettingsError as exc:
        raise CatalogError(f'setting PAYGATE_CATALOG: {exc}') from None


_catalog = None


def get():
    """The catalog of this container, loaded and validated once."""
    global _catalog
    if _catalog is None:
        _catalog = load(settings.get().catalog_source)
    return _catalog


def reset():
    global _catalog
    _catalog = None
