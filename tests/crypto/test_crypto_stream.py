"""Chunked attachment encryption: round trips and every way of cutting, reordering or extending."""

from __future__ import annotations

import io
import itertools
import random
from typing import BinaryIO, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    CHUNK_SIZE,
    CryptoError,
    DecryptionError,
    StreamEncryptor,
    UnsupportedFormatError,
    decrypt_chunks,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
    new_file_key,
    padded_size,
)
from crypto.stream import (
    ENCRYPTED_CHUNK_SIZE,
    HEADER_SIZE,
    MIN_PADDED_SIZE,
    TAG_SIZE,
    VERSION_1,
    VERSION_2,
    _ChunkCipher,
)

KEY = new_file_key()
AD = b"case:42|attachment:7"
SPECIAL_SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE]


def payload(size: int, seed: int = 0) -> bytes:
    # Reproducible test data, not key material: a seeded PRNG is what we want here.
    return random.Random(seed).randbytes(size)  # noqa: S311


def encrypt(plaintext: bytes, key: bytes = KEY, ad: bytes = AD) -> bytes:
    out = io.BytesIO()
    assert encrypt_stream(key, io.BytesIO(plaintext), out, ad) == len(plaintext)
    return out.getvalue()


def decrypt(ciphertext: bytes, key: bytes = KEY, ad: bytes = AD) -> bytes:
    return b"".join(decrypt_chunks(key, io.BytesIO(ciphertext), ad))


