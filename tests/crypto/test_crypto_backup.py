"""crypto.backup: a backup opens only with its private key, whole and unaltered, in flat memory."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator

import pytest

import crypto
from crypto.backup import HEADER_SIZE, BackupEncryptor

PAIR = crypto.generate_keypair()


def encrypt(data: bytes, public_key: bytes = PAIR.public_key, pieces: int = 1) -> bytes:
    out = io.BytesIO()
    encryptor = BackupEncryptor(public_key, out)
    step = max(1, len(data) // pieces)
    for start in range(0, len(data), step):
        encryptor.write(data[start : start + step])
    encryptor.close()
    return out.getvalue()


def decrypt(blob: bytes, private_key: bytes = PAIR.private_key) -> bytes:
    return b"".join(crypto.decrypt_backup_chunks(private_key, io.BytesIO(blob)))


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 300_000])
def test_round_trip_in_any_pieces(size: int) -> None:
    data = bytes(i % 253 for i in range(size))
    for pieces in (1, 7):
        blob = encrypt(data, pieces=pieces)
        assert blob.startswith(b"CNDRBKUP\x01")
        assert decrypt(blob) == data


def test_each_backup_has_its_own_ephemeral_key() -> None:
    first, second = encrypt(b"same"), encrypt(b"same")
    assert first[:HEADER_SIZE] != second[:HEADER_SIZE] and first != second
    assert b"same" not in first


def test_another_key_is_refused_by_name() -> None:
    other = crypto.generate_keypair()
    with pytest.raises(crypto.BackupKeyMismatchError):
        decrypt(encrypt(b"cases"), other.private_key)


def test_another_key_with_a_forged_key_id_does_not_open() -> None:
    other = crypto.generate_keypair()
    blob = bytearray(encrypt(b"cases", other.public_key))
    blob[9:17] = crypto.backup_key_id(PAIR.public_key)
    with pytest.raises(crypto.DecryptionError) as raised:
        decrypt(bytes(blob))
    assert not isinstance(raised.value, crypto.BackupKeyMismatchError)


@pytest.mark.parametrize("position", [0, 8, 12, 30, HEADER_SIZE, HEADER_SIZE + 5, -1])
def test_any_changed_byte_is_refused(position: int) -> None:
    blob = bytearray(encrypt(bytes(200_000)))
    blob[position] ^= 0x01
    with pytest.raises(crypto.DecryptionError):
        decrypt(bytes(blob))


def test_truncated_and_extended_backups_are_refused() -> None:
    blob = encrypt(bytes(200_000))
    for damaged in (blob[:-1], blob[: HEADER_SIZE + 65536 + 16 + 5], blob[:20], blob + b"\0"):
        with pytest.raises(crypto.DecryptionError):
            decrypt(damaged)


def test_the_encryptor_refuses_use_after_close() -> None:
    encryptor = BackupEncryptor(PAIR.public_key, io.BytesIO())
    encryptor.close()
    with pytest.raises(crypto.CryptoError):
        encryptor.write(b"late")


def test_a_low_order_public_key_is_refused() -> None:
    with pytest.raises(crypto.CryptoError):
        BackupEncryptor(bytes(32), io.BytesIO())


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        size = len(memoryview(data))  # type: ignore[arg-type]
        self.size += size
        return size


def _zeros(total: int) -> Iterator[bytes]:
    piece = bytes(65536)
    for _ in range(total // len(piece)):
        yield piece


def test_memory_stays_flat_for_a_large_backup() -> None:
    sink = _Sink()
    tracemalloc.start()
    try:
        encryptor = BackupEncryptor(PAIR.public_key, sink)  # type: ignore[arg-type]
        for piece in _zeros(64 * 1024 * 1024):
            encryptor.write(piece)
        encryptor.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size > 64 * 1024 * 1024
    assert peak < 2 * 1024 * 1024
