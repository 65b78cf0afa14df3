"""Paygate: everything but the routes. Importable without Chalice running."""
