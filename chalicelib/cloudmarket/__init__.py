"""Tencent Cloud Marketplace SaaS delivery (云市场 自动交付), docs/cloudmarket.md.

signature.py   the marketplace's SHA-256 signature over token/timestamp/eventId
dispatcher.py  POST /cloudmarket: the six actions, answered once per eventId
instances.py   SaaS instance records, expiry arithmetic, exactly-once changes
login.py       free-login tokens (authUrl) and the merchant's signed assertion
"""
