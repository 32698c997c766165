"""SM4 encryption of the CP content (HJ 212-2025 §6.4 and Annex A.2).

What is implemented (sources: standards-2026.md §4.3, two independent implementations quoting the
standard):

* SM4 (GB/T 32907), 16-byte key, ECB, *no padding*, applied to the characters between ``CP=&&``
  and the closing ``&&``.
* Every full 16-byte group is encrypted; a remainder shorter than 16 bytes stays plaintext.
* The ciphertext is written as ``{0xE4,0x3E,…}`` (upper-case hex, comma separated) followed by the
  plaintext remainder, e.g. ``…0x03,0xA4}g=N``.
* The CRC is computed over the *plaintext* data segment and is not recomputed after encryption.
* Annex H (HTTPS Authorization) uses SM4-ECB with PKCS#7 padding and Base64:
  :func:`sm4_ecb_pkcs7_base64`.

The SM4 block primitive comes from the ``gmssl`` package; its ``crypt_ecb`` always pads, so the
block function ``one_round`` is used directly.
"""

from __future__ import annotations

import base64
import re

from gmssl.func import bytes_to_list, list_to_bytes
from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

#: The test key of HJ 212-2025 Annex A.2 ("密钥使用16个0x30").
OFFICIAL_TEST_KEY = b"0" * 16

_BLOCK = 16
_WIRE = re.compile(r"\{(0[xX][0-9A-Fa-f]{2}(?:,0[xX][0-9A-Fa-f]{2})*)?\}")


class SM4Error(ValueError):
    """A key or a ciphertext is malformed."""


def _check_key(key: bytes) -> None:
    if len(key) != _BLOCK:
        raise SM4Error(f"SM4 key must be 16 bytes, got {len(key)}")


def _blocks(key: bytes, data: bytes, mode: int) -> bytes:
    _check_key(key)
    cipher = CryptSM4()
    cipher.set_key(key, mode)
    out = bytearray()
    for off in range(0, len(data) - len(data) % _BLOCK, _BLOCK):
        out += list_to_bytes(cipher.one_round(cipher.sk, bytes_to_list(data[off : off + _BLOCK])))
    return bytes(out)


def sm4_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """SM4-ECB without padding over the full 16-byte blocks of ``data`` (the tail is dropped)."""
    return _blocks(key, data, SM4_ENCRYPT)


def sm4_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    """Inverse of :func:`sm4_ecb_encrypt`; ``len(data)`` must be a multiple of 16."""
    if len(data) % _BLOCK:
        raise SM4Error(f"ciphertext length {len(data)} is not a multiple of 16")
    return _blocks(key, data, SM4_DECRYPT)


def encrypt_cp_text(plain: bytes, key: bytes) -> bytes:
    """Encrypt the CP content: ``{0x..,…}`` for the full blocks + the plaintext remainder."""
    full = len(plain) - len(plain) % _BLOCK
    if full == 0:
        return plain  # nothing to encrypt: the standard keeps a short remainder in plaintext
    cipher = sm4_ecb_encrypt(key, plain[:full])
    return b"{" + b",".join(b"0x%02X" % c for c in cipher) + b"}" + plain[full:]


def is_encrypted_cp(cp_text: str) -> bool:
    """True when the CP content starts with the ``{0x..`` ciphertext notation."""
    return cp_text.startswith("{0x") or cp_text.startswith("{0X")


def decrypt_cp_text(wire: str, key: bytes) -> str:
    """Decrypt ``{0x..,…}tail`` back to the plaintext CP content (ASCII/latin-1 preserving)."""
    match = _WIRE.match(wire)
    if match is None:
        raise SM4Error("CP ciphertext is not of the form {0xNN,0xNN,…}")
    body = match.group(1) or ""
    data = bytes(int(item, 16) for item in body.split(",")) if body else b""
    plain = sm4_ecb_decrypt(key, data)
    return plain.decode("latin-1") + wire[match.end() :]


def sm4_ecb_pkcs7_base64(text: str, key: bytes) -> str:
    """Annex H.1.2 Authorization value: SM4-ECB, PKCS#7 padding, Base64."""
    raw = text.encode("utf-8")
    pad = _BLOCK - len(raw) % _BLOCK
    return base64.b64encode(sm4_ecb_encrypt(key, raw + bytes([pad]) * pad)).decode("ascii")
