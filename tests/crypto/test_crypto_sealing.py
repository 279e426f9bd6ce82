"""Sealing: round trips, tamper detection and input validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    CryptoError,
    DecryptionError,
    KeyPair,
    UnsupportedFormatError,
    generate_keypair,
    open_sealed,
    public_key_from_private,
    seal,
    sealed_size,
)
from crypto.padding import bucket
from crypto.sealing import (
    HEADER_SIZE,
    MIN_BLOB_SIZE,
    MIN_PADDED_SIZE,
    VERSION_1,
    VERSION_2,
    _seal_with,
)

KEYS = generate_keypair()
OTHER = generate_keypair()
AD = b"case:1|message:2"


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=2048), associated_data=st.binary(max_size=128))
def test_round_trip(plaintext: bytes, associated_data: bytes) -> None:
    blob = seal(KEYS.public_key, plaintext, associated_data)
    assert blob[0] == VERSION_2
    assert len(blob) == sealed_size(len(plaintext))
    assert len(blob) == MIN_BLOB_SIZE + bucket(len(plaintext) + 1, MIN_PADDED_SIZE)
    assert open_sealed(KEYS.private_key, blob, associated_data) == plaintext


@settings(max_examples=30, deadline=None)
@given(plaintext=st.binary(max_size=600), associated_data=st.binary(max_size=64))
def test_version_1_blobs_still_open(plaintext: bytes, associated_data: bytes) -> None:
    ephemeral = generate_keypair()
    blob = _seal_with(
        ephemeral.private_key, bytes(12), KEYS.public_key, plaintext, associated_data, VERSION_1
    )
    assert blob[0] == VERSION_1
    assert len(blob) == MIN_BLOB_SIZE + len(plaintext)
    assert open_sealed(KEYS.private_key, blob, associated_data) == plaintext


def test_sealed_size_is_bucketed() -> None:
    # Every text shorter than the floor shares the smallest size.
    assert {sealed_size(n) for n in range(MIN_PADDED_SIZE)} == {MIN_BLOB_SIZE + MIN_PADDED_SIZE}
    assert sealed_size(MIN_PADDED_SIZE) == MIN_BLOB_SIZE + 272
    assert sealed_size(1000) == MIN_BLOB_SIZE + 1024
    with pytest.raises(ValueError):
        sealed_size(-1)


def test_keypair_shape_and_public_derivation() -> None:
    assert len(KEYS.private_key) == 32
    assert len(KEYS.public_key) == 32
    assert public_key_from_private(KEYS.private_key) == KEYS.public_key
    assert KEYS != OTHER


def test_keypair_repr_hides_private_key() -> None:
    text = repr(KEYS)
    assert KEYS.private_key.hex() not in text
    assert KEYS.public_key.hex() in text


def test_sealing_is_randomised() -> None:
    first = seal(KEYS.public_key, b"same", AD)
    second = seal(KEYS.public_key, b"same", AD)
    assert first != second
    # Different ephemeral keys and nonces each time.
    assert first[1:HEADER_SIZE] != second[1:HEADER_SIZE]


def test_every_single_byte_change_is_refused() -> None:
    blob = seal(KEYS.public_key, b"secret!", AD)
    for position in range(len(blob)):
        for mask in (0x01, 0x80, 0xFF):
            tampered = bytearray(blob)
            tampered[position] ^= mask
            with pytest.raises(DecryptionError):
                open_sealed(KEYS.private_key, bytes(tampered), AD)


def test_every_truncation_and_extension_is_refused() -> None:
    blob = seal(KEYS.public_key, b"secret!", AD)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            open_sealed(KEYS.private_key, blob[:length], AD)
    with pytest.raises(DecryptionError):
        open_sealed(KEYS.private_key, blob + b"\x00", AD)


def test_wrong_key_refused() -> None:
    blob = seal(KEYS.public_key, b"for KEYS only", AD)
    with pytest.raises(DecryptionError):
        open_sealed(OTHER.private_key, blob, AD)


def test_wrong_associated_data_refused() -> None:
    blob = seal(KEYS.public_key, b"bound to its row", AD)
    for wrong in (b"", b"case:1|message:3", AD + b"\x00", AD[:-1]):
        with pytest.raises(DecryptionError):
            open_sealed(KEYS.private_key, blob, wrong)


def test_unknown_version_is_unsupported_format() -> None:
    blob = bytearray(seal(KEYS.public_key, b"x", AD))
    for version in (0x00, 0x03, 0xFF):
        blob[0] = version
        with pytest.raises(UnsupportedFormatError):
            open_sealed(KEYS.private_key, bytes(blob), AD)


def test_version_byte_swap_is_refused() -> None:
    # Each version derives its key under its own label, so relabelling a blob never opens it:
    # a version-2 blob read as version 1 would otherwise hand out its padding as text.
    ephemeral = generate_keypair()
    for version, other in ((VERSION_1, VERSION_2), (VERSION_2, VERSION_1)):
        blob = _seal_with(ephemeral.private_key, bytes(12), KEYS.public_key, b"x", AD, version)
        with pytest.raises(DecryptionError):
            open_sealed(KEYS.private_key, bytes((other,)) + blob[1:], AD)


def test_malformed_inputs_raise_decryption_error() -> None:
    for blob in (b"", b"\x01", b"\x01" + bytes(MIN_BLOB_SIZE - 2), b"\x02" + bytes(MIN_BLOB_SIZE)):
        with pytest.raises(DecryptionError):
            open_sealed(KEYS.private_key, blob, AD)
    good = seal(KEYS.public_key, b"x", AD)
    for bad_private in (b"", bytes(31), bytes(33)):
        with pytest.raises(DecryptionError):
            open_sealed(bad_private, good, AD)


def test_ephemeral_key_substitution_refused() -> None:
    blob = seal(KEYS.public_key, b"x", AD)
    forged = blob[:1] + OTHER.public_key + blob[HEADER_SIZE - 12 :]
    with pytest.raises(DecryptionError):
        open_sealed(KEYS.private_key, forged, AD)


def test_bad_public_keys_refused_when_sealing() -> None:
    for bad in (b"", bytes(31), bytes(33)):
        with pytest.raises(CryptoError):
            seal(bad, b"x", AD)
    # The all-zero point has small order: the shared secret would be public.
    with pytest.raises(CryptoError):
        seal(bytes(32), b"x", AD)


def test_deterministic_helper_matches_public_format() -> None:
    ephemeral = generate_keypair()
    nonce = bytes(range(12))
    blob = _seal_with(ephemeral.private_key, nonce, KEYS.public_key, b"kat", AD)
    assert blob == _seal_with(ephemeral.private_key, nonce, KEYS.public_key, b"kat", AD)
    assert blob[0] == 0x02
    assert blob[1:33] == ephemeral.public_key
    assert blob[33:45] == nonce
    assert open_sealed(KEYS.private_key, blob, AD) == b"kat"
    with pytest.raises(CryptoError):
        _seal_with(ephemeral.private_key, bytes(11), KEYS.public_key, b"kat", AD)
    with pytest.raises(CryptoError):
        _seal_with(ephemeral.private_key, nonce, KEYS.public_key, b"kat", AD, version=3)


def test_keypair_is_frozen() -> None:
    pair = KeyPair(private_key=bytes(32), public_key=bytes(32))
    with pytest.raises(AttributeError):
        pair.private_key = b""  # type: ignore[misc]
