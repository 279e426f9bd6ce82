"""Chunked authenticated encryption of attachments, in constant memory for any size.

Format (version 1)::

    header = 0x01 || nonce_prefix (4 random bytes)
    chunk i = AES-256-GCM(file_key, nonce_prefix || i (u64 BE), plaintext_i,
                          AD = header || associated_data || i (u64 BE) || final (1 byte))

Every chunk but the last carries exactly ``CHUNK_SIZE`` plaintext bytes; the last carries fewer
(possibly zero) and has the final flag set. So a full-size chunk is never final, and:

* the chunk index in nonce and AD detects reordering, dropping and duplicating chunks;
* the final flag, and the rule that only a short chunk may be final, detect truncation at a
  chunk boundary (the stream then ends on a full, non-final chunk);
* any byte after the final chunk is refused (extension);
* the header is in every chunk's AD, so it cannot be changed either.

The file key is random per file; the random nonce prefix is defence in depth should a key ever be
used twice. The caller's associated data sits between two fixed-size fields, so the AD is
unambiguous.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError, DecryptionError, UnsupportedFormatError

__all__ = [
    "CHUNK_SIZE",
    "StreamEncryptor",
    "decrypt_chunks",
    "decrypt_stream",
    "encrypt_stream",
    "encrypted_size",
    "new_file_key",
]

CHUNK_SIZE = 65536
VERSION = 0x01
KEY_SIZE = 32
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 4
HEADER_SIZE = 1 + NONCE_PREFIX_SIZE
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
_INDEX = struct.Struct(">Q")
_INDEX_FINAL = struct.Struct(">QB")

Buffer = bytes | bytearray | memoryview


class _ChunkCipher:
    """Per-stream state: one AESGCM object and the fixed parts of every nonce and AD."""

    __slots__ = ("_ad_prefix", "_aead", "_nonce_prefix")

    def __init__(self, file_key: bytes, header: bytes, associated_data: bytes) -> None:
        if len(file_key) != KEY_SIZE:
            raise CryptoError("file key must be 32 bytes")
        self._aead = AESGCM(file_key)
        self._nonce_prefix = header[1:HEADER_SIZE]
        self._ad_prefix = header + associated_data

    def seal(self, index: int, plaintext: Buffer, final: bool) -> bytes:
        nonce = self._nonce_prefix + _INDEX.pack(index)
        return self._aead.encrypt(
            nonce, plaintext, self._ad_prefix + _INDEX_FINAL.pack(index, final)
        )

    def open(self, index: int, ciphertext: bytes, final: bool) -> bytes:
        nonce = self._nonce_prefix + _INDEX.pack(index)
        try:
            return self._aead.decrypt(
                nonce, ciphertext, self._ad_prefix + _INDEX_FINAL.pack(index, final)
            )
        except InvalidTag as exc:
            raise DecryptionError("attachment chunk did not verify") from exc


def new_file_key() -> bytes:
    """Return a fresh random 32-byte attachment key.

    Security property: one unpredictable key per file, so chunks of different files can never be
    spliced together and a counter nonce never repeats under a key.
    """
    return AESGCM.generate_key(bit_length=256)


def encrypted_size(plaintext_size: int) -> int:
    """Return the exact ciphertext size for a plaintext of ``plaintext_size`` bytes.

    Security property: none beyond correctness; lets callers enforce size limits and detect
    truncated files before decrypting.
    """
    if plaintext_size < 0:
        raise ValueError("plaintext size must not be negative")
    chunks = plaintext_size // CHUNK_SIZE + 1
    return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


def _header(nonce_prefix: bytes) -> bytes:
    if len(nonce_prefix) != NONCE_PREFIX_SIZE:
        raise CryptoError("nonce prefix must be 4 bytes")
    return bytes((VERSION,)) + nonce_prefix


class StreamEncryptor:
    """Incremental encryptor for data that arrives in pieces of any size (uploads).

    The concatenation of every :meth:`update` output followed by the :meth:`finalize` output is
    the encrypted stream (the header comes with the first output). Memory use is bounded by one
    chunk plus the piece being fed; pieces of at most ``CHUNK_SIZE`` bytes are fastest, since
    each call then returns at most one chunk and nothing needs joining.
    """

    __slots__ = ("_buffer", "_cipher", "_finished", "_index", "_pending_header")

    def __init__(self, file_key: bytes, associated_data: bytes) -> None:
        """Start a stream under ``file_key`` bound to ``associated_data``.

        Security property: each stream draws a fresh random nonce prefix.
        """
        self._start(file_key, associated_data, secrets.token_bytes(NONCE_PREFIX_SIZE))

    @classmethod
    def _with_nonce_prefix(
        cls, file_key: bytes, associated_data: bytes, nonce_prefix: bytes
    ) -> StreamEncryptor:
        """Build an encryptor with a fixed nonce prefix; only for known-answer tests."""
        encryptor = cls.__new__(cls)
        encryptor._start(file_key, associated_data, nonce_prefix)
        return encryptor

    def _start(self, file_key: bytes, associated_data: bytes, nonce_prefix: bytes) -> None:
        header = _header(nonce_prefix)
        self._cipher = _ChunkCipher(file_key, header, associated_data)
        self._pending_header: bytes | None = header
        self._buffer = bytearray()
        self._index = 0
        self._finished = False

    def _take_header(self, out: list[bytes]) -> None:
        if self._finished:
            raise CryptoError("stream already finalized")
        if self._pending_header is not None:
            out.append(self._pending_header)
            self._pending_header = None

    def _seal_full(self, plaintext: Buffer) -> bytes:
        # A full chunk is never final: the final chunk is always shorter than CHUNK_SIZE.
        ciphertext = self._cipher.seal(self._index, plaintext, False)
        self._index += 1
        return ciphertext

    def update(self, data: Buffer) -> bytes:
        """Feed plaintext; return the encrypted whole chunks that are ready (maybe ``b""``).

        Security property: output chunks are authenticated with their index, so the stream
        cannot be reordered or cut; the final chunk only comes from :meth:`finalize`.
        """
        out: list[bytes] = []
        self._take_header(out)
        view = memoryview(data).cast("B")
        if self._buffer:
            take = CHUNK_SIZE - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) < CHUNK_SIZE:
                return b"".join(out)
            out.append(self._seal_full(self._buffer))
            self._buffer.clear()
        # Encrypt straight from the caller's buffer: no copy for the bulk of a large piece.
        while len(view) >= CHUNK_SIZE:
            out.append(self._seal_full(view[:CHUNK_SIZE]))
            view = view[CHUNK_SIZE:]
        if view:
            self._buffer += view
        # A single chunk is returned as is (join does not copy one bytes object); pieces of at
        # most CHUNK_SIZE therefore never pay for joining.
        return b"".join(out)

    def finalize(self) -> bytes:
        """Emit the final chunk (possibly empty plaintext) with the final flag.

        Security property: without this chunk a reader rejects the stream as truncated. The
        encryptor refuses further use afterwards.
        """
        out: list[bytes] = []
        self._take_header(out)
        self._finished = True
        out.append(self._cipher.seal(self._index, self._buffer, True))
        self._buffer = bytearray()
        return b"".join(out)


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of file (raw streams may return short reads)."""
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    received = len(data)
    while received < size:
        more = src.read(size - received)
        if not more:
            break
        parts.append(more)
        received += len(more)
    return b"".join(parts)


