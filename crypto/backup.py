"""Encryption of whole-site backups to an offline X25519 public key, streaming, in flat memory.

Format (version 1)::

    eph     = fresh X25519 key pair
    header  = b"CNDRBKUP" || 0x01 || key_id (8) || eph_pub (32)
    key_id  = SHA-256(recipient_pub)[:8]
    key     = HKDF-SHA256(X25519(eph.private, recipient_pub), salt=b"",
                          info=b"candor-backup-v1" || eph_pub || recipient_pub)
    body    = the attachment stream format of :mod:`crypto.stream` (version 2) under ``key``,
              with associated data ``header || recipient_pub``

The site holds only the public key, so a copy of the backups (or of the site that writes them)
cannot read any backup: that needs the private key kept offline. A fresh ephemeral key per backup
gives a fresh stream key, as :mod:`crypto.sealing` does for short items, and the chunked body
brings everything the attachment format guarantees: every chunk authenticated with its index, no
truncation, no extension, nothing reordered. The header is in every chunk's associated data, so
it cannot be changed either. ``key_id`` (public, like the key) lets a restore say "this backup was
made for another key" instead of "it has been altered"; a forged ``key_id`` gains nothing, since
the key itself comes from the exchange. Plaintext comes out chunk by chunk and is provisional
until the iterator ends cleanly: the restore writes it to a staging place and only then applies it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import (
    BackupKeyMismatchError,
    CryptoError,
    DecryptionError,
    UnsupportedFormatError,
)
from crypto.stream import NONCE_PREFIX_SIZE, StreamEncryptor, decrypt_chunks

__all__ = [
    "BACKUP_MAGIC",
    "BackupEncryptor",
    "backup_key_id",
    "decrypt_backup_chunks",
]

BACKUP_MAGIC = b"CNDRBKUP"
VERSION_1 = 0x01
KEY_SIZE = 32
KEY_ID_SIZE = 8
HEADER_SIZE = len(BACKUP_MAGIC) + 1 + KEY_ID_SIZE + KEY_SIZE
_INFO_LABEL = b"candor-backup-v1"
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw


def backup_key_id(public_key: bytes) -> bytes:
    """Return the 8-byte identifier of a backup public key written in each backup's header.

    Security property: derived from the public key alone; it names the key, it opens nothing.
    """
    return hashlib.sha256(public_key).digest()[:KEY_ID_SIZE]


def _stream_key(shared: bytes, ephemeral_pub: bytes, recipient_pub: bytes) -> bytes:
    if shared == bytes(KEY_SIZE):
        raise CryptoError("invalid public key")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=None,
        info=_INFO_LABEL + ephemeral_pub + recipient_pub,
    )
    return hkdf.derive(shared)


class BackupEncryptor:
    """A write-only binary file: whatever is written goes encrypted to ``dst`` as it arrives.

    Memory stays at one chunk whatever the size of the backup. Call :meth:`close` once at the
    end: without it the backup lacks its final chunk and no restore accepts it.
    """

    def __init__(self, recipient_public_key: bytes, dst: BinaryIO) -> None:
        """Start a backup for ``recipient_public_key`` (raw X25519, 32 bytes) into ``dst``.

        Security property: a fresh ephemeral key and nonce prefix per backup; the site never
        holds anything that decrypts what it wrote.
        """
        self._start(
            X25519PrivateKey.generate(),
            secrets.token_bytes(NONCE_PREFIX_SIZE),
            recipient_public_key,
            dst,
        )

    @classmethod
    def _deterministic(
        cls,
        ephemeral_private: bytes,
        nonce_prefix: bytes,
        recipient_public_key: bytes,
        dst: BinaryIO,
    ) -> BackupEncryptor:
        """Build an encryptor with a fixed ephemeral key and nonce prefix; only for vectors."""
        encryptor = cls.__new__(cls)
        encryptor._start(
            X25519PrivateKey.from_private_bytes(ephemeral_private),
            nonce_prefix,
            recipient_public_key,
            dst,
        )
        return encryptor

    def _start(
        self,
        ephemeral: X25519PrivateKey,
        nonce_prefix: bytes,
        recipient_public_key: bytes,
        dst: BinaryIO,
    ) -> None:
        if len(recipient_public_key) != KEY_SIZE:
            raise CryptoError("invalid public key")
        recipient = X25519PublicKey.from_public_bytes(recipient_public_key)
        ephemeral_pub = ephemeral.public_key().public_bytes(_RAW, _RAW_PUBLIC)
        try:
            shared = ephemeral.exchange(recipient)
        except ValueError as exc:
            raise CryptoError("invalid public key") from exc
        key = _stream_key(shared, ephemeral_pub, recipient_public_key)
        header = (
            BACKUP_MAGIC + bytes((VERSION_1,)) + backup_key_id(recipient_public_key) + ephemeral_pub
        )
        self._dst = dst
        self._stream = StreamEncryptor._with_nonce_prefix(
            key, header + recipient_public_key, nonce_prefix
        )
        self._closed = False
        dst.write(header)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt ``data`` onward; return its length (so ``tarfile`` may write here)."""
        if self._closed:
            raise CryptoError("backup already closed")
        self._dst.write(self._stream.update(data))
        return len(memoryview(data))

    def close(self) -> None:
        """Write the padding and the final chunk; the backup is complete only after this.

        Security property: as :meth:`crypto.stream.StreamEncryptor.finalize_chunks`.
        """
        if self._closed:
            return
        self._closed = True
        for piece in self._stream.finalize_chunks():
            self._dst.write(piece)


def _read_header(src: BinaryIO) -> bytes:
    header = src.read(HEADER_SIZE)
    if len(header) < len(BACKUP_MAGIC) + 1 or not header.startswith(BACKUP_MAGIC):
        raise DecryptionError("not a Candor backup")
    if header[len(BACKUP_MAGIC)] != VERSION_1:
        raise UnsupportedFormatError("unsupported backup version")
    if len(header) < HEADER_SIZE:
        raise DecryptionError("truncated backup")
    return header


def decrypt_backup_chunks(private_key: bytes, src: BinaryIO) -> Iterator[bytes]:
    """Yield the plaintext of a backup piece by piece, verified.

    Security properties: as :func:`crypto.stream.decrypt_chunks`: every piece yielded is
    authentic and in its place, but the whole is proven complete and unaltered only when the
    iterator ends without an error, so the caller stages what it gets and applies nothing before
    the end. A backup made for another key raises ``BackupKeyMismatchError`` before any data;
    every other failure (tampering, truncation, a wrong key with a forged identifier) raises
    ``DecryptionError``.
    """
    if len(private_key) != KEY_SIZE:
        raise CryptoError("invalid private key")
    recipient = X25519PrivateKey.from_private_bytes(private_key)
    recipient_pub = recipient.public_key().public_bytes(_RAW, _RAW_PUBLIC)
    header = _read_header(src)
    start = len(BACKUP_MAGIC) + 1
    if not secrets.compare_digest(
        header[start : start + KEY_ID_SIZE], backup_key_id(recipient_pub)
    ):
        raise BackupKeyMismatchError("the backup was made for another key")
    ephemeral_pub = header[start + KEY_ID_SIZE :]
    try:
        shared = recipient.exchange(X25519PublicKey.from_public_bytes(ephemeral_pub))
        key = _stream_key(shared, ephemeral_pub, recipient_pub)
    except (ValueError, CryptoError) as exc:
        raise DecryptionError("backup did not verify") from exc
    yield from decrypt_chunks(key, src, header + recipient_pub)
