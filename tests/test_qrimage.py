"""The QR scenes' PNG: read back by pypng and zxing-cpp, it holds exactly the text, in a black and white
picture a phone camera reads (8 pixels a module, a 4-module white margin); input outside the bounds is
refused."""
import pytest

from chalicelib import qrimage
from tests import qr_reader
from tests.openapi_check import spec

CODE_URL = 'weixin://wxpay/bizpayurl?pr=8q2Fz3Rzz'
SCALE, MARGIN = 8, 4


@pytest.mark.parametrize('text', [
    CODE_URL,
    'https://qr.alipay.com/bax03431ljhokirwl38f00a7',
    'http://127.0.0.1:8001/alipay/qr/pg20261202045925e286cf527f44',
    '支付宝 ' + 'x' * 1014,  # 1024 bytes of UTF-8, the most it takes
    'h' * 1024,
])
def test_the_png_holds_exactly_the_text_and_reads_as_a_phone_would(text):
    image = qr_reader.read(qrimage.png_data_url(text))
    assert image.text == text
    assert image.ec_level in ('M', 'Q', 'H')
    side = (17 + 4 * image.version + 2 * MARGIN) * SCALE
    assert (image.width, image.height) == (side, side)
    assert image.top_left == (MARGIN * SCALE, MARGIN * SCALE)


def test_the_picture_is_black_on_white_with_a_white_margin_of_four_modules():
    image = qr_reader.read(qrimage.png_data_url(CODE_URL))
    margin = MARGIN * SCALE
    assert {level for row in image.pixels for level in row} == {qr_reader.BLACK, qr_reader.WHITE}
    inner = range(margin, image.width - margin)
    for y, row in enumerate(image.pixels):
        if y in inner:
            assert set(row[:margin]) == set(row[-margin:]) == {qr_reader.WHITE}
        else:
            assert set(row) == {qr_reader.WHITE}
    # The finder pattern's dark corner begins right inside the margin.
    assert image.pixels[margin][margin] == qr_reader.BLACK


def test_the_same_text_gives_the_same_bytes():
    assert qrimage.png_data_url(CODE_URL) == qrimage.png_data_url(CODE_URL)
    assert qrimage.png_data_url(CODE_URL) != qrimage.png_data_url(CODE_URL + 'x')


@pytest.mark.parametrize('text', ['', 'h' * 1025, '支' * 342, None, 60, b'weixin://wxpay/bizpayurl?pr=1',
                                  'lone surrogate \ud800'])
def test_what_a_code_cannot_hold_is_refused(text):
    with pytest.raises(ValueError):
        qrimage.png_data_url(text)


@pytest.mark.parametrize('example', ['WechatpayNativeOrder', 'AlipayQrOrder'])
def test_the_openapi_examples_pngs_hold_their_codes(example):
    params = spec()['components']['examples'][example]['value']['client_params']
    assert qr_reader.read(params['qr_png']).text == params.get('code_url', params.get('qr_code'))
