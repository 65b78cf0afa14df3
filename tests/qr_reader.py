"""A QR code PNG data URL read back by libraries Paygate does not use: pypng for the pixels, zxing-cpp
for the code, as a phone's scanner would read the picture.

    image = read(order['client_params']['qr_png'])
    assert image.text == order['client_params']['code_url']
"""
import base64
from dataclasses import dataclass

import png
import zxingcpp

PREFIX = 'data:image/png;base64,'
BLACK, WHITE = 0, 255


@dataclass(frozen=True)
class Image:
    text: str            # what the code holds, as zxing-cpp decodes it
    version: int         # the QR version zxing-cpp read (modules across = 17 + 4 * version)
    ec_level: str        # 'L', 'M', 'Q' or 'H'
    width: int
    height: int
    pixels: tuple        # rows of grey levels, 0 (black) to 255 (white)
    top_left: tuple      # (x, y) of the symbol's top-left corner, in pixels


def _grey(rgba):
    """A row of RGBA pixels as grey levels; fails unless every pixel is an opaque grey."""
    assert rgba[0::4] == rgba[1::4] == rgba[2::4] and set(rgba[3::4]) == {255}
    return rgba[0::4]


def read(data_url):
    """The image a data URL holds; fails the test unless it is a PNG holding exactly one QR code."""
    assert data_url.startswith(PREFIX), data_url[:40]
    raw = base64.b64decode(data_url[len(PREFIX):], validate=True)
    width, height, rows, _ = png.Reader(bytes=raw).asRGBA8()
    pixels = tuple(_grey(bytes(row)) for row in rows)
    grey = b''.join(pixels)
    [code] = zxingcpp.read_barcodes(memoryview(grey).cast('B', (height, width)),
                                    formats=zxingcpp.BarcodeFormat.QRCode)
    corner = code.position.top_left
    return Image(text=code.text, version=int(code.extra['Version']), ec_level=code.ec_level, width=width,
                 height=height, pixels=pixels, top_left=(corner.x, corner.y))
