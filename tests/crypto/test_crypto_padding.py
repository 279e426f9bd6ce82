"""Padmé buckets and the 0x80 padding rule: known answers, properties, malformed padding."""

from __future__ import annotations

import itertools
import math

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import CryptoError, DecryptionError, generate_keypair, open_sealed
from crypto.padding import StreamUnpadder, _end_of_data, bucket, pad, padme, unpad
from crypto.sealing import VERSION_2, _derive_key, _load_private, _public_bytes

# Worked by hand from the paper's definition: E = floor(log2 L), S = floor(log2 E) + 1,
# round L up to a multiple of 2 ** (E - S).
KNOWN_ANSWERS = [
    (0, 0),
    (1, 1),
    (2, 2),
    (7, 7),
    (8, 8),  # E=3, S=2: multiples of 2
    (9, 10),
    (15, 16),
    (17, 18),  # E=4, S=3: multiples of 2
    (33, 36),  # E=5, S=3: multiples of 4
    (255, 256),  # E=7, S=3: multiples of 16
    (256, 256),
    (257, 272),  # E=8, S=4: multiples of 16
    (1000, 1024),  # E=9, S=4: multiples of 32
    (1025, 1088),  # E=10, S=4: multiples of 64
    (4097, 4352),  # E=12, S=4: multiples of 256
    (65537, 67584),  # E=16, S=5: multiples of 2048
    (1_000_000, 1_015_808),  # E=19, S=5: multiples of 16384
    (2**30 + 1, 2**30 + 2**25),  # E=30, S=5: multiples of 2 ** 25
]


@pytest.mark.parametrize(("length", "expected"), KNOWN_ANSWERS)
def test_padme_known_answers(length: int, expected: int) -> None:
    assert padme(length) == expected


def reference_padme(length: int) -> int:
    """The paper's pseudo-code with floating-point logarithms (exact for these sizes)."""
    e = math.floor(math.log2(length))
    s = math.floor(math.log2(e)) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def test_padme_matches_the_paper_for_every_small_length() -> None:
    for length in range(2, 70_000):
        assert padme(length) == reference_padme(length), length


@settings(max_examples=300, deadline=None)
@given(length=st.integers(0, 2**48))
def test_padme_properties(length: int) -> None:
    padded = padme(length)
    assert padded >= length
    assert padme(padded) == padded  # a bucket is its own bucket
    assert padme(length + 1) >= padded  # monotonic
    if length >= 2:
        # Overhead at most 2 ** (E - S) - 1, under 1 / (2 log2 L) of L plus rounding, < 12 %.
        assert padded - length < length * 0.12 + 1
        e = length.bit_length() - 1
        # Only floor(log2 E) + 1 significant bits remain: the leak is O(log log L) bits.
        significant = padded.bit_length() - (padded & -padded).bit_length() + 1
        assert significant <= e.bit_length() + 1


def test_number_of_buckets_grows_like_log_log() -> None:
    # Lengths 2**20 .. 2**21 - 1 (a million values) fall into 32 buckets (5 bits).
    buckets = {padme(n) for n in range(2**20, 2**21, 97)} | {padme(2**21 - 1)}
    assert len(buckets) <= 33
    assert len(buckets) >= 16


def test_bucket_floor() -> None:
    assert {bucket(n, 256) for n in range(257)} == {256}
    assert bucket(257, 256) == 272
    assert bucket(5, 0) == 5
    with pytest.raises(ValueError):
        bucket(1, -1)
    with pytest.raises(ValueError):
        padme(-1)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000), minimum=st.sampled_from([0, 1, 16, 256, 4096]))
def test_pad_round_trip_and_size(data: bytes, minimum: int) -> None:
    padded = pad(data, minimum)
    assert len(padded) == bucket(len(data) + 1, minimum)
    assert padded[: len(data) + 1] == data + b"\x80"
    assert not any(padded[len(data) + 1 :])
    assert unpad(padded) == data


