"""Recovery keys: 160 random bits shown once, in Crockford base32 with a checksum.

Layout: 20 random bytes || CRC-16 (2 bytes, big-endian) = 176 bits, followed by 4 zero bits to make
180 bits = 36 Crockford base32 characters, shown in 9 groups of 4 joined by dashes.

The checksum is CRC-16/XMODEM (``binascii.crc_hqx``) rather than a truncated hash: a CRC of degree
16 detects *every* error burst of up to 16 bits, so every single-character error (at most 5 bits)
and every swap of neighbouring characters (at most 10 bits) is caught, where a 2-byte hash would
miss one in 65536. It only catches typos; the key itself is authenticated when it unwraps.
"""

from __future__ import annotations

import binascii
import secrets

from crypto.errors import InvalidRecoveryKeyError

__all__ = ["RECOVERY_KEY_BYTES", "generate_recovery_key", "parse_recovery_key"]

RECOVERY_KEY_BYTES = 20
_CHECKSUM_BYTES = 2
_PAYLOAD_BITS = (RECOVERY_KEY_BYTES + _CHECKSUM_BYTES) * 8
_CHARS = -(-_PAYLOAD_BITS // 5)  # 36
_PAD_BITS = _CHARS * 5 - _PAYLOAD_BITS  # 4
_GROUP = 4
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUES = {ch: i for i, ch in enumerate(_ALPHABET)}
# Crockford's decoding rules: letters easily misread as digits decode as those digits.
_VALUES.update({"O": 0, "I": 1, "L": 1})
_IGNORED = frozenset(" -\t\n\r\u00a0")


def _checksum(key: bytes) -> bytes:
    return binascii.crc_hqx(key, 0).to_bytes(_CHECKSUM_BYTES, "big")


def _encode(key: bytes) -> str:
    value = int.from_bytes(key + _checksum(key), "big") << _PAD_BITS
    chars = [_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(_CHARS))]
    text = "".join(chars)
    return "-".join(text[i : i + _GROUP] for i in range(0, _CHARS, _GROUP))


def generate_recovery_key() -> tuple[str, bytes]:
    """Return ``(display text, key bytes)`` for a new recovery key.

    Security property: 160 bits from ``secrets``, so the key can wrap a private key with HKDF
    alone (no work factor needed); the display form catches typos before any unwrap attempt.
    """
    key = secrets.token_bytes(RECOVERY_KEY_BYTES)
    return _encode(key), key


def parse_recovery_key(text: str) -> bytes:
    """Return the key bytes from a typed recovery key.

    Case-insensitive; spaces and dashes are ignored; O reads as 0 and I or L as 1. Raises
    ``InvalidRecoveryKeyError`` for a wrong length, an unknown character, non-zero padding bits
    or a checksum mismatch.

    Security property: every single-character typo and every adjacent swap is refused here,
    so a mistyped key never reaches (and never counts as a failed attempt at) an unwrap.
    """
    value = 0
    count = 0
    for ch in text:
        if ch in _IGNORED:
            continue
        # Per character, so a character whose upper case is two letters ("ß") is refused.
        digit = _VALUES.get(ch.upper())
        if digit is None:
            raise InvalidRecoveryKeyError("invalid character in recovery key")
        value = (value << 5) | digit
        count += 1
    if count != _CHARS:
        raise InvalidRecoveryKeyError("a recovery key has 36 characters")
    if value & ((1 << _PAD_BITS) - 1):
        raise InvalidRecoveryKeyError("recovery key checksum does not match")
    payload = (value >> _PAD_BITS).to_bytes(RECOVERY_KEY_BYTES + _CHECKSUM_BYTES, "big")
    key, checksum = payload[:RECOVERY_KEY_BYTES], payload[RECOVERY_KEY_BYTES:]
    if _checksum(key) != checksum:
        raise InvalidRecoveryKeyError("recovery key checksum does not match")
    return key