def chunks_of(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    body = ciphertext[HEADER_SIZE:]
    return ciphertext[:HEADER_SIZE], [
        body[i : i + ENCRYPTED_CHUNK_SIZE] for i in range(0, len(body), ENCRYPTED_CHUNK_SIZE)
    ]


def forge(chunks: list[tuple[bytes, bool]], version: int = VERSION_1) -> bytes:
    """Build a stream chunk by chunk with chosen final flags, as a faulty encryptor might."""
    header = bytes((version,)) + b"\x00\x00\x00\x00"
    cipher = _ChunkCipher(KEY, header, AD)
    return header + b"".join(
        cipher.seal(index, data, final) for index, (data, final) in enumerate(chunks)
    )


class TrickleReader(io.RawIOBase):
    """A source that returns at most ``step`` bytes per read, like a pipe or socket."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        piece, self._data = bytes(self._data[:n]), self._data[n:]
        return piece


# --- round trips --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.one_of(st.sampled_from(SPECIAL_SIZES), st.integers(0, 3 * CHUNK_SIZE + 100)),
    seed=st.integers(0, 2**32),
    associated_data=st.binary(max_size=64),
)
def test_round_trip(size: int, seed: int, associated_data: bytes) -> None:
    plaintext = payload(size, seed)
    ciphertext = encrypt(plaintext, ad=associated_data)
    assert len(ciphertext) == encrypted_size(size)
    out = io.BytesIO()
    assert decrypt_stream(KEY, io.BytesIO(ciphertext), out, associated_data) == size
    assert out.getvalue() == plaintext


@settings(max_examples=40, deadline=None)
@given(
    size=st.one_of(st.sampled_from(SPECIAL_SIZES), st.integers(0, 3 * CHUNK_SIZE + 100)),
    cuts=st.lists(st.integers(0, 3 * CHUNK_SIZE + 100), max_size=12),
)
def test_encryptor_fed_in_random_pieces(size: int, cuts: list[int]) -> None:
    plaintext = payload(size, size)
    prefix = b"\x00\x01\x02\x03"
    points = sorted({0, size, *(c for c in cuts if c <= size)})
    encryptor = StreamEncryptor._with_nonce_prefix(KEY, AD, prefix)
    pieces = [encryptor.update(plaintext[a:b]) for a, b in itertools.pairwise(points)]
    # Whole chunks come out as soon as they are complete.
    assert all(len(p) % ENCRYPTED_CHUNK_SIZE in (0, HEADER_SIZE) for p in pieces)
    ciphertext = b"".join(pieces) + encryptor.finalize()
    one_shot = StreamEncryptor._with_nonce_prefix(KEY, AD, prefix)
    assert ciphertext == one_shot.update(plaintext) + one_shot.finalize()
    assert len(ciphertext) == encrypted_size(size)
    assert decrypt(ciphertext) == plaintext


def test_encryptor_accepts_buffers_and_matches_encrypt_stream_layout() -> None:
    plaintext = payload(CHUNK_SIZE + 10)
    encryptor = StreamEncryptor(KEY, AD)
    ciphertext = (
        encryptor.update(bytearray(plaintext[:5]))
        + encryptor.update(memoryview(plaintext)[5:])
        + encryptor.finalize()
    )
    assert decrypt(ciphertext) == plaintext
    assert len(ciphertext) == len(encrypt(plaintext))


def test_encryptor_refuses_use_after_finalize() -> None:
    encryptor = StreamEncryptor(KEY, AD)
    assert decrypt(encryptor.finalize()) == b""
    with pytest.raises(CryptoError):
        encryptor.update(b"more")
    with pytest.raises(CryptoError):
        encryptor.finalize()


def test_short_reads_are_handled() -> None:
    plaintext = payload(2 * CHUNK_SIZE + 333)
    out = io.BytesIO()
    encrypt_stream(KEY, cast(BinaryIO, TrickleReader(plaintext, 1000)), out, AD)
    ciphertext = out.getvalue()
    assert decrypt(ciphertext) == plaintext
    chunks = list(decrypt_chunks(KEY, cast(BinaryIO, TrickleReader(ciphertext, 777)), AD))
    assert [len(c) for c in chunks] == [CHUNK_SIZE, CHUNK_SIZE, 333]


def test_encrypted_size() -> None:
    # Everything under the 4 KiB floor (data plus marker) is one size.
    assert padded_size(0) == padded_size(MIN_PADDED_SIZE - 1) == MIN_PADDED_SIZE
    assert encrypted_size(0) == HEADER_SIZE + MIN_PADDED_SIZE + TAG_SIZE
    assert encrypted_size(MIN_PADDED_SIZE - 1) == encrypted_size(0)
    # 65536 + 1 bytes: exponent 16, so Padme keeps 5 significant bits (steps of 2048).
    assert padded_size(CHUNK_SIZE) == CHUNK_SIZE + 2048
    assert encrypted_size(CHUNK_SIZE) == HEADER_SIZE + CHUNK_SIZE + 2048 + 2 * TAG_SIZE
    # Data plus marker fill exactly one chunk: a full chunk, then an empty final one.
    assert padded_size(CHUNK_SIZE - 1) == CHUNK_SIZE
    assert encrypted_size(CHUNK_SIZE - 1) == HEADER_SIZE + CHUNK_SIZE + 2 * TAG_SIZE
    with pytest.raises(ValueError):
        encrypted_size(-1)
    with pytest.raises(ValueError):
        padded_size(-1)


def test_streams_are_randomised() -> None:
    plaintext = payload(100)
    assert encrypt(plaintext) != encrypt(plaintext)


# --- tampering ----------------------------------------------------------------------------------

TWO_AND_A_HALF = payload(2 * CHUNK_SIZE + CHUNK_SIZE // 2, seed=7)


def _sampled_positions(length: int) -> list[int]:
    positions = set(range(HEADER_SIZE + 32))  # header, first chunk start
    for k in range(1, 4):
        boundary = HEADER_SIZE + k * ENCRYPTED_CHUNK_SIZE
        # Around each boundary: the end of a chunk's ciphertext, its tag, the next chunk's start.
        positions.update(range(boundary - TAG_SIZE - 4, boundary + 4))
    positions.update(range(length - TAG_SIZE - 4, length))
    positions.update(random.Random(1).sample(range(length), 200))  # noqa: S311
    return sorted(p for p in positions if 0 <= p < length)


def test_bit_flips_in_sampled_positions_refused() -> None:
    ciphertext = encrypt(TWO_AND_A_HALF)
    assert len(ciphertext) > 2 * ENCRYPTED_CHUNK_SIZE + HEADER_SIZE
    for position in _sampled_positions(len(ciphertext)):
        tampered = bytearray(ciphertext)
        tampered[position] ^= 1 << (position % 8)
        with pytest.raises(DecryptionError):
            decrypt(bytes(tampered))


def test_every_bit_flip_in_tiny_stream_refused() -> None:
    ciphertext = encrypt(b"tiny file")
    for position in range(len(ciphertext)):
        for bit in range(8):
            tampered = bytearray(ciphertext)
            tampered[position] ^= 1 << bit
            with pytest.raises(DecryptionError):
                decrypt(bytes(tampered))


def test_wrong_key_and_associated_data_refused() -> None:
    ciphertext = encrypt(TWO_AND_A_HALF)
    with pytest.raises(DecryptionError):
        decrypt(ciphertext, key=new_file_key())
    with pytest.raises(DecryptionError):
        decrypt(ciphertext, ad=b"case:42|attachment:8")
    with pytest.raises(DecryptionError):
        decrypt(ciphertext, key=bytes(16))
    with pytest.raises(CryptoError):
        encrypt(b"x", key=bytes(16))


@pytest.mark.parametrize("size", [0, 100, CHUNK_SIZE, CHUNK_SIZE + 100, 2 * CHUNK_SIZE])
def test_every_truncation_at_and_near_chunk_boundaries_refused(size: int) -> None:
    ciphertext = encrypt(payload(size))
    cuts = {0, 1, HEADER_SIZE - 1, HEADER_SIZE, len(ciphertext) - 1, len(ciphertext) - TAG_SIZE}
    for k in range(1, size // CHUNK_SIZE + 2):
        boundary = HEADER_SIZE + k * ENCRYPTED_CHUNK_SIZE
        cuts.update({boundary - 1, boundary, boundary + 1, boundary - TAG_SIZE})
    for cut in sorted(c for c in cuts if 0 <= c < len(ciphertext)):
        with pytest.raises(DecryptionError):
            decrypt(ciphertext[:cut])


def test_dropping_final_chunk_refused() -> None:
    for size in (CHUNK_SIZE, 2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 5):
        header, chunks = chunks_of(encrypt(payload(size)))
        with pytest.raises(DecryptionError):
            decrypt(header + b"".join(chunks[:-1]))


def test_truncation_yields_verified_prefix_then_fails() -> None:
    # Chunk 1 ends in a byte that cannot start padding, so nothing of it is held back.
    assert TWO_AND_A_HALF[2 * CHUNK_SIZE - 1] not in (0x00, 0x80)
    ciphertext = encrypt(TWO_AND_A_HALF)
    header, chunks = chunks_of(ciphertext)
    received: list[bytes] = []
    with pytest.raises(DecryptionError):
        for chunk in decrypt_chunks(KEY, io.BytesIO(header + b"".join(chunks[:2])), AD):
            received.append(chunk)
    assert b"".join(received) == TWO_AND_A_HALF[: 2 * CHUNK_SIZE]


def test_reordered_chunks_refused() -> None:
    header, chunks = chunks_of(encrypt(TWO_AND_A_HALF))
    assert len(chunks) == 3
    for order in ((1, 0, 2), (0, 2, 1), (2, 1, 0)):
        with pytest.raises(DecryptionError):
            decrypt(header + b"".join(chunks[i] for i in order))


def test_extension_refused() -> None:
    ciphertext = encrypt(TWO_AND_A_HALF)
    header, chunks = chunks_of(ciphertext)
    _other_header, other_chunks = chunks_of(encrypt(payload(3 * CHUNK_SIZE)))
    extended = [
        ciphertext + chunks[-1],  # final chunk appended again
        header + chunks[0] + chunks[0] + b"".join(chunks[1:]),  # duplicated chunk
        header + b"".join(chunks[:2]) + other_chunks[2] + chunks[2],  # chunk from another stream
        ciphertext + b"\x00",  # a trailing byte
        ciphertext + bytes(TAG_SIZE),  # an empty "chunk"
        ciphertext + ciphertext,
    ]
    for candidate in extended:
        with pytest.raises(DecryptionError):
            decrypt(candidate)


def test_trailing_data_withholds_final_chunk() -> None:
    ciphertext = encrypt(b"short and final")
    received: list[bytes] = []
    with pytest.raises(DecryptionError):
        for chunk in decrypt_chunks(KEY, io.BytesIO(ciphertext + b"!"), AD):
            received.append(chunk)
    assert received == []


def test_header_splice_refused() -> None:
    # Same key, two streams: swapping headers changes every nonce and AD.
    first = encrypt(b"first")
    second = encrypt(b"second")
    with pytest.raises(DecryptionError):
        decrypt(second[:HEADER_SIZE] + first[HEADER_SIZE:])


def test_malformed_headers() -> None:
    ciphertext = encrypt(b"x")
    with pytest.raises(DecryptionError):
        decrypt(b"")
    for version in (0x00, 0x03, 0xFF):
        with pytest.raises(UnsupportedFormatError):
            decrypt(bytes((version,)) + ciphertext[1:])
    with pytest.raises(DecryptionError):
        decrypt(ciphertext[:HEADER_SIZE])


def test_final_flag_is_checked() -> None:
    full = payload(CHUNK_SIZE)
    assert decrypt(forge([(full, False), (b"end", True)])) == full + b"end"
    assert decrypt(forge([(b"", True)])) == b""
    # A short chunk without the final flag: the stream was cut by its writer.
    with pytest.raises(DecryptionError):
        decrypt(forge([(b"end", False)]))
    with pytest.raises(DecryptionError):
        decrypt(forge([(full, False), (b"end", False)]))
    # A full chunk flagged final would let a stream end on a chunk boundary.
    with pytest.raises(DecryptionError):
        decrypt(forge([(full, True)]))
    with pytest.raises(DecryptionError):
        decrypt(forge([(full, True), (b"", True)]))


class LateDataReader:
    """Reports end of file once, then has more bytes (a file still being appended to)."""

    def __init__(self, data: bytes, late: bytes) -> None:
        self._data = io.BytesIO(data)
        self._late = late
        self._reported_eof = False

    def read(self, size: int = -1) -> bytes:
        data = self._data.read(size)
        if data:
            return data
        if not self._reported_eof:
            self._reported_eof = True
            return b""
        late, self._late = self._late, b""
        return late


def test_data_after_apparent_end_refused() -> None:
    ciphertext = encrypt(b"short and final")
    assert decrypt(ciphertext) == b"short and final"
    source = cast(BinaryIO, LateDataReader(ciphertext, b"appended later"))
    with pytest.raises(DecryptionError):
        list(decrypt_chunks(KEY, source, AD))


# --- version 2: padding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext",
    [
        b"\x80",
        b"\x80" * 3,
        bytes(CHUNK_SIZE),
        bytes(3 * CHUNK_SIZE + 7),
        b"\x80" + bytes(2 * CHUNK_SIZE),
        b"x" * (CHUNK_SIZE - 1) + b"\x80",
        b"\x80" + bytes(2 * CHUNK_SIZE + 5) + b"\x01",
        b"a" + bytes(CHUNK_SIZE) + b"\x80" + bytes(CHUNK_SIZE - 2) + b"\x80",
    ],
    ids=[
        "marker alone",
        "markers",
        "one chunk of zeros",
        "zeros over many chunks",
        "marker then chunks of zeros",
        "marker ends a chunk",
        "zero run between marker and data",
        "markers and zeros across chunks",
    ],
)
def test_data_that_looks_like_padding_round_trips(plaintext: bytes) -> None:
    ciphertext = encrypt(plaintext)
    assert ciphertext[0] == VERSION_2
    assert len(ciphertext) == encrypted_size(len(plaintext))
    assert decrypt(ciphertext) == plaintext
    encryptor = StreamEncryptor(KEY, AD)
    pieces = [encryptor.update(plaintext[i : i + 1000]) for i in range(0, len(plaintext), 1000)]
    assert decrypt(b"".join(pieces) + encryptor.finalize()) == plaintext


def test_finalize_chunks_streams_the_padding() -> None:
    # 4 MiB + 1: the bucket steps by 128 KiB, so the padding spans chunks, handed out one by one.
    size = 4 * 1024 * 1024 + 1
    encryptor = StreamEncryptor(KEY, AD)
    head = encryptor.update(payload(size))
    tail = list(encryptor.finalize_chunks())
    assert len(tail) > 1
    assert max(len(piece) for piece in tail) <= ENCRYPTED_CHUNK_SIZE
    assert len(head) + sum(map(len, tail)) == encrypted_size(size)
    assert decrypt(head + b"".join(tail)) == payload(size)
    with pytest.raises(CryptoError):
        encryptor.update(b"more")


def test_version_2_padding_is_checked() -> None:
    full = payload(CHUNK_SIZE)
    v2 = VERSION_2
    assert decrypt(forge([(b"data\x80" + bytes(100), True)], v2)) == b"data"
    assert decrypt(forge([(b"\x80", True)], v2)) == b""
    assert decrypt(forge([(full[:-1] + b"\x80", False), (bytes(9), True)], v2)) == full[:-1]
    malformed = [
        [(b"data", True)],  # no marker
        [(b"data\x80\x01", True)],  # a byte after the marker
        [(bytes(64), True)],  # zeros only
        [(b"", True)],  # nothing at all
        [(full[:-1] + b"\x80", False), (b"\x00\x02", True)],  # marker then data
    ]
    for chunks in malformed:
        with pytest.raises(DecryptionError):
            decrypt(forge(chunks, v2))


def test_version_byte_is_authenticated() -> None:
    # Relabelling a padded stream as version 1 (which has no padding) must not verify.
    ciphertext = encrypt(b"padded")
    with pytest.raises(DecryptionError):
        decrypt(bytes((VERSION_1,)) + ciphertext[1:])
    old = forge([(b"old file", True)])
    assert decrypt(old) == b"old file"
    with pytest.raises(DecryptionError):
        decrypt(bytes((VERSION_2,)) + old[1:])
