"""Chunked authenticated encryption of attachments, in constant memory for any size.

Format (version 2, what every encryptor here writes)::

    header  = 0x02 || nonce_prefix (4 random bytes)
    padded  = plaintext || 0x80 || 0x00 ...   (length T = bucket(len(plaintext) + 1, 4096))
    chunk i = AES-256-GCM(file_key, nonce_prefix || i (u64 BE), padded_i,
                          AD = header || associated_data || i (u64 BE) || final (1 byte))

``padded`` is cut into chunks exactly as version 1 cuts the plaintext (below), so the file's size
is ``5 + T + 16 * (T // CHUNK_SIZE + 1)``: a function of ``T`` alone, which is Padmé's bucket of
the plaintext size with a 4 KiB floor (see :mod:`crypto.padding`; 4 KiB is also what a file
system allocates for a small file). A copy of the attachment folder learns the bucket, never the
size. The padding is the ISO/IEC 7816-4 rule (a ``0x80`` then zeros) inside the encrypted chunks:
it is authenticated like the data, and the last non-zero byte of the stream marks where the data
ends, so padding and data cannot be confused. Padding goes at the end because an upload's size is
known only when it is over; the writer appends it in whole chunks without buffering it, and the
reader holds back only a possible marker and the count of zero bytes after it, so both directions
stay in constant memory. The true size, shown to people, travels sealed beside the file.

Version 1 (still read, for files stored before version 2) is the same with header byte ``0x01``
and no padding: its size is the plaintext size plus a per-chunk constant.

In both versions every chunk but the last carries exactly ``CHUNK_SIZE`` bytes; the last carries
fewer (possibly zero) and has the final flag set. So a full-size chunk is never final, and:

* the chunk index in nonce and AD detects reordering, dropping and duplicating chunks;
* the final flag, and the rule that only a short chunk may be final, detect truncation at a
  chunk boundary (the stream then ends on a full, non-final chunk);
* any byte after the final chunk is refused (extension);
* the header, version byte included, is in every chunk's AD, so it cannot be changed either: a
  version-2 stream relabelled as version 1 (to have its padding read as data) fails to verify;
* a version-2 stream whose last non-zero byte is not the marker is refused.

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
from crypto.padding import MARKER, StreamUnpadder, bucket

__all__ = [
    "CHUNK_SIZE",
    "StreamEncryptor",
    "decrypt_chunks",
    "decrypt_stream",
    "encrypt_stream",
    "encrypted_size",
    "new_file_key",
    "padded_size",
]

CHUNK_SIZE = 65536
VERSION_1 = 0x01
VERSION_2 = 0x02
VERSION = VERSION_2
VERSIONS = (VERSION_1, VERSION_2)
MIN_PADDED_SIZE = 4096
KEY_SIZE = 32
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 4
HEADER_SIZE = 1 + NONCE_PREFIX_SIZE
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
_ZERO_CHUNK = bytes(CHUNK_SIZE)
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


def padded_size(plaintext_size: int) -> int:
    """Return the padded length ``T`` that a version-2 stream encrypts for ``plaintext_size``.

    Security property: Padmé's bucket of ``plaintext_size + 1`` (data and marker), never below
    4 KiB, so it leaks ``O(log log size)`` bits of the size.
    """
    if plaintext_size < 0:
        raise ValueError("plaintext size must not be negative")
    return bucket(plaintext_size + 1, MIN_PADDED_SIZE)


def _chunked_size(encrypted_bytes: int) -> int:
    return HEADER_SIZE + encrypted_bytes + (encrypted_bytes // CHUNK_SIZE + 1) * TAG_SIZE


def encrypted_size(plaintext_size: int) -> int:
    """Return the exact size of the stream written for ``plaintext_size`` bytes (version 2).

    Security property: a function of :func:`padded_size` alone, so two files in one bucket give
    streams of one size. Lets callers enforce limits and detect truncated files before decrypting.
    """
    return _chunked_size(padded_size(plaintext_size))


def _header(nonce_prefix: bytes, version: int) -> bytes:
    if len(nonce_prefix) != NONCE_PREFIX_SIZE:
        raise CryptoError("nonce prefix must be 4 bytes")
    if version not in VERSIONS:
        raise CryptoError("unsupported attachment stream version")
    return bytes((version,)) + nonce_prefix


class StreamEncryptor:
    """Incremental encryptor for data that arrives in pieces of any size (uploads).

    The concatenation of every :meth:`update` output followed by the :meth:`finalize_chunks`
    output (or :meth:`finalize`'s) is the encrypted stream (the header comes with the first
    output). Memory use is bounded by one chunk plus the piece being fed; pieces of at most
    ``CHUNK_SIZE`` bytes are fastest, since each call then returns at most one chunk and nothing
    needs joining.
    """

    __slots__ = (
        "_buffer",
        "_cipher",
        "_finished",
        "_index",
        "_pending_header",
        "_size",
        "_version",
    )

    def __init__(self, file_key: bytes, associated_data: bytes) -> None:
        """Start a stream under ``file_key`` bound to ``associated_data``.

        Security property: each stream draws a fresh random nonce prefix.
        """
        self._start(file_key, associated_data, secrets.token_bytes(NONCE_PREFIX_SIZE), VERSION)

    @classmethod
    def _with_nonce_prefix(
        cls,
        file_key: bytes,
        associated_data: bytes,
        nonce_prefix: bytes,
        version: int = VERSION,
    ) -> StreamEncryptor:
        """Build an encryptor with a fixed nonce prefix and version; only for known-answer tests.

        Version 1 leaks the exact size; nothing but the vectors may write it.
        """
        encryptor = cls.__new__(cls)
        encryptor._start(file_key, associated_data, nonce_prefix, version)
        return encryptor

    def _start(
        self, file_key: bytes, associated_data: bytes, nonce_prefix: bytes, version: int
    ) -> None:
        header = _header(nonce_prefix, version)
        self._cipher = _ChunkCipher(file_key, header, associated_data)
        self._pending_header: bytes | None = header
        self._buffer = bytearray()
        self._index = 0
        self._size = 0
        self._version = version
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
        cannot be reordered or cut; the final chunk only comes from finalizing.
        """
        out: list[bytes] = []
        self._take_header(out)
        view = memoryview(data).cast("B")
        self._size += len(view)
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

    def finalize_chunks(self) -> Iterator[bytes]:
        """Yield the rest of the stream: the padding in whole chunks, then the final chunk.

        Security property: the stream's size becomes a function of the size's bucket only, and
        without the final chunk a reader rejects the stream as truncated. Constant memory: the
        padding (up to 1/16 of a file over 4 KiB) is never held at once. The encryptor refuses
        further use as soon as this is called; consume the iterator to the end.
        """
        out: list[bytes] = []
        self._take_header(out)
        self._finished = True
        return self._finish(out)

    def _finish(self, out: list[bytes]) -> Iterator[bytes]:
        yield from out
        if self._version == VERSION_2:
            # Marker and zeros up to the padded size, in the same chunking as the data.
            remaining = padded_size(self._size) - self._size
            first = min(remaining, CHUNK_SIZE - len(self._buffer))
            self._buffer.append(MARKER)
            self._buffer += _ZERO_CHUNK[: first - 1]
            remaining -= first
            if len(self._buffer) == CHUNK_SIZE:
                yield self._seal_full(self._buffer)
                self._buffer.clear()
            while remaining >= CHUNK_SIZE:
                yield self._seal_full(_ZERO_CHUNK)
                remaining -= CHUNK_SIZE
            self._buffer += _ZERO_CHUNK[:remaining]
        yield self._cipher.seal(self._index, self._buffer, True)
        self._buffer = bytearray()

    def finalize(self) -> bytes:
        """Return the rest of the stream at once (as :meth:`finalize_chunks`, joined).

        Security property: as :meth:`finalize_chunks`. Holds the padding in memory, up to 1/16
        of the file's size: for large files use :meth:`finalize_chunks`.
        """
        return b"".join(self.finalize_chunks())


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
    ``associated_data`` are authenticated, and the output size reveals only the bucket of the
    input size (see the module docstring). Constant memory.
    """
    encryptor = StreamEncryptor(file_key, associated_data)
    total = 0
    while True:
        # Whole chunks from an empty buffer are encrypted in place and returned without a join.
        chunk = _read_exact(src, CHUNK_SIZE)
        total += len(chunk)
        if chunk:
            dst.write(encryptor.update(chunk))
        if len(chunk) < CHUNK_SIZE:
            for piece in encryptor.finalize_chunks():
                dst.write(piece)
            return total


def _open_chunks(cipher: _ChunkCipher, src: BinaryIO) -> Iterator[bytes]:
    """Yield each chunk's verified plaintext; the final one only once the end of file is sure."""
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


