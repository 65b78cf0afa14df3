"""The checks a provider's verified report must pass against our order, and the record of a refusal.

A notification names an order (its out_trade_no) and says things of it: the
provider, the amount, facts the provider knows (Expect). Each is a
Requirement; the write that applies the notification carries them as its
condition, and a refusal is explained by the first one the order does not
meet, in the order given here.
"""
import logging
from dataclasses import dataclass

from chalicelib.providers.contract import Rejected
from chalicelib.store import notifications

log = logging.getLogger('paygate.notify')

IGNORED = 'ignored'


@dataclass(frozen=True)
class Requirement:
    """What the order must hold for a change: `field` among `allowed` (None: or absent); else Rejected(code)."""
    field: str
    allowed: tuple
    code: str
    param: str = None

    def met_by(self, order):
        value = order
        for part in self.field.split('.'):
            value = value.get(part) if isinstance(value, dict) else None
        return value in self.allowed


def requirements(provider_name, note):
    """Everything the order is checked for, in the order a refusal is explained."""
    found = [Requirement('provider', (provider_name,), Rejected.UNKNOWN_ORDER)]
    found += [Requirement(f'provider_data.{fact.field}', (fact.value, None) if fact.or_absent else (fact.value,),
                          fact.code, fact.param)
              for fact in note.expected]
    if note.amount is not None:
        found.append(Requirement('amount', (note.amount,), Rejected.AMOUNT))
    return found


def explain(record, note, order, required):
    """Raise (after recording it) the Rejected for the first requirement `order` does not meet;
    return when it meets them all."""
    if order is None:
        reject(record, Rejected(Rejected.UNKNOWN_ORDER, f'no order with out_trade_no {note.out_trade_no}'))
    unmet = next((check for check in required if not check.met_by(order)), None)
    if unmet is not None:
        reject(record, Rejected(unmet.code, f'{unmet.field} of order {order["order_id"]} is not what the '
                                            f'notification says', unmet.param))


def reject(record, rejected):
    """Record a notification refused after verification, log why, and raise the refusal."""
    log.warning('%s notification %s rejected: %s', record['provider'], record['key'], rejected.message,
                extra={'provider': record['provider'], 'event_id': record['key'],
                       'out_trade_no': record.get('out_trade_no'), 'outcome': f'rejected: {rejected.code}'})
    notifications.record({**record, 'verdict': 'rejected', 'reason': f'{rejected.code}: {rejected.message}'})
    raise rejected
