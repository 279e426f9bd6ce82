"""The reporter's record of their own visits, sealed under a key only their passphrase derives.

Blob (version 1), always ``BLOB_SIZE`` bytes::

    0x01 || nonce (12) || AES-256-GCM(visits_key, nonce, padded, AD || 0x01)

where ``padded = record || 0x80 || 0x00...`` is exactly ``RECORD_SIZE`` bytes (the padding rule
of ``crypto.padding``). Every record has the same size, so the blob's length says nothing about
how many visits it holds. ``visits_key`` is ``DerivedKeys.visits_key``: HKDF-SHA256 of the same
Argon2id output that unwraps the case key, under its own label, so neither the server nor a copy
of the database can open or forge a record without the passphrase. The caller's associated data
binds the record to its case and its kind, so a record moved from another case fails.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError, DecryptionError, UnsupportedFormatError
from crypto.padding import pad, unpad

__all__ = ["BLOB_SIZE", "MAX_RECORD_SIZE", "RECORD_SIZE", "open_visits", "seal_visits"]

VERSION = 0x01
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32
# A power of two, so that Padmé keeps it as it is: every record pads to exactly this size.
RECORD_SIZE = 256
MAX_RECORD_SIZE = RECORD_SIZE - 1  # the padding marker takes at least one byte
BLOB_SIZE = 1 + NONCE_SIZE + RECORD_SIZE + TAG_SIZE


def _header() -> bytes:
    return bytes((VERSION,))


def _seal_with(key: bytes, nonce: bytes, record: bytes, associated_data: bytes) -> bytes:
    if len(key) != KEY_SIZE:
        raise CryptoError("visit key must be 32 bytes")
    if len(record) > MAX_RECORD_SIZE:
        raise CryptoError("visit record too long")
    padded = pad(record, RECORD_SIZE)
    header = _header()
    return header + nonce + AESGCM(key).encrypt(nonce, padded, associated_data + header)


def seal_visits(key: bytes, record: bytes, associated_data: bytes) -> bytes:
    """Seal ``record`` (at most ``MAX_RECORD_SIZE`` bytes) under ``key``; ``BLOB_SIZE`` bytes out.

    Security properties: confidentiality and integrity (AES-256-GCM, random 96-bit nonce); the
    version and ``associated_data`` are authenticated; the blob has one length whatever the
    record holds. Raises ``CryptoError`` for a wrong key size or a record that is too long.
    """
    return _seal_with(key, secrets.token_bytes(NONCE_SIZE), record, associated_data)


def open_visits(key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    """Open a blob made by :func:`seal_visits` and return the record.

    Security property: returns the record only if the blob is whole, unmodified, sealed under
    ``key`` and bound to ``associated_data``; a forged, truncated, extended or moved blob raises
    ``DecryptionError`` (``UnsupportedFormatError`` for an unknown version).
    """
    if len(key) != KEY_SIZE:
        raise CryptoError("visit key must be 32 bytes")
    if not blob:
        raise DecryptionError("malformed visit record")
    if blob[0] != VERSION:
        raise UnsupportedFormatError("unsupported visit record version")
    if len(blob) != BLOB_SIZE:
        raise DecryptionError("malformed visit record")
    nonce = blob[1 : 1 + NONCE_SIZE]
    try:
        padded = AESGCM(key).decrypt(nonce, blob[1 + NONCE_SIZE :], associated_data + _header())
    except InvalidTag as exc:
        raise DecryptionError("visit record did not verify") from exc
    return unpad(padded)
