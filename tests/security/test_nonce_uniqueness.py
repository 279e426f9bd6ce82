"""Attack: wait for a repeated (key, nonce) pair, then recover plaintext and forge AES-GCM tags.

AES-GCM under one key must never see one nonce twice: the two ciphertexts then XOR to the XOR of
the plaintexts, and the authentication key falls out, so forgeries follow. The site never lets
a caller choose either. Sealing draws a fresh ephemeral X25519 key per item (so a fresh derived
key) and a random nonce; each attachment gets a fresh random file key, its chunks use counter
nonces behind a random per-stream prefix, and the padding chunks (all zeros inside) continue the
same counter; key wrapping derives a fresh key from a random salt per blob. These tests record
every AES-GCM encryption the crypto package performs during many operations and find no pair
twice. The only ways to fix an ephemeral key, a nonce or a prefix are the private known-answer
helpers ``_seal_with`` and ``StreamEncryptor._with_nonce_prefix``.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import crypto
import crypto.sealing
import crypto.stream
import crypto.wrapping
from crypto import CHUNK_SIZE
from portal.services.attachments import FolderStore, write_attachment


class Recorder:
    """Counts every (key, nonce) pair given to AES-GCM encryption."""

    def __init__(self) -> None:
        self.pairs: Counter[tuple[bytes, bytes]] = Counter()

    def cipher(self) -> type:
        recorder = self

        class RecordingAESGCM:
            generate_key = staticmethod(AESGCM.generate_key)

            def __init__(self, key: bytes) -> None:
                self._key = bytes(key)
                self._inner = AESGCM(key)

            def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
                recorder.pairs[(self._key, bytes(nonce))] += 1
                return self._inner.encrypt(nonce, data, associated_data)

            def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
                return self._inner.decrypt(nonce, data, associated_data)

        return RecordingAESGCM

    def assert_no_pair_repeats(self, at_least: int) -> None:
        assert sum(self.pairs.values()) >= at_least
        repeated = [pair for pair, count in self.pairs.items() if count > 1]
        assert repeated == []


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder()
    cipher = recorder.cipher()
    for module in (crypto.sealing, crypto.stream, crypto.wrapping):
        monkeypatch.setattr(module, "AESGCM", cipher)
    yield recorder


def test_seals_never_repeat_a_key_nonce_pair_or_ephemeral_key(recorder: Recorder) -> None:
    recipient = crypto.generate_keypair()
    blobs = [
        crypto.seal(recipient.public_key, b"same text", b"case:1|message:1") for _ in range(2000)
    ]
    recorder.assert_no_pair_repeats(at_least=2000)
    ephemeral_keys = {blob[1:33] for blob in blobs}
    nonces = {blob[33:45] for blob in blobs}
    assert len(ephemeral_keys) == len(nonces) == len(blobs)
    assert recipient.public_key not in ephemeral_keys
    # Each still opens (the recorder changed nothing but bookkeeping).
    assert crypto.open_sealed(recipient.private_key, blobs[-1], b"case:1|message:1") == b"same text"


def test_stream_chunks_and_padding_never_repeat_a_pair(recorder: Recorder) -> None:
    # Sizes whose padding spans whole chunks of zeros, so equal plaintext chunks are common.
    sizes = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 5, 4 * 1024 * 1024 + 1]
    for size in sizes:
        for _ in range(5):
            out = io.BytesIO()
            crypto.encrypt_stream(crypto.new_file_key(), io.BytesIO(bytes(size)), out, b"ad")
            encryptor = crypto.StreamEncryptor(crypto.new_file_key(), b"ad")
            encryptor.update(bytes(size))
            list(encryptor.finalize_chunks())
    expected = sum(10 * (crypto.padded_size(n) // CHUNK_SIZE + 1) for n in sizes)
    assert sum(recorder.pairs.values()) == expected
    recorder.assert_no_pair_repeats(at_least=expected)


def test_one_key_reused_by_mistake_still_gets_fresh_nonce_prefixes(recorder: Recorder) -> None:
    # Defence in depth: should a file key ever be used twice, the random prefix keeps nonces
    # apart (32 random bits: 60 streams collide with probability about 4e-7).
    key = crypto.new_file_key()
    prefixes = set()
    for _ in range(60):
        out = io.BytesIO()
        crypto.encrypt_stream(key, io.BytesIO(bytes(2 * CHUNK_SIZE)), out, b"ad")
        prefixes.add(out.getvalue()[1:5])
    assert len(prefixes) == 60
    recorder.assert_no_pair_repeats(at_least=60 * 3)


def test_every_upload_gets_its_own_file_key(tmp_path: Path, recorder: Recorder) -> None:
    store = FolderStore(tmp_path)
    uploads = [write_attachment(store, "same.txt", "text/plain", b"same bytes") for _ in range(100)]
    assert len({upload.file_key for upload in uploads}) == 100
    assert len({upload.uid for upload in uploads}) == 100
    recorder.assert_no_pair_repeats(at_least=100)


def test_key_wrapping_never_repeats_a_pair(recorder: Recorder) -> None:
    secret = bytes(range(32))
    blobs = [crypto.wrap_with_key(b"case private key", secret, b"session") for _ in range(1000)]
    recorder.assert_no_pair_repeats(at_least=1000)
    assert crypto.unwrap_with_key(blobs[0], secret, b"session") == b"case private key"
