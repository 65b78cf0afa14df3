"""The two ciphers WeChat Pay encrypts notifications with (pycryptodome, imported on first use).

v3: AEAD_AES_256_GCM with the APIv3 key, nonce and associated data as ASCII,
    the 16-byte tag at the end of the Base64 ciphertext.
v2 refund notifications: AES-256-ECB whose key is the 32 ASCII bytes of the
    lower-case hex MD5 of the API key, PKCS#7 padding.
"""
import base64
import hashlib


class CryptoError(ValueError):
    """Ciphertext that does not decrypt (wrong key, tampered, truncated)."""


def decrypt_gcm(key, nonce, associated_data, ciphertext):
    from Crypto.Cipher import AES
    raw = _b64(ciphertext)
    if len(raw) < 16:
        raise CryptoError('ciphertext shorter than its tag')
    try:
        cipher = AES.new(key.encode('utf-8'), AES.MODE_GCM, nonce=nonce.encode('utf-8'))
        cipher.update((associated_data or '').encode('utf-8'))
        return cipher.decrypt_and_verify(raw[:-16], raw[-16:])
    except (ValueError, TypeError):
        raise CryptoError('AES-GCM authentication failed') from None


def decrypt_refund_info(api_key, req_info):
    from Crypto.Cipher import AES
    raw = _b64(req_info)
    if not raw or len(raw) % 16:
        raise CryptoError('req_info is not a whole number of AES blocks')
    plain = AES.new(refund_key(api_key), AES.MODE_ECB).decrypt(raw)
    return _unpad(plain)


def refund_key(api_key):
    return hashlib.md5(api_key.encode('utf-8')).hexdigest().encode('ascii')


def _unpad(plain):
    """PKCS#7; WeChat pads to 16-byte blocks, wechatpy's encoder to 32, so 1..32 is accepted."""
    count = plain[-1]
    if not 1 <= count <= 32 or count > len(plain) or plain[-count:] != bytes([count]) * count:
        raise CryptoError('bad padding: wrong key or damaged req_info')
    return plain[:-count]


def _b64(text):
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise CryptoError('not Base64') from None
