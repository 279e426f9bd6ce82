"""The reporter's visit record: sealed under the passphrase-derived visits key, one size always."""

from __future__ import annotations

import pytest

from crypto import TEST, CryptoError, DecryptionError, UnsupportedFormatError, derive_keys
from crypto.visits import BLOB_SIZE, MAX_RECORD_SIZE, RECORD_SIZE, open_visits, seal_visits
from crypto.wrapping import derive_for_blob, unwrap_with_keys, wrap_with_secret_keys

KEY = bytes(range(32))
AD = b"candor:case:abc:reporter-visits"


def test_round_trip() -> None:
    record = b"\x01" + bytes(range(40))
    assert open_visits(KEY, seal_visits(KEY, record, AD), AD) == record


@pytest.mark.parametrize("size", [0, 1, 6, 186, MAX_RECORD_SIZE])
def test_every_record_has_one_size(size: int) -> None:
    blob = seal_visits(KEY, bytes(size), AD)
    assert len(blob) == BLOB_SIZE == 1 + 12 + RECORD_SIZE + 16
    assert open_visits(KEY, blob, AD) == bytes(size)


def test_a_record_too_long_is_refused() -> None:
    with pytest.raises(CryptoError):
        seal_visits(KEY, bytes(MAX_RECORD_SIZE + 1), AD)


def test_fresh_nonce_each_time() -> None:
    assert seal_visits(KEY, b"same", AD) != seal_visits(KEY, b"same", AD)


def test_wrong_key_fails() -> None:
    blob = seal_visits(KEY, b"record", AD)
    with pytest.raises(DecryptionError):
        open_visits(bytes(32), blob, AD)


def test_moved_to_another_case_fails() -> None:
    blob = seal_visits(KEY, b"record", AD)
    with pytest.raises(DecryptionError):
        open_visits(KEY, blob, b"candor:case:other:reporter-visits")


@pytest.mark.parametrize("index", [0, 1, 12, 13, 100, BLOB_SIZE - 1])
def test_any_flipped_bit_fails(index: int) -> None:
    blob = bytearray(seal_visits(KEY, b"record", AD))
    blob[index] ^= 0x01
    with pytest.raises(DecryptionError):
        open_visits(KEY, bytes(blob), AD)


@pytest.mark.parametrize("cut", [0, 1, 13, BLOB_SIZE - 1])
def test_truncated_fails(cut: int) -> None:
    blob = seal_visits(KEY, b"record", AD)
    with pytest.raises(DecryptionError):
        open_visits(KEY, blob[:cut], AD)


def test_extended_fails() -> None:
    blob = seal_visits(KEY, b"record", AD)
    with pytest.raises(DecryptionError):
        open_visits(KEY, blob + b"\x00", AD)


def test_unknown_version_fails() -> None:
    blob = b"\x02" + seal_visits(KEY, b"record", AD)[1:]
    with pytest.raises(UnsupportedFormatError):
        open_visits(KEY, blob, AD)


def test_wrong_key_size_is_refused() -> None:
    with pytest.raises(CryptoError):
        seal_visits(bytes(16), b"record", AD)
    with pytest.raises(CryptoError):
        open_visits(bytes(16), seal_visits(KEY, b"record", AD), AD)


def test_visits_key_comes_from_the_same_run_as_the_wrapping_key() -> None:
    """Wrapping at intake and deriving at sign-in give the same visits key, from one run each."""
    blob, keys = wrap_with_secret_keys(KEY, "correct horse battery staple", b"ad", TEST)
    again = derive_for_blob(blob, "correct horse battery staple")
    assert again == keys
    assert unwrap_with_keys(blob, again, b"ad") == KEY
    assert keys.visits_key not in (keys.wrapping_key, keys.verifier)
    other = derive_for_blob(blob, "another passphrase entirely")
    assert other.visits_key != keys.visits_key


def test_derived_keys_hide_the_visits_key() -> None:
    keys = derive_keys("passphrase words", bytes(16), TEST)
    assert keys.visits_key.hex() not in repr(keys)
    assert "visits_key=<hidden>" in repr(keys)
