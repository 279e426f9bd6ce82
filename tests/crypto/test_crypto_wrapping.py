"""Key derivation and key wrapping (password-based and key-based)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    PRODUCTION,
    PROFILES,
    TEST,
    Argon2Profile,
    CryptoError,
    DecryptionError,
    UnsupportedFormatError,
    blob_profile,
    derive_for_blob,
    derive_keys,
    new_salt,
    unwrap_with_key,
    unwrap_with_keys,
    unwrap_with_secret,
    verifier_matches,
    wrap_with_key,
    wrap_with_secret,
)
from crypto.wrapping import KEY_HEADER_SIZE, SECRET_HEADER_SIZE

KEY = bytes(range(32))
AD = b"handler:5|private-key"
PASSWORD = "correct horse battery staple"
SECRET = bytes(range(100, 132))


# --- derivation ---------------------------------------------------------------------------------


def test_profiles() -> None:
    assert PROFILES == {"production": PRODUCTION, "test": TEST}
    assert (TEST.time_cost, TEST.memory_cost_kib, TEST.parallelism) == (1, 8, 1)
    assert PRODUCTION.memory_cost_kib >= 64 * 1024
    PRODUCTION.validate()
    TEST.validate()


def test_derivation_is_deterministic_per_salt() -> None:
    salt = new_salt()
    assert len(salt) == 16
    first = derive_keys(PASSWORD, salt, TEST)
    assert first == derive_keys(PASSWORD, salt, TEST)
    assert first != derive_keys(PASSWORD, new_salt(), TEST)
    assert first != derive_keys(PASSWORD + "!", salt, TEST)
    assert len(first.wrapping_key) == 32
    assert len(first.verifier) == 32
    assert first.wrapping_key != first.verifier


def test_derivation_depends_on_profile() -> None:
    salt = new_salt()
    other = Argon2Profile("other", time_cost=2, memory_cost_kib=8, parallelism=1)
    assert derive_keys(PASSWORD, salt, TEST) != derive_keys(PASSWORD, salt, other)


def test_secret_is_nfc_normalised() -> None:
    salt = new_salt()
    composed = "caf\u00e9 passw\u00f6rd"
    decomposed = "cafe\u0301 passwo\u0308rd"
    assert composed != decomposed
    assert derive_keys(composed, salt, TEST) == derive_keys(decomposed, salt, TEST)


def test_derived_keys_repr_hides_values() -> None:
    keys = derive_keys(PASSWORD, new_salt(), TEST)
    assert keys.wrapping_key.hex() not in repr(keys)
    assert keys.verifier.hex() not in repr(keys)


def test_bad_parameters_refused() -> None:
    with pytest.raises(CryptoError):
        derive_keys(PASSWORD, b"short", TEST)
    for bad in (
        Argon2Profile("bad", 0, 8, 1),
        Argon2Profile("bad", 1, 7, 1),
        Argon2Profile("bad", 1, 8, 2),
        Argon2Profile("bad", 1, 8, 0),
        Argon2Profile("bad", 1000, 8, 1),
    ):
        with pytest.raises(CryptoError):
            derive_keys(PASSWORD, new_salt(), bad)


def test_verifier_matches() -> None:
    keys = derive_keys(PASSWORD, new_salt(), TEST)
    assert verifier_matches(keys.verifier, bytes(keys.verifier))
    assert not verifier_matches(keys.verifier, keys.wrapping_key)
    assert not verifier_matches(keys.verifier, keys.verifier[:-1])


# --- wrapping under a secret --------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    key_material=st.binary(max_size=96),
    secret=st.text(max_size=40),
    associated_data=st.binary(max_size=64),
)
def test_secret_wrap_round_trip(key_material: bytes, secret: str, associated_data: bytes) -> None:
    blob, verifier = wrap_with_secret(key_material, secret, associated_data, TEST)
    assert unwrap_with_secret(blob, secret, associated_data) == key_material
    keys = derive_for_blob(blob, secret)
    assert verifier_matches(verifier, keys.verifier)
    assert unwrap_with_keys(blob, keys, associated_data) == key_material


def test_wrong_password_refused() -> None:
    blob, verifier = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    keys = derive_for_blob(blob, PASSWORD + "x")
    assert not verifier_matches(verifier, keys.verifier)
    with pytest.raises(DecryptionError):
        unwrap_with_keys(blob, keys, AD)
    with pytest.raises(DecryptionError):
        unwrap_with_secret(blob, "Correct horse battery staple", AD)


def test_wrong_associated_data_refused() -> None:
    blob, _ = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    with pytest.raises(DecryptionError):
        unwrap_with_secret(blob, PASSWORD, b"handler:6|private-key")


def test_verifier_is_deterministic_and_distinct_from_wrapping_key() -> None:
    blob, verifier = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    salt = blob[13:29]
    keys = derive_keys(PASSWORD, salt, TEST)
    assert keys.verifier == verifier
    assert derive_for_blob(blob, PASSWORD) == keys
    assert keys.wrapping_key != verifier
    # Two wraps of the same key use fresh salts: unlinkable blobs and verifiers.
    blob2, verifier2 = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    assert blob2 != blob
    assert verifier2 != verifier


def test_parameters_are_recorded_and_used() -> None:
    custom = Argon2Profile("custom", time_cost=2, memory_cost_kib=16, parallelism=2)
    blob, verifier = wrap_with_secret(KEY, PASSWORD, AD, custom)
    recorded = blob_profile(blob)
    assert recorded == Argon2Profile("recorded", 2, 16, 2)
    assert struct.unpack(">BIII", blob[:13]) == (1, 2, 16, 2)
    # The caller is never told the profile: it comes from the blob.
    assert unwrap_with_secret(blob, PASSWORD, AD) == KEY
    assert derive_for_blob(blob, PASSWORD).verifier == verifier
    assert blob_profile(wrap_with_secret(KEY, PASSWORD, AD, TEST)[0]).time_cost == 1


def test_swapping_parameters_in_header_refused() -> None:
    blob, _ = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    for params in ((2, 8, 1), (1, 16, 1), (1, 16, 2), (3, 32, 1)):
        swapped = struct.pack(">BIII", 1, *params) + blob[13:]
        with pytest.raises(DecryptionError):
            unwrap_with_secret(swapped, PASSWORD, AD)
        # Even with keys derived under the swapped parameters, the authenticated header
        # no longer matches the one used at wrap time.
        with pytest.raises(DecryptionError):
            unwrap_with_keys(swapped, derive_for_blob(swapped, PASSWORD), AD)


def test_header_ciphertext_splice_refused() -> None:
    # Keys derived for blob A must not open blob B's ciphertext under A's header.
    blob_a, _ = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    blob_b, _ = wrap_with_secret(bytes(32), PASSWORD, AD, TEST)
    spliced = blob_a[:SECRET_HEADER_SIZE] + blob_b[SECRET_HEADER_SIZE:]
    with pytest.raises(DecryptionError):
        unwrap_with_secret(spliced, PASSWORD, AD)


def test_every_single_byte_change_refused() -> None:
    blob, _ = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    for position in range(len(blob)):
        for mask in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= mask
            with pytest.raises(DecryptionError):
                unwrap_with_secret(bytes(tampered), PASSWORD, AD)


def test_malformed_secret_blobs() -> None:
    blob, _ = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    for length in (0, 1, 13, SECRET_HEADER_SIZE, SECRET_HEADER_SIZE + 15):
        with pytest.raises(DecryptionError):
            unwrap_with_secret(blob[:length], PASSWORD, AD)
    with pytest.raises(DecryptionError):
        blob_profile(b"")
    with pytest.raises(UnsupportedFormatError):
        derive_for_blob(b"\x02" + blob[1:], PASSWORD)
    huge = struct.pack(">BIII", 1, 1, 0xFFFFFFFF, 1) + blob[13:]
    with pytest.raises(DecryptionError):
        derive_for_blob(huge, PASSWORD)


# --- wrapping under a high-entropy key ----------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    key_material=st.binary(max_size=96),
    secret=st.binary(min_size=16, max_size=64),
    associated_data=st.binary(max_size=64),
)
def test_key_wrap_round_trip(key_material: bytes, secret: bytes, associated_data: bytes) -> None:
    blob = wrap_with_key(key_material, secret, associated_data)
    assert len(blob) == KEY_HEADER_SIZE + len(key_material) + 16
    assert unwrap_with_key(blob, secret, associated_data) == key_material


def test_key_wrap_refusals() -> None:
    blob = wrap_with_key(KEY, SECRET, AD)
    assert wrap_with_key(KEY, SECRET, AD) != blob
    with pytest.raises(DecryptionError):
        unwrap_with_key(blob, bytes(32), AD)
    with pytest.raises(DecryptionError):
        unwrap_with_key(blob, SECRET, AD + b"!")
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            unwrap_with_key(bytes(tampered), SECRET, AD)
    for length in range(KEY_HEADER_SIZE + 16):
        with pytest.raises(DecryptionError):
            unwrap_with_key(blob[:length], SECRET, AD)
    with pytest.raises(UnsupportedFormatError):
        unwrap_with_key(b"\x07" + blob[1:], SECRET, AD)
    with pytest.raises(CryptoError):
        wrap_with_key(KEY, bytes(15), AD)


def test_formats_do_not_cross() -> None:
    # A key-wrapped blob is not a secret-wrapped blob and vice versa, despite the shared version.
    key_blob = wrap_with_key(KEY, SECRET, AD)
    with pytest.raises(DecryptionError):
        unwrap_with_secret(key_blob, PASSWORD, AD)
    secret_blob, _ = wrap_with_secret(KEY, PASSWORD, AD, TEST)
    with pytest.raises(DecryptionError):
        unwrap_with_key(secret_blob, SECRET, AD)
