"""Attack: cut, reorder, duplicate or extend the chunks of an encrypted attachment, or its padding.

Someone who can write to the attachment folder (but holds no file key) edits an encrypted file:
drops the end (to hide the part of a recording that names someone), swaps or repeats chunks,
appends data, or cuts the padding off so the file looks like another size. Every chunk is
AES-256-GCM with its index, a final flag and the header (version byte included) in the
associated data; only a short chunk may be final; nothing may follow the final chunk; and in
version 2 the padding is inside the chunks and must be a 0x80 marker followed by zeros. The
site refuses each change with ``DecryptionError``, and the attachment store verifies the whole
file before it hands out a single byte.

Already covered in ``tests/crypto/test_crypto_stream.py`` (whose streams are version 2 now):
``test_every_truncation_at_and_near_chunk_boundaries_refused``,
``test_dropping_final_chunk_refused``, ``test_reordered_chunks_refused``,
``test_extension_refused`` (duplicated, foreign and trailing chunks),
``test_trailing_data_withholds_final_chunk``, ``test_data_after_apparent_end_refused``,
``test_final_flag_is_checked``, ``test_version_2_padding_is_checked`` and
``test_version_byte_is_authenticated``. This file runs the same attacks on both versions side
by side (version-1 files are still on disk) and adds the attacks on the padding itself.
"""

from __future__ import annotations

import io
import random
import secrets
from pathlib import Path

import pytest

from crypto import CHUNK_SIZE, DecryptionError, decrypt_chunks, new_file_key
from crypto.stream import (
    ENCRYPTED_CHUNK_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    VERSION_1,
    VERSION_2,
    StreamEncryptor,
)
from portal.services.attachments import FolderStore, write_attachment

KEY = new_file_key()
AD = b"candor:attachment:0123abcd:file"
VERSIONS = [pytest.param(VERSION_1, id="version 1"), pytest.param(VERSION_2, id="version 2")]


def payload(size: int, seed: int = 3) -> bytes:
    # Reproducible test data, not key material.
    return random.Random(seed).randbytes(size)  # noqa: S311


def encrypt(plaintext: bytes, version: int, key: bytes = KEY) -> bytes:
    # A fresh nonce prefix per stream, as the real encryptor draws (the fixed-prefix constructor
    # is the only way to write version 1).
    prefix = secrets.token_bytes(4)
    encryptor = StreamEncryptor._with_nonce_prefix(key, AD, prefix, version)
    return encryptor.update(plaintext) + encryptor.finalize()


def decrypt(ciphertext: bytes) -> bytes:
    return b"".join(decrypt_chunks(KEY, io.BytesIO(ciphertext), AD))


