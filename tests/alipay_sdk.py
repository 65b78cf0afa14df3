"""Alipay's side of the protocol, written for the tests independently of chalicelib.

Follows the official Java SDK (AlipaySignature.getSignContent / rsaCheckV1 /
rsaCheckV2, WebUtils.buildQuery, extractSignContent) and docs/providers/alipay.md#signing, with
the `cryptography` package for RSA so that nothing is shared with the code
under test (which uses pycryptodome through chalicelib.rsa).
"""
import base64
import json
from urllib.parse import quote_plus, unquote_plus

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class KeyPair:
    """A throw-away RSA key pair, with its PEM forms."""

    def __init__(self):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public = self.private.public_key()
        self.private_pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode('ascii')
        self.public_pem = self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')

    def sign(self, text, charset='utf-8'):
        raw = self.private.sign(text.encode(charset), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode('ascii')

    def verifies(self, text, signature, charset='utf-8'):
        try:
            self.public.verify(base64.b64decode(signature), text.encode(charset),
                               padding.PKCS1v15(), hashes.SHA256())
        except Exception:  # noqa: BLE001 - any failure means "does not verify"
            return False
        return True


def sign_content(params, exclude=('sign',)):
    """getSignContent: keys sorted, empty values skipped, `k=v` joined by `&`, raw values."""
    return '&'.join(f'{k}={params[k]}' for k in sorted(params) if k not in exclude and params[k])


def decode_query(query):
    """An order string back to its parameters (Java URLDecoder: '+' is a space)."""
    params = {}
    for pair in query.split('&'):
        key, _, value = pair.partition('=')
        assert key not in params, f'{key} twice'
        params[key] = unquote_plus(value)
    return params


def check_order_string(order_string, app_key):
    """rsaCheckV2 over an order string: everything but `sign` is signed (sign_type too)."""
    params = decode_query(order_string)
    assert app_key.verifies(sign_content(params), params['sign']), 'order string signature'
    return params


def notification(fields, alipay_key, charset='utf-8'):
    """Alipay's signed notification: signed without sign and sign_type, empty values skipped."""
    signed = {k: v for k, v in fields.items() if k != 'sign'}
    signed['sign'] = alipay_key.sign(sign_content(signed, ('sign', 'sign_type')), charset)
    return signed


def form_body(fields, charset='utf-8'):
    """The POST body Alipay sends: each value URL-encoded in the notification's charset."""
    return '&'.join(f'{quote_plus(k)}={quote_plus(v, encoding=charset)}'
                    for k, v in fields.items()).encode('ascii')


def answer(method, response_text, alipay_key, cert_sn=None):
    """A gateway answer: `response_text` placed as is, signed over exactly that text."""
    node = method.replace('.', '_') + '_response'
    cert = f',"alipay_cert_sn":"{cert_sn}"' if cert_sn else ''
    return f'{{"{node}":{response_text}{cert},"sign":"{alipay_key.sign(response_text)}"}}'


def answer_json(method, payload, alipay_key, cert_sn=None):
    return answer(method, json.dumps(payload, ensure_ascii=False), alipay_key, cert_sn)
