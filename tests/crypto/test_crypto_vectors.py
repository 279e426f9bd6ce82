"""Known-answer tests against tests/vectors/*.json (made by tests/vectors/make_vectors.py)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from crypto import decrypt_chunks, open_sealed, public_key_from_private
from crypto.sealing import _seal_with
from crypto.stream import StreamEncryptor

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load(name: str) -> list[dict[str, Any]]:
    document = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    vectors: list[dict[str, Any]] = document["vectors"]
    assert vectors
    return vectors


def pattern(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


SEAL = load("seal_v1.json")
STREAM = load("stream_v1.json")


@pytest.mark.parametrize("vector", SEAL, ids=[v["name"] for v in SEAL])
def test_seal_vector(vector: dict[str, Any]) -> None:
    def h(field: str) -> bytes:
        return bytes.fromhex(vector[field])

    assert public_key_from_private(h("recipient_private")) == h("recipient_public")
    assert public_key_from_private(h("ephemeral_private")) == h("ephemeral_public")
    sealed = _seal_with(
        h("ephemeral_private"),
        h("nonce"),
        h("recipient_public"),
        h("plaintext"),
        h("associated_data"),
    )
    assert sealed == h("sealed")
    assert open_sealed(h("recipient_private"), h("sealed"), h("associated_data")) == h("plaintext")


@pytest.mark.parametrize("vector", STREAM, ids=[v["name"] for v in STREAM])
def test_stream_vector(vector: dict[str, Any]) -> None:
    key = bytes.fromhex(vector["file_key"])
    ad = bytes.fromhex(vector["associated_data"])
    plaintext = pattern(vector["plaintext_size"])
    assert hashlib.sha256(plaintext).hexdigest() == vector["plaintext_sha256"]
    expected = bytes.fromhex(vector["ciphertext"])
    encryptor = StreamEncryptor._with_nonce_prefix(key, ad, bytes.fromhex(vector["nonce_prefix"]))
    assert encryptor.update(plaintext) + encryptor.finalize() == expected
    assert b"".join(decrypt_chunks(key, io.BytesIO(expected), ad)) == plaintext
