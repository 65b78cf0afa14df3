"""Reconciliation (对账): each day, Paygate's books against the providers' bills (docs/reconciliation.md).

matching (pure: bill lines and books in, lines with outcomes out), books (what
Paygate recorded on a day), service (a day's run, the daily schedule), api
(POST /reconciliations, GET /reconciliations/{provider}/{date}).
"""
