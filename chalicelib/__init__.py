"""Paygate: everything but the routes. Importable without Chalice running.

VERSION is Paygate's version, the latest release in CHANGELOG.md; pyproject.toml reads it from here."""
VERSION = '0.1.0'