def decrypt_chunks(file_key: bytes, src: BinaryIO, associated_data: bytes) -> Iterator[bytes]:
    """Yield verified plaintext piece by piece (version 2 or version 1 streams).

    Security properties: each yielded piece is authentic and in its place, and never padding.
    Truncation (no final chunk), trailing data, reordering, tampering and malformed padding raise
    ``DecryptionError`` when reached, so pieces already yielded must be treated as provisional
    until the iterator ends cleanly (write to a temporary location, then publish). The final
    chunk's data is only yielded after the end of ``src`` has been confirmed. Version 1 yields
    one piece per chunk; version 2 pieces need not line up with chunks, since a ``0x80`` and a
    run of zeros after it are held back until it is clear they are not padding.
    """
    header = _read_exact(src, HEADER_SIZE)
    if not header:
        raise DecryptionError("empty attachment stream")
    if header[0] not in VERSIONS:
        raise UnsupportedFormatError("unsupported attachment stream version")
    if len(header) < HEADER_SIZE:
        raise DecryptionError("truncated attachment stream")
    try:
        cipher = _ChunkCipher(file_key, header, associated_data)
    except CryptoError as exc:
        raise DecryptionError("attachment stream did not verify") from exc
    if header[0] == VERSION_1:
        yield from _open_chunks(cipher, src)
        return
    unpadder = StreamUnpadder()
    for plaintext in _open_chunks(cipher, src):
        yield from unpadder.feed(plaintext)
    unpadder.finish()


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