def split(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    body = ciphertext[HEADER_SIZE:]
    step = ENCRYPTED_CHUNK_SIZE
    return ciphertext[:HEADER_SIZE], [body[i : i + step] for i in range(0, len(body), step)]


# Two full chunks and a short one in version 1; version 2 adds padding up to the bucket.
PLAINTEXT = payload(2 * CHUNK_SIZE + 1000)


@pytest.mark.parametrize("version", VERSIONS)
def test_untouched_stream_opens(version: int) -> None:
    assert decrypt(encrypt(PLAINTEXT, version)) == PLAINTEXT


@pytest.mark.parametrize("version", VERSIONS)
def test_truncated_streams_refused(version: int) -> None:
    ciphertext = encrypt(PLAINTEXT, version)
    header, chunks = split(ciphertext)
    cuts = {0, 1, HEADER_SIZE, len(ciphertext) - 1, len(ciphertext) - TAG_SIZE}
    for k in range(1, len(chunks) + 1):
        boundary = HEADER_SIZE + k * ENCRYPTED_CHUNK_SIZE
        cuts.update({boundary - 1, boundary, boundary + 1})
    for cut in sorted(c for c in cuts if c < len(ciphertext)):
        with pytest.raises(DecryptionError):
            decrypt(ciphertext[:cut])
    for keep in range(len(chunks)):
        with pytest.raises(DecryptionError):
            decrypt(header + b"".join(chunks[:keep]))


@pytest.mark.parametrize("version", VERSIONS)
def test_reordered_chunks_refused(version: int) -> None:
    header, chunks = split(encrypt(PLAINTEXT, version))
    assert len(chunks) == 3
    for order in ((1, 0, 2), (0, 2, 1), (2, 1, 0), (2, 0, 1)):
        with pytest.raises(DecryptionError):
            decrypt(header + b"".join(chunks[i] for i in order))


@pytest.mark.parametrize("version", VERSIONS)
def test_duplicated_chunks_refused(version: int) -> None:
    header, chunks = split(encrypt(PLAINTEXT, version))
    for index in range(len(chunks)):
        doubled = chunks[: index + 1] + chunks[index:]
        with pytest.raises(DecryptionError):
            decrypt(header + b"".join(doubled))


@pytest.mark.parametrize("version", VERSIONS)
def test_trailing_data_refused(version: int) -> None:
    ciphertext = encrypt(PLAINTEXT, version)
    header, chunks = split(ciphertext)
    _other_header, other = split(encrypt(payload(3 * CHUNK_SIZE, seed=9), version))
    for extra in (b"\x00", bytes(TAG_SIZE), chunks[-1], other[-1], ciphertext):
        with pytest.raises(DecryptionError):
            decrypt(ciphertext + extra)
    # A chunk from another file with the same key, put before the final one.
    with pytest.raises(DecryptionError):
        decrypt(header + b"".join(chunks[:2]) + other[2] + chunks[2])


@pytest.mark.parametrize("version", VERSIONS)
def test_relabelled_version_refused(version: int) -> None:
    ciphertext = encrypt(PLAINTEXT, version)
    other = VERSION_2 if version == VERSION_1 else VERSION_1
    with pytest.raises(DecryptionError):
        decrypt(bytes((other,)) + ciphertext[1:])


# --- the padding (version 2) ------------------------------------------------------------------

# 200 kB: padded to 200,704 bytes, so the last data chunk, the marker and the padding fall in
# the fourth chunk, whose data ends at byte 200,000 - 3 * 65,536 = 3,392.
PADDED_PLAINTEXT = payload(200_000)


def test_padding_bytes_cannot_be_changed() -> None:
    ciphertext = encrypt(PADDED_PLAINTEXT, VERSION_2)
    _header, chunks = split(ciphertext)
    final_start = HEADER_SIZE + 3 * ENCRYPTED_CHUNK_SIZE
    data_end = final_start + (len(PADDED_PLAINTEXT) - 3 * CHUNK_SIZE)
    assert len(chunks) == 4 and data_end < len(ciphertext) - TAG_SIZE
    # The marker, the zeros after it and the final tag: turn any of them into something else.
    for position in (data_end, data_end + 1, data_end + 500, len(ciphertext) - TAG_SIZE - 1):
        for mask in (0x01, 0x80):
            tampered = bytearray(ciphertext)
            tampered[position] ^= mask
            with pytest.raises(DecryptionError):
                decrypt(bytes(tampered))


def test_padding_cannot_be_cut_to_show_another_size() -> None:
    # Cutting the file down to the size version 1 would give (the true size) must not verify.
    ciphertext = encrypt(PADDED_PLAINTEXT, VERSION_2)
    true_size = HEADER_SIZE + len(PADDED_PLAINTEXT) + 4 * TAG_SIZE
    assert len(ciphertext) > true_size
    for cut in (true_size, true_size - TAG_SIZE, len(ciphertext) - 1):
        with pytest.raises(DecryptionError):
            decrypt(ciphertext[:cut])


def test_padding_chunks_of_another_file_refused() -> None:
    # Many padding chunks are all zeros inside: still, one from another stream never fits.
    size = 4 * 1024 * 1024 + 1  # padded by 128 KiB: two chunks of zeros before the final one
    first = encrypt(payload(size), VERSION_2)
    second = encrypt(payload(size, seed=4), VERSION_2)
    header, chunks = split(first)
    _header, others = split(second)
    assert len(chunks) == len(others) and len(chunks) > 66
    for index in (len(chunks) - 3, len(chunks) - 2, len(chunks) - 1):
        swapped = [*chunks[:index], others[index], *chunks[index + 1 :]]
        with pytest.raises(DecryptionError):
            decrypt(header + b"".join(swapped))


# --- the attachment store -----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_store_hands_out_nothing_from_a_cut_file(version: int, tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    upload = write_attachment(store, "evidence.bin", "application/octet-stream", PLAINTEXT)
    store.commit(upload.uid)
    path = store.path(upload.uid)
    if version == VERSION_1:
        # A file stored before padding: rewrite it in version 1 under the same key and context.
        prefix = bytes(4)
        context = f"candor:attachment:{upload.uid}:file".encode()
        old = StreamEncryptor._with_nonce_prefix(upload.file_key, context, prefix, VERSION_1)
        path.write_bytes(old.update(PLAINTEXT) + old.finalize())
    assert b"".join(store.read(upload.uid, upload.file_key)) == PLAINTEXT
    whole = path.read_bytes()
    header, chunks = split(whole)
    for edited in (
        whole[: HEADER_SIZE + 2 * ENCRYPTED_CHUNK_SIZE],  # cut at a chunk boundary
        header + chunks[1] + chunks[0] + b"".join(chunks[2:]),  # reordered
        whole + b"\x00",  # trailing byte
    ):
        path.write_bytes(edited)
        with pytest.raises(DecryptionError):
            store.read(upload.uid, upload.file_key)
