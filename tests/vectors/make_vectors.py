"""Generate the known-answer vectors seal_v1/v2.json, stream_v1/v2.json, backup_v1.json,
kdf_v1.json, visits_v1.json and proof_v1.json.

Run from the repository root: ``.venv/bin/python tests/vectors/make_vectors.py``.

The expected bytes are built here directly from the primitives, following the documented formats,
and checked against the package's deterministic helpers before anything is written. A vector
therefore pins the format itself, not merely whatever the implementation happened to output.
Version 1 is what blobs stored before padding use; the package no longer writes it, but the
vectors stay to prove that such blobs still open.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import struct
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import TEST, derive_keys
from crypto.backup import BackupEncryptor
from crypto.proof import Statement, encode_statement, sign_statement
from crypto.sealing import _seal_with
from crypto.stream import CHUNK_SIZE, StreamEncryptor
from crypto.visits import _seal_with as seal_visits_with

SEAL_FLOOR = 256
STREAM_FLOOR = 4096

HERE = Path(__file__).resolve().parent

# RFC 7748 section 6.1 key pairs: Bob is the recipient, Alice's private key is the ephemeral key.
RECIPIENT_PRIVATE = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
RECIPIENT_PUBLIC = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
EPHEMERAL_PRIVATE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
EPHEMERAL_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
SHARED_SECRET = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

FILE_KEY = bytes(range(32))
NONCE_PREFIX = bytes.fromhex("a1b2c3d4")
STREAM_AD = b"case:42|attachment:7"


def _raw_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def pattern(size: int) -> bytes:
    """The plaintext of a stream vector: byte i is i mod 251."""
    return bytes(i % 251 for i in range(size))


def floor_log2(value: int) -> int:
    exponent = 0
    while value >= 2:
        value //= 2
        exponent += 1
    return exponent


def reference_padme(length: int) -> int:
    """Padme as the PURBs paper writes it (E, S, lastBits, bitMask), for lengths of 2 or more."""
    e = floor_log2(length)
    s = floor_log2(e) + 1
    last_bits = e - s
    bit_mask = (1 << last_bits) - 1
    return (length + bit_mask) & ~bit_mask


def reference_pad(data: bytes, floor: int) -> bytes:
    """ISO/IEC 7816-4 padding of data to the Padme bucket of len(data) + 1, at least ``floor``."""
    size = reference_padme(max(len(data) + 1, floor))
    return data + b"\x80" + b"\x00" * (size - len(data) - 1)


def reference_seal(
    ephemeral_private: bytes,
    nonce: bytes,
    recipient_public: bytes,
    plaintext: bytes,
    ad: bytes,
    version: int = 1,
) -> tuple[bytes, bytes, bytes]:
    ephemeral = X25519PrivateKey.from_private_bytes(ephemeral_private)
    ephemeral_public = _raw_public(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"candor-seal-v{version}".encode() + ephemeral_public + recipient_public,
    ).derive(shared)
    if version == 2:
        plaintext = reference_pad(plaintext, SEAL_FLOOR)
    sealed = AESGCM(key).encrypt(nonce, plaintext, ad)
    blob = bytes((version,)) + ephemeral_public + nonce + sealed
    return blob, shared, key


def reference_stream(
    key: bytes, prefix: bytes, plaintext: bytes, ad: bytes, version: int = 1
) -> bytes:
    if version == 2:
        plaintext = reference_pad(plaintext, STREAM_FLOOR)
    header = bytes((version,)) + prefix
    aead = AESGCM(key)
    out = [header]
    full = len(plaintext) // CHUNK_SIZE
    for index in range(full + 1):
        chunk = plaintext[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE]
        final = index == full
        nonce = prefix + struct.pack(">Q", index)
        out.append(aead.encrypt(nonce, chunk, header + ad + struct.pack(">QB", index, final)))
    return b"".join(out)


SEAL_V2_EXTRA = [
    ("fills the smallest bucket with its marker", pattern(255), b"case:3|message:1", bytes(12)),
    ("one byte over the smallest bucket", pattern(256), b"case:3|message:2", bytes(12)),
    ("a kilobyte bucket", pattern(1000), b"case:3|intake:1", bytes(12)),
]


def seal_vectors(version: int = 1) -> list[dict[str, Any]]:
    recipient_private = bytes.fromhex(RECIPIENT_PRIVATE)
    recipient_public = bytes.fromhex(RECIPIENT_PUBLIC)
    ephemeral_private = bytes.fromhex(EPHEMERAL_PRIVATE)
    assert _raw_public(X25519PrivateKey.from_private_bytes(recipient_private)) == recipient_public
    cases = [
        ("empty plaintext", b"", b"case:1|intake:1", bytes(12)),
        ("short message", b"The invoices were altered.", b"case:42|message:3", bytes(range(12))),
        ("empty associated data", b"hello", b"", bytes.fromhex("0f0e0d0c0b0a090807060504")),
        ("utf-8 text", "Beschwerde über Überstunden".encode(), b"case:7|note:1", bytes([255] * 12)),
        (
            "longer plaintext",
            pattern(300),
            b"case:9|attachment-key:2",
            bytes.fromhex("00" * 11 + "01"),
        ),
    ]
    if version == 2:
        cases += SEAL_V2_EXTRA
    vectors = []
    for name, plaintext, ad, nonce in cases:
        blob, shared, key = reference_seal(
            ephemeral_private, nonce, recipient_public, plaintext, ad, version
        )
        assert shared.hex() == SHARED_SECRET, "RFC 7748 shared secret"
        helper = _seal_with(ephemeral_private, nonce, recipient_public, plaintext, ad, version)
        assert helper == blob
        vectors.append(
            {
                "name": name,
                "recipient_private": RECIPIENT_PRIVATE,
                "recipient_public": RECIPIENT_PUBLIC,
                "ephemeral_private": EPHEMERAL_PRIVATE,
                "ephemeral_public": EPHEMERAL_PUBLIC,
                "shared_secret": shared.hex(),
                "derived_key": key.hex(),
                "nonce": nonce.hex(),
                "plaintext": plaintext.hex(),
                "associated_data": ad.hex(),
                "sealed": blob.hex(),
            }
        )
    return vectors


STREAM_V1_SIZES = [
    ("empty file", 0),
    ("one short chunk", 13),
    ("exact chunk multiple: full chunk then empty final chunk", CHUNK_SIZE),
    ("full chunk then short final chunk", CHUNK_SIZE + 100),
]
STREAM_V2_SIZES = [
    ("empty file: marker and zeros up to the 4 KiB floor", 0),
    ("one short chunk", 13),
    ("fills the 4 KiB floor with its marker", STREAM_FLOOR - 1),
    ("marker ends the first chunk: full chunk then empty final chunk", CHUNK_SIZE - 1),
    ("exact chunk of data: marker and padding in the final chunk", CHUNK_SIZE),
    ("full chunk then short final chunk", CHUNK_SIZE + 100),
]


def stream_vectors(version: int = 1) -> list[dict[str, Any]]:
    vectors = []
    for name, size in STREAM_V2_SIZES if version == 2 else STREAM_V1_SIZES:
        plaintext = pattern(size)
        expected = reference_stream(FILE_KEY, NONCE_PREFIX, plaintext, STREAM_AD, version)
        encryptor = StreamEncryptor._with_nonce_prefix(FILE_KEY, STREAM_AD, NONCE_PREFIX, version)
        assert encryptor.update(plaintext) + encryptor.finalize() == expected
        vectors.append(
            {
                "name": name,
                "file_key": FILE_KEY.hex(),
                "nonce_prefix": NONCE_PREFIX.hex(),
                "associated_data": STREAM_AD.hex(),
                "plaintext_size": size,
                "plaintext_rule": "byte i is i mod 251",
                "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
                "ciphertext": expected.hex(),
            }
        )
    return vectors


BACKUP_CASES = [
    ("an empty backup", 0),
    ("a short backup", 1000),
    ("a backup of two chunks", 70000),
]


def reference_backup(
    recipient_public: bytes, ephemeral_private: bytes, prefix: bytes, plaintext: bytes
) -> tuple[bytes, bytes]:
    """The backup format built from the primitives: header, then stream v2 under the HKDF key."""
    ephemeral = X25519PrivateKey.from_private_bytes(ephemeral_private)
    ephemeral_public = _raw_public(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"candor-backup-v1" + ephemeral_public + recipient_public,
    ).derive(shared)
    key_id = hashlib.sha256(recipient_public).digest()[:8]
    header = b"CNDRBKUP" + b"\x01" + key_id + ephemeral_public
    body = reference_stream(key, prefix, plaintext, header + recipient_public, version=2)
    return header + body, key


def backup_vectors() -> list[dict[str, Any]]:
    recipient_public = bytes.fromhex(RECIPIENT_PUBLIC)
    ephemeral_private = bytes.fromhex(EPHEMERAL_PRIVATE)
    vectors = []
    for name, size in BACKUP_CASES:
        plaintext = pattern(size)
        expected, key = reference_backup(
            recipient_public, ephemeral_private, NONCE_PREFIX, plaintext
        )
        out = io.BytesIO()
        encryptor = BackupEncryptor._deterministic(
            ephemeral_private, NONCE_PREFIX, recipient_public, out
        )
        encryptor.write(plaintext)
        encryptor.close()
        assert out.getvalue() == expected, name
        vectors.append(
            {
                "name": name,
                "recipient_private": RECIPIENT_PRIVATE,
                "recipient_public": RECIPIENT_PUBLIC,
                "ephemeral_private": EPHEMERAL_PRIVATE,
                "ephemeral_public": EPHEMERAL_PUBLIC,
                "nonce_prefix": NONCE_PREFIX.hex(),
                "stream_key": key.hex(),
                "plaintext_size": size,
                "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
                "backup": expected.hex(),
            }
        )
    return vectors


KDF_CASES = [
    ("a generated passphrase", "seven ample wisdom lunar copper pilot", bytes(range(16))),
    ("a passphrase typed decomposed (NFD)", "cafe\u0301 ole\u0301 nin\u0303o", bytes(16)),
]


def reference_derive(secret: str, salt: bytes) -> dict[str, bytes]:
    """One Argon2id run (the test profile), then HKDF-SHA256 with each label, no salt."""
    master = hash_secret_raw(
        secret=unicodedata.normalize("NFC", secret).encode(),
        salt=salt,
        time_cost=1,
        memory_cost=8,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )

    def expand(label: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(master)

    return {
        "master": master,
        "wrapping_key": expand(b"candor-wrap-v1"),
        "verifier": expand(b"candor-verifier-v1"),
        "visits_key": expand(b"candor-visits-v1"),
    }


def kdf_vectors() -> list[dict[str, Any]]:
    vectors = []
    for name, secret, salt in KDF_CASES:
        expected = reference_derive(secret, salt)
        keys = derive_keys(secret, salt, TEST)
        assert keys.wrapping_key == expected["wrapping_key"]
        assert keys.verifier == expected["verifier"]
        assert keys.visits_key == expected["visits_key"]
        vectors.append(
            {
                "name": name,
                "secret": secret,
                "salt": salt.hex(),
                "time_cost": 1,
                "memory_cost_kib": 8,
                "parallelism": 1,
                **{field: value.hex() for field, value in expected.items()},
            }
        )
    return vectors


VISITS_CASES = [
    ("an empty record", b"", b"candor:case:0123abcd:reporter-visits", bytes(12)),
    ("a short record", pattern(11), b"candor:case:0123abcd:reporter-visits", bytes(range(12))),
    ("the longest record", pattern(255), b"candor:case:ffff:reporter-visits", bytes(12)),
]


def visits_vectors() -> list[dict[str, Any]]:
    key = reference_derive(*KDF_CASES[0][1:])["visits_key"]
    vectors = []
    for name, record, ad, nonce in VISITS_CASES:
        header = b"\x01"
        padded = reference_pad(record, 256)
        assert len(padded) == 256
        blob = header + nonce + AESGCM(key).encrypt(nonce, padded, ad + header)
        assert seal_visits_with(key, nonce, record, ad) == blob
        vectors.append(
            {
                "name": name,
                "visits_key": key.hex(),
                "record": record.hex(),
                "associated_data": ad.hex(),
                "nonce": nonce.hex(),
                "blob": blob.hex(),
            }
        )
    return vectors


# RFC 8032 section 7.1, test 1: the site's proof signing key and its public half.
PROOF_SIGNING_KEY = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PROOF_PUBLIC_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def reference_proof(
    reference: str, kind: str, ordinal: int, seconds: int, salt: bytes, item: bytes
) -> tuple[bytes, bytes, bytes]:
    """(commitment, statement, signature) built from the documented format, not the package."""
    public = bytes.fromhex(PROOF_PUBLIC_KEY)
    committed = hmac.new(salt, b"candor-proof-v1\x00" + item, hashlib.sha256).digest()
    statement = (
        b"CNDRPROOF\x01"
        + hashlib.sha256(public).digest()[:8]
        + struct.pack(">H", len(reference))
        + reference.encode("ascii")
        + struct.pack(">BIQ", {"report": 1, "message": 2}[kind], ordinal, seconds)
        + committed
    )
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(PROOF_SIGNING_KEY))
    return committed, statement, private.sign(statement)


def proof_vectors() -> list[dict[str, Any]]:
    cases = [
        ("a report", "C-1A2B3C4D", "report", 1, 1767225600, bytes(32), b'{"answers":[]}'),
        (
            "a message with words outside ASCII",
            "C-00FF00FF",
            "message",
            3,
            1767312000 + 3661,
            bytes(range(32)),
            "Hallo, ich habe es gesehen: Straße 12.\n\u041f\u0440\u0438\u0432\u0435\u0442".encode(),
        ),
        ("an empty message", "C-DEADBEEF", "message", 1, 0, b"\xff" * 32, b""),
    ]
    vectors = []
    for name, reference, kind, ordinal, seconds, salt, item in cases:
        committed, statement, signature = reference_proof(
            reference, kind, ordinal, seconds, salt, item
        )
        ours = Statement(
            key_id=hashlib.sha256(bytes.fromhex(PROOF_PUBLIC_KEY)).digest()[:8],
            case_reference=reference,
            kind=kind,
            ordinal=ordinal,
            received_at=datetime.fromtimestamp(seconds, UTC),
            commitment=committed,
        )
        assert encode_statement(ours) == statement
        assert sign_statement(bytes.fromhex(PROOF_SIGNING_KEY), ours) == signature
        vectors.append(
            {
                "name": name,
                "signing_key": PROOF_SIGNING_KEY,
                "public_key": PROOF_PUBLIC_KEY,
                "key_id": ours.key_id.hex(),
                "case_reference": reference,
                "kind": kind,
                "ordinal": ordinal,
                "received_at": ours.received_at.isoformat(),
                "received_seconds": seconds,
                "salt": salt.hex(),
                "item": item.hex(),
                "commitment": committed.hex(),
                "statement": statement.hex(),
                "signature": signature.hex(),
            }
        )
    return vectors


def write(name: str, description: str, vectors: list[dict[str, Any]]) -> None:
    document = {"description": description, "vectors": vectors}
    (HERE / name).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    write(
        "seal_v1.json",
        "Candor seal v1: 0x01 || ephemeral_pub || nonce || AES-256-GCM(HKDF-SHA256(X25519, "
        "info='candor-seal-v1' || ephemeral_pub || recipient_pub), nonce, plaintext, AD). "
        "Keys from RFC 7748 section 6.1.",
        seal_vectors(),
    )
    write(
        "stream_v1.json",
        "Candor attachment stream v1: header 0x01 || nonce_prefix(4); chunk i = AES-256-GCM("
        "file_key, nonce_prefix || u64be(i), plaintext_i, header || AD || u64be(i) || final). "
        "Chunks of 65536 bytes; the final chunk is shorter (possibly empty).",
        stream_vectors(),
    )
    write(
        "seal_v2.json",
        "Candor seal v2: 0x02 || ephemeral_pub || nonce || AES-256-GCM(HKDF-SHA256(X25519, "
        "info='candor-seal-v2' || ephemeral_pub || recipient_pub), nonce, padded, AD), where "
        "padded = plaintext || 0x80 || 0x00... of length Padme(max(len(plaintext) + 1, 256)). "
        "Keys from RFC 7748 section 6.1.",
        seal_vectors(2),
    )
    write(
        "stream_v2.json",
        "Candor attachment stream v2: header 0x02 || nonce_prefix(4); padded = plaintext || "
        "0x80 || 0x00... of length Padme(max(size + 1, 4096)); chunk i = AES-256-GCM(file_key, "
        "nonce_prefix || u64be(i), padded_i, header || AD || u64be(i) || final). Chunks of 65536 "
        "bytes of padded; the final chunk is shorter (possibly empty).",
        stream_vectors(2),
    )
    write(
        "backup_v1.json",
        "Candor backup v1: header = 'CNDRBKUP' || 0x01 || SHA-256(recipient_pub)[:8] || "
        "ephemeral_pub; key = HKDF-SHA256(X25519(ephemeral, recipient_pub), info="
        "'candor-backup-v1' || ephemeral_pub || recipient_pub); then the attachment stream v2 "
        "under key with AD = header || recipient_pub. Keys from RFC 7748 section 6.1.",
        backup_vectors(),
    )
    write(
        "kdf_v1.json",
        "Candor key derivation v1: master = Argon2id(NFC(secret) as UTF-8, salt, time_cost, "
        "memory_cost_kib, parallelism, 32 bytes); each key = HKDF-SHA256(master, no salt, "
        "info=label, 32 bytes) with labels 'candor-wrap-v1' (wrapping_key), "
        "'candor-verifier-v1' (verifier) and 'candor-visits-v1' (visits_key).",
        kdf_vectors(),
    )
    write(
        "visits_v1.json",
        "Candor visit record v1: 0x01 || nonce(12) || AES-256-GCM(visits_key, nonce, padded, "
        "AD || 0x01), where padded = record || 0x80 || 0x00... of exactly 256 bytes. The key is "
        "kdf_v1.json's first visits_key.",
        visits_vectors(),
    )
    write(
        "proof_v1.json",
        "Candor proof v1: commitment = HMAC-SHA256(salt, 'candor-proof-v1' || 0x00 || item); "
        "statement = 'CNDRPROOF' || 0x01 || SHA-256(public_key)[:8] || u16be(len(reference)) || "
        "reference || u8(kind: 1 report, 2 message) || u32be(ordinal) || u64be(received, "
        "seconds since 1970 UTC) || commitment; signature = Ed25519(signing_key, statement). "
        "Key from RFC 8032 section 7.1, test 1.",
        proof_vectors(),
    )


if __name__ == "__main__":
    main()
