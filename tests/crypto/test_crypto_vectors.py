"""Known-answer tests against tests/vectors/*.json (made by tests/vectors/make_vectors.py).

The proof vectors pin the signed statement byte for byte: a proof downloaded today must verify
with any later version of the site, and anyone can rebuild the bytes from the documented format.

Version 2 is what the package writes; the version-1 vectors prove that items stored before
padding still open (and that the private writers used for vectors still follow the old format).
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crypto import (
    Argon2Profile,
    Statement,
    commitment,
    commitment_matches,
    decode_statement,
    decrypt_backup_chunks,
    decrypt_chunks,
    derive_keys,
    encode_statement,
    encrypted_size,
    open_sealed,
    proof_key_id,
    public_key_from_private,
    sign_statement,
    signing_public_key,
    verify_statement,
)
from crypto.backup import BackupEncryptor
from crypto.sealing import _seal_with
from crypto.stream import StreamEncryptor
from crypto.visits import BLOB_SIZE as VISITS_BLOB_SIZE
from crypto.visits import _seal_with as seal_visits_with
from crypto.visits import open_visits

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load(name: str) -> list[dict[str, Any]]:
    document = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    vectors: list[dict[str, Any]] = document["vectors"]
    assert vectors
    return vectors


def pattern(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def versioned(version: int, vectors: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(version, v, id=f"v{version}: {v['name']}") for v in vectors]


SEAL = versioned(1, load("seal_v1.json")) + versioned(2, load("seal_v2.json"))
STREAM = versioned(1, load("stream_v1.json")) + versioned(2, load("stream_v2.json"))


@pytest.mark.parametrize(("version", "vector"), SEAL)
def test_seal_vector(version: int, vector: dict[str, Any]) -> None:
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
        version,
    )
    assert sealed == h("sealed")
    assert sealed[0] == version
    assert open_sealed(h("recipient_private"), h("sealed"), h("associated_data")) == h("plaintext")


@pytest.mark.parametrize(("version", "vector"), STREAM)
def test_stream_vector(version: int, vector: dict[str, Any]) -> None:
    key = bytes.fromhex(vector["file_key"])
    ad = bytes.fromhex(vector["associated_data"])
    plaintext = pattern(vector["plaintext_size"])
    assert hashlib.sha256(plaintext).hexdigest() == vector["plaintext_sha256"]
    expected = bytes.fromhex(vector["ciphertext"])
    prefix = bytes.fromhex(vector["nonce_prefix"])
    encryptor = StreamEncryptor._with_nonce_prefix(key, ad, prefix, version)
    assert encryptor.update(plaintext) + encryptor.finalize() == expected
    assert expected[0] == version
    if version == 2:
        assert len(expected) == encrypted_size(len(plaintext))
    assert b"".join(decrypt_chunks(key, io.BytesIO(expected), ad)) == plaintext


@pytest.mark.parametrize("vector", load("backup_v1.json"), ids=lambda v: v["name"])
def test_backup_vector(vector: dict[str, Any]) -> None:
    def h(field: str) -> bytes:
        return bytes.fromhex(vector[field])

    plaintext = pattern(vector["plaintext_size"])
    assert hashlib.sha256(plaintext).hexdigest() == vector["plaintext_sha256"]
    out = io.BytesIO()
    encryptor = BackupEncryptor._deterministic(
        h("ephemeral_private"), h("nonce_prefix"), h("recipient_public"), out
    )
    encryptor.write(plaintext)
    encryptor.close()
    assert out.getvalue() == h("backup")
    assert h("backup")[:9] == b"CNDRBKUP\x01"
    opened = decrypt_backup_chunks(h("recipient_private"), io.BytesIO(h("backup")))
    assert b"".join(opened) == plaintext


@pytest.mark.parametrize("vector", load("kdf_v1.json"), ids=lambda v: v["name"])
def test_kdf_vector(vector: dict[str, Any]) -> None:
    profile = Argon2Profile(
        "vector", vector["time_cost"], vector["memory_cost_kib"], vector["parallelism"]
    )
    keys = derive_keys(vector["secret"], bytes.fromhex(vector["salt"]), profile)
    assert keys.wrapping_key.hex() == vector["wrapping_key"]
    assert keys.verifier.hex() == vector["verifier"]
    assert keys.visits_key.hex() == vector["visits_key"]
    assert len({keys.wrapping_key, keys.verifier, keys.visits_key}) == 3


@pytest.mark.parametrize("vector", load("visits_v1.json"), ids=lambda v: v["name"])
def test_visits_vector(vector: dict[str, Any]) -> None:
    def h(field: str) -> bytes:
        return bytes.fromhex(vector[field])

    blob = seal_visits_with(h("visits_key"), h("nonce"), h("record"), h("associated_data"))
    assert blob == h("blob")
    assert len(blob) == VISITS_BLOB_SIZE
    assert open_visits(h("visits_key"), h("blob"), h("associated_data")) == h("record")


@pytest.mark.parametrize("vector", load("proof_v1.json"), ids=lambda v: v["name"])
def test_proof_vector(vector: dict[str, Any]) -> None:
    def h(field: str) -> bytes:
        return bytes.fromhex(vector[field])

    assert signing_public_key(h("signing_key")) == h("public_key")
    assert proof_key_id(h("public_key")) == h("key_id")
    assert commitment(h("salt"), h("item")) == h("commitment")
    assert commitment_matches(h("salt"), h("item"), h("commitment"))
    statement = Statement(
        key_id=h("key_id"),
        case_reference=vector["case_reference"],
        kind=vector["kind"],
        ordinal=vector["ordinal"],
        received_at=datetime.fromisoformat(vector["received_at"]),
        commitment=h("commitment"),
    )
    assert int(statement.received_at.timestamp()) == vector["received_seconds"]
    assert encode_statement(statement) == h("statement")
    assert decode_statement(h("statement")) == statement
    assert sign_statement(h("signing_key"), statement) == h("signature")
    verify_statement(h("public_key"), statement, h("signature"))
