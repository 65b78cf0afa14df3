"""Small pieces both WeChat Pay API versions use."""
import re
import secrets
from datetime import timedelta, timezone
from urllib.parse import quote

from chalicelib import clock, qrimage, settings
from chalicelib.errors import ProviderError
from chalicelib.providers.contract import NOTHING, Expect, Notification, Rejected

NAME = 'wechatpay'
# The scenes: a mini program (wx.requestPayment), a mobile app (the WeChat SDK's PayReq), a QR code the
# buyer scans (Native), a mobile browser outside WeChat (H5).
JSAPI, APP, NATIVE, H5 = 'jsapi', 'app', 'native', 'h5'
BEIJING = timezone(timedelta(hours=8), 'CST')
CERT_SERIAL = re.compile(r'\A[0-9A-Fa-f]{1,64}\Z')


def config():
    return settings.get().provider(NAME)


def appid_for(scene):
    """The appid an order of `scene` is made with: the mobile app's for APP, else the mini program's."""
    wechatpay = config()
    return wechatpay.app_appid if scene == APP else wechatpay.appid


def appid_of(order):
    """The appid `order` was made with (an order from before scenes: the mini program's)."""
    return (order.get('provider_data') or {}).get('appid') or config().appid


def made_with(appid, appids):
    """The fact a notification carrying `appid` needs of its order: made with that appid. An order
    from before scenes keeps none; it was made with the mini program's appid (`appids[0]`)."""
    return (Expect('appid', appid, Rejected.MERCHANT, or_absent=appid == appids[0]),)


def our_appids(wechatpay):
    """Every appid of ours a notification may carry."""
    return tuple(appid for appid in (wechatpay.appid, wechatpay.app_appid) if appid)


def native_params(code_url):
    """A Native order's client params: the code URL, and its QR code as a PNG data URL to show as it is."""
    try:
        return {'code_url': code_url, 'qr_png': qrimage.png_data_url(code_url)}
    except ValueError as exc:
        raise ProviderError(f'WeChat Pay answered an unusable code_url: {exc}') from None


def with_redirect(h5_url, return_url):
    """An H5 payment URL that sends the buyer to `return_url` afterwards (its `redirect_url`)."""
    if not return_url:
        return h5_url
    return f'{h5_url}{"&" if "?" in h5_url else "?"}redirect_url={quote(return_url, safe="")}'


def nonce():
    """32 random characters, the longest nonce_str v2 accepts."""
    return secrets.token_hex(16).upper()


def timestamp():
    """Unix seconds as a string (wx.requestPayment's timeStamp; never milliseconds)."""
    return str(int(clock.now().timestamp()))


def beijing(rfc3339_utc):
    """An order time (RFC 3339 UTC) in Beijing time, as WeChat Pay's time fields are."""
    return clock.parse_rfc3339(rfc3339_utc).astimezone(BEIJING)


def refund_notification(info, kinds, total, refund):
    """A refund notification's Notification, from fields v2 (`req_info`) and v3 (resource) share.

    `kinds` maps WeChat's refund_status to a kind; other statuses (CHANGE,
    ABNORMAL: the money bounced) change nothing and keep the amount reserved.
    """
    status, refund_id = info.get('refund_status', ''), str(info.get('refund_id') or '')
    if not (refund_id and info.get('out_refund_no') and info.get('out_trade_no')):
        raise Rejected(Rejected.MALFORMED, 'refund notification without refund_id/out_refund_no/out_trade_no')
    return Notification(event_id=f'refund:{refund_id}:{status}', kind=kinds.get(status, NOTHING),
                        out_trade_no=str(info['out_trade_no']), amount=total, provider_trade_no=refund_id,
                        refund_no=str(info['out_refund_no']), refund_amount=refund,
                        detail=f'refund {info["out_refund_no"]} is {status}: settle it in the merchant '
                               'console')
