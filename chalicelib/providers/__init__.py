"""The provider registry: which module serves each provider and notify route, and what it can do.

Every provider module has the same shape (providers/contract.py): NAME,
OUT_TRADE_NO, CAPABILITIES, validate_payer, create, and the notification half
(notification_keys, parse_notification, SUCCESS, failure), plus the functions
of the capabilities it lists. A provider with several notification formats
(WeChat Pay v2 XML and v3 JSON) serves each notify route from its own module
with the notification half; NOTIFY_ROUTES says which.

Bills (bill.py) are the providers' daily statements, for reconciliation.

A module is imported only when a request needs it, so one provider's
notification route never pays for another provider's imports.
"""
import importlib

MODULES = {
    'codepay': 'chalicelib.providers.codepay',
    'alipay': 'chalicelib.providers.alipay',
    'midas': 'chalicelib.providers.midas',
    'wechatpay': 'chalicelib.providers.wechatpay',
}

NOTIFY_ROUTES = {
    'codepay': 'chalicelib.providers.codepay.notify',
    'alipay': 'chalicelib.providers.alipay.notify',
    'midas': 'chalicelib.providers.midas.notify',
    'wechatpay': 'chalicelib.providers.wechatpay.notify_v2',
    'wechatpay/v3': 'chalicelib.providers.wechatpay.notify_v3',
}


def load(name):
    """The module of provider `name` (contract.Provider)."""
    return importlib.import_module(MODULES[name])


def load_notify(route):
    """The module that verifies and answers notifications on /notify/<route> (contract.Notifier)."""
    return importlib.import_module(NOTIFY_ROUTES[route])


def capable(name, capability):
    """Provider `name`'s module when it lists `capability` (a contract protocol), else None."""
    module = load(name)
    return module if capability in module.CAPABILITIES else None