def test_same_bucket_same_padded_length() -> None:
    assert len(pad(b"yes", 256)) == len(pad(b"I saw the invoices being altered" * 7, 256)) == 256


@pytest.mark.parametrize(
    "padded",
    [b"", b"\x00", bytes(300), b"data", b"data\x80\x01", b"\x80\x00\x7f", b"\x01\x00\x00"],
)
def test_unpad_refuses_malformed(padded: bytes) -> None:
    with pytest.raises(DecryptionError):
        unpad(padded)


def feed_all(pieces: list[bytes]) -> bytes:
    unpadder = StreamUnpadder()
    out = b"".join(b"".join(unpadder.feed(piece)) for piece in pieces)
    unpadder.finish()
    return out


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\x00", b"\x80", b"\x01", b"\x00" * 70_000]), max_size=12),
    cuts=st.lists(st.integers(0, 300_000), max_size=6),
)
def test_stream_unpadder_matches_unpad(data: list[bytes], cuts: list[int]) -> None:
    # Data made of zeros and markers is the hard case: any of it could look like padding.
    plaintext = b"".join(data)
    padded = pad(plaintext, 4096)
    points = sorted({0, len(padded), *(c for c in cuts if c <= len(padded))})
    pieces = [padded[a:b] for a, b in itertools.pairwise(points)]
    assert feed_all(pieces) == plaintext


def test_stream_unpadder_holds_back_only_what_could_be_padding() -> None:
    unpadder = StreamUnpadder()
    assert b"".join(unpadder.feed(b"abc\x80")) == b"abc"
    assert b"".join(unpadder.feed(bytes(200_000))) == b""  # a count, not a buffer
    assert b"".join(unpadder.feed(b"\x05")) == b"\x80" + bytes(200_000) + b"\x05"
    assert b"".join(unpadder.feed(bytes(10))) == bytes(10)  # no marker held: certainly data
    assert b"".join(unpadder.feed(b"\x80\x00")) == b""
    unpadder.finish()
    with pytest.raises(CryptoError):
        unpadder.finish()
    with pytest.raises(CryptoError):
        unpadder.feed(b"more")


@pytest.mark.parametrize(
    "pieces", [[], [b""], [b"abc"], [bytes(10)], [b"\x80\x01"], [b"\x80", b"x"]]
)
def test_stream_unpadder_refuses_malformed(pieces: list[bytes]) -> None:
    with pytest.raises(DecryptionError):
        feed_all(pieces)


def test_sealed_blob_with_malformed_padding_is_refused() -> None:
    """A sender holding only the public key can seal anything; bad padding must still fail."""
    keys = generate_keypair()
    ad = b"case:1|message:1"
    sender = generate_keypair()
    shared = _load_private(sender.private_key).exchange(
        _load_private(keys.private_key).public_key()
    )
    key = _derive_key(shared, sender.public_key, _public_bytes(_load_private(keys.private_key)), 2)
    nonce = bytes(12)

    def forged(padded: bytes) -> bytes:
        body = AESGCM(key).encrypt(nonce, padded, ad)
        return bytes((VERSION_2,)) + sender.public_key + nonce + body

    assert open_sealed(keys.private_key, forged(b"ok\x80" + bytes(253)), ad) == b"ok"
    for padded in (b"ok" + bytes(254), bytes(256), b"", b"ok\x80\x01"):
        with pytest.raises(DecryptionError):
            open_sealed(keys.private_key, forged(padded), ad)


@settings(max_examples=300, deadline=None)
@given(
    size=st.sampled_from([0, 1, 2, 17, 4096, 65535, 65536, 70_000]),
    marks=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=3),
)
def test_end_of_data_matches_rstrip(size: int, marks: list[tuple[float, int]]) -> None:
    piece = bytearray(size)
    for where, value in marks:
        if size:
            piece[int(where * size)] = value
    assert _end_of_data(bytes(piece)) == len(bytes(piece).rstrip(b"\x00"))