def encrypt_stream(file_key: bytes, src: BinaryIO, dst: BinaryIO, associated_data: bytes) -> int:
    """Encrypt everything readable from ``src`` into ``dst``; return the plaintext byte count.

    Security properties: confidentiality and integrity of every chunk; order, completeness and
    ``associated_data`` are authenticated (see the module docstring). Constant memory.
    """
    header = _header(secrets.token_bytes(NONCE_PREFIX_SIZE))
    cipher = _ChunkCipher(file_key, header, associated_data)
    dst.write(header)
    index = 0
    total = 0
    while True:
        chunk = _read_exact(src, CHUNK_SIZE)
        total += len(chunk)
        if len(chunk) < CHUNK_SIZE:
            dst.write(cipher.seal(index, chunk, True))
            return total
        dst.write(cipher.seal(index, chunk, False))
        index += 1


def decrypt_chunks(file_key: bytes, src: BinaryIO, associated_data: bytes) -> Iterator[bytes]:
    """Yield verified plaintext chunk by chunk.

    Security properties: each yielded chunk is authentic and in its place. Truncation (no final
    chunk), trailing data, reordering and tampering raise ``DecryptionError`` when reached, so
    chunks already yielded must be treated as provisional until the iterator ends cleanly (write
    to a temporary location, then publish). The final chunk is only yielded after the end of
    ``src`` has been confirmed.
    """
    header = _read_exact(src, HEADER_SIZE)
    if not header:
        raise DecryptionError("empty attachment stream")
    if header[0] != VERSION:
        raise UnsupportedFormatError("unsupported attachment stream version")
    if len(header) < HEADER_SIZE:
        raise DecryptionError("truncated attachment stream")
    try:
        cipher = _ChunkCipher(file_key, header, associated_data)
    except CryptoError as exc:
        raise DecryptionError("attachment stream did not verify") from exc
    index = 0
    while True:
        block = _read_exact(src, ENCRYPTED_CHUNK_SIZE)
        if len(block) == ENCRYPTED_CHUNK_SIZE:
            yield cipher.open(index, block, False)
            index += 1
            continue
        if len(block) < TAG_SIZE:
            # Includes an empty read right after a full chunk: the final chunk was cut off.
            raise DecryptionError("truncated attachment stream")
        plaintext = cipher.open(index, block, True)
        # The short read above means the source reported end of file; make sure it stays ended,
        # so nothing (say, bytes appended to a file meanwhile) can follow the final chunk.
        if src.read(1):
            raise DecryptionError("data after the final chunk")
        yield plaintext
        return


def decrypt_stream(file_key: bytes, src: BinaryIO, dst: BinaryIO, associated_data: bytes) -> int:
    """Decrypt ``src`` into ``dst``; return the plaintext byte count.

    Security property: as :func:`decrypt_chunks`. On ``DecryptionError`` ``dst`` holds a verified
    but incomplete prefix; the caller must discard it.
    """
    total = 0
    for chunk in decrypt_chunks(file_key, src, associated_data):
        dst.write(chunk)
        total += len(chunk)
    return total
