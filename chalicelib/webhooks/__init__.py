"""Merchant webhooks: every event reaches every endpoint that wants it, signed, retried."""
