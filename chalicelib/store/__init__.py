"""Paygate's one DynamoDB table, by aggregate, over one thin layer (dynamo.py).

  orders.py         orders, their refunds, Idempotency-Keys, provider lookups
  notifications.py  inbound notifications, raw, with their verdicts
  events.py         events for the merchant's webhooks
  deliveries.py     webhook deliveries, leases and attempts
  instances.py      Cloud Marketplace instances and the deliveries that made them
  keys.py           providers' key material cached in the table
  work.py           the `work` index of due items
Single table: every item has `pk` and `sk` (docs/architecture.md has the design).
"""
