"""A QR code as a PNG data URL, for a client that shows a payment code without a QR library of its own.

segno draws it (pure Python, no dependencies). It is imported on the first
call, not with this module, so only the create requests of the QR scenes pay
for it at a cold start (tests/test_cold_start.py). The same text always gives
the same bytes: the version, mask and compression are chosen by the text alone.
"""

# Alipay's qr_code is at most 1024 characters, WeChat Pay's code_url 64; 1024 bytes is a version 26
# symbol at level M (121 modules), still read by a phone camera from a screen.
MAX_TEXT_BYTES = 1024
# Level M restores up to 15% of the symbol (segno raises it when that costs no extra size).
ERROR_CORRECTION = 'm'
# 8 pixels a module: a version 3 code_url is 296 pixels across. 4 modules of quiet zone, as the standard asks.
SCALE = 8
BORDER = 4


def png_data_url(text):
    """`data:image/png;base64,...` of the QR code holding `text` (1 to MAX_TEXT_BYTES bytes of UTF-8).

    Raises ValueError for anything else (not a string, empty, too long)."""
    if not isinstance(text, str) or not 0 < len(text.encode('utf-8')) <= MAX_TEXT_BYTES:
        raise ValueError(f'a QR code holds a string of 1 to {MAX_TEXT_BYTES} bytes')
    import segno
    return segno.make(text, error=ERROR_CORRECTION, micro=False).png_data_uri(scale=SCALE, border=BORDER)
