"""Integrity tags: HMAC-SHA256 under a key that the database does not hold.

Construction (version 1)::

    message = b"candor-integrity-v1" || len(label) || label || len(binding) || binding
                                     || len(value) || value          (lengths: u32 big-endian)
    tag     = HMAC-SHA256(integrity_key, message)

Sealing to a public key proves nothing about who sealed: anyone who can write the database can
seal a report of their own to a case's public key, or put their own public key in a row and read
what the server seals to it next. A tag under a key kept in the configuration closes both: without
that key nobody can make a tag, so a forged, altered or swapped value does not verify. The binding
names the row the value belongs to (for example a case uid and item id), so a value with a genuine
tag still fails when it is moved to another row. Every field is length-prefixed, so no two
different (label, binding, value) triples give the same message.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from crypto.errors import CryptoError, IntegrityCheckError

__all__ = ["KEY_SIZE", "TAG_SIZE", "IntegrityCheckError", "integrity_tag", "verify_tag"]

KEY_SIZE = 32
TAG_SIZE = 32
_DOMAIN = b"candor-integrity-v1"
_LENGTH = struct.Struct(">I")


def _mac(key: bytes, label: bytes, binding: bytes, value: bytes) -> hmac.HMAC:
    if len(key) != KEY_SIZE:
        raise CryptoError("invalid integrity key")
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(_DOMAIN)
    for field in (label, binding, value):
        mac.update(_LENGTH.pack(len(field)))
        mac.update(field)
    return mac


def integrity_tag(key: bytes, label: bytes, binding: bytes, value: bytes) -> bytes:
    """Return the 32-byte tag of ``value`` stored for ``label`` in the row named by ``binding``.

    Security property: unforgeable without ``key`` (HMAC-SHA256 is a PRF), and bound to all
    three fields, so the tag of one value, kind or row never verifies another.
    """
    return _mac(key, label, binding, value).finalize()


def verify_tag(key: bytes, label: bytes, binding: bytes, value: bytes, tag: bytes | None) -> None:
    """Raise ``IntegrityCheckError`` unless ``tag`` is the tag of exactly these fields.

    Security property: compared in constant time, and fails closed: a missing (``None``), short
    or wrong tag is refused the same way, so an untagged row is never taken as genuine.
    """
    mac = _mac(key, label, binding, value)
    if tag is None or len(tag) != TAG_SIZE:
        raise IntegrityCheckError("stored value did not verify")
    try:
        mac.verify(tag)
    except InvalidSignature:
        raise IntegrityCheckError("stored value did not verify") from None
