"""Proofs of report: a statement signed with the site's Ed25519 key, committing to an item.

Format (version 1)::

    commitment = HMAC-SHA256(salt, b"candor-proof-v1\\0" || item)        salt: 32 random bytes
    key_id     = SHA-256(public_key)[:8]
    statement  = b"CNDRPROOF" || 0x01 || key_id (8)
                 || len(case_reference) (u16) || case_reference (ASCII)
                 || kind (u8: 1 report, 2 message) || ordinal (u32)
                 || received_at (u64, seconds since 1970-01-01 UTC) || commitment (32)
    signature  = Ed25519(signing_key, statement)                          (all integers big-endian)

A reporter may need to show that they reported, and when, without showing what. The site signs a
statement that names the case, the item and the time, and a commitment to the item's exact bytes.
The commitment is keyed by a salt that only the proof holds: without it, nobody (the holder of a
copy of the proof's statement alone, or the site after the salt is gone) can test guesses of a
short item against it, and with it, anyone given the item can check that it is what was sent
(HMAC-SHA256 as a commitment: hiding while the salt is secret, binding by collision resistance).
Every field has a fixed length or a length prefix and the statement starts with its format and
version, so no two different statements encode alike and a signature over one never verifies
another. ``key_id`` names the signing key so that a verifier holding several (after a rotation)
knows which to try; it opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac as std_hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import CryptoError, MalformedProofError, ProofSignatureError

__all__ = [
    "COMMITMENT_SIZE",
    "KINDS",
    "SALT_SIZE",
    "SIGNATURE_SIZE",
    "Statement",
    "commitment",
    "commitment_matches",
    "decode_statement",
    "encode_statement",
    "generate_signing_key",
    "new_proof_salt",
    "proof_key_id",
    "sign_statement",
    "signing_public_key",
    "verify_statement",
]

MAGIC = b"CNDRPROOF"
VERSION_1 = 0x01
KEY_SIZE = 32
KEY_ID_SIZE = 8
SALT_SIZE = 32
COMMITMENT_SIZE = 32
SIGNATURE_SIZE = 64
MAX_REFERENCE = 64
_COMMIT_DOMAIN = b"candor-proof-v1\x00"
# The item kinds a statement may name, and their byte in the encoding.
KINDS = {"report": 1, "message": 2}
_KIND_NAMES = {number: name for name, number in KINDS.items()}
_U16 = struct.Struct(">H")
_TAIL = struct.Struct(">BIQ")
_RAW = serialization.Encoding.Raw
_MAX_ORDINAL = 2**32 - 1


@dataclass(frozen=True)
class Statement:
    """What a proof says: which site key, which case, which item, when, and what (committed)."""

    key_id: bytes
    case_reference: str
    kind: str
    ordinal: int
    received_at: datetime
    commitment: bytes


def generate_signing_key() -> bytes:
    """Return a new raw Ed25519 private key (32 bytes) for signing proofs."""
    return Ed25519PrivateKey.generate().private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _private(signing_key: bytes) -> Ed25519PrivateKey:
    if len(signing_key) != KEY_SIZE:
        raise CryptoError("invalid signing key")
    return Ed25519PrivateKey.from_private_bytes(signing_key)


def signing_public_key(signing_key: bytes) -> bytes:
    """Return the raw Ed25519 public key (32 bytes) of ``signing_key``, to publish."""
    return _private(signing_key).public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


def proof_key_id(public_key: bytes) -> bytes:
    """Return the 8-byte identifier of a proof public key (its fingerprint's start).

    Security property: derived from the public key alone; it names the key, it proves nothing.
    """
    return hashlib.sha256(public_key).digest()[:KEY_ID_SIZE]


def new_proof_salt() -> bytes:
    """Return a fresh 32-byte salt for one commitment; it must live only in the proof."""
    return secrets.token_bytes(SALT_SIZE)


def commitment(salt: bytes, item: bytes) -> bytes:
    """Return the 32-byte commitment to ``item`` under ``salt``.

    Security property: hiding while ``salt`` stays secret (HMAC-SHA256 is a PRF, so guesses of
    the item cannot be tested without it); binding (another item with the same commitment under
    any salt would be an HMAC-SHA256 collision). Domain-separated from every other HMAC here.
    """
    if len(salt) != SALT_SIZE:
        raise CryptoError("invalid salt")
    mac = hmac.HMAC(salt, hashes.SHA256())
    mac.update(_COMMIT_DOMAIN)
    mac.update(item)
    return mac.finalize()


def commitment_matches(salt: bytes, item: bytes, expected: bytes) -> bool:
    """Whether ``item`` is what ``expected`` commits to under ``salt``.

    Security property: compared in constant time; a wrong-length salt or commitment is a no.
    """
    if len(salt) != SALT_SIZE or len(expected) != COMMITMENT_SIZE:
        return False
    return std_hmac.compare_digest(commitment(salt, item), expected)


def _seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise CryptoError("received_at must carry its time zone")
    return int(moment.timestamp())


def encode_statement(statement: Statement) -> bytes:
    """Return the canonical bytes of ``statement``: what is signed, and only this.

    Security property: injective (fixed sizes and length prefixes), versioned; the time is kept
    to the second in UTC, so every verifier rebuilds exactly the signed bytes.
    """
    try:
        reference = statement.case_reference.encode("ascii")
    except UnicodeEncodeError:
        raise CryptoError("invalid case reference") from None
    if not 0 < len(reference) <= MAX_REFERENCE:
        raise CryptoError("invalid case reference")
    if len(statement.key_id) != KEY_ID_SIZE or len(statement.commitment) != COMMITMENT_SIZE:
        raise CryptoError("invalid statement")
    if statement.kind not in KINDS or not 0 < statement.ordinal <= _MAX_ORDINAL:
        raise CryptoError("invalid statement")
    seconds = _seconds(statement.received_at)
    if seconds < 0:
        raise CryptoError("invalid statement")
    return b"".join(
        (
            MAGIC,
            bytes([VERSION_1]),
            statement.key_id,
            _U16.pack(len(reference)),
            reference,
            _TAIL.pack(KINDS[statement.kind], statement.ordinal, seconds),
            statement.commitment,
        )
    )


def decode_statement(data: bytes) -> Statement:
    """Parse canonical statement bytes; raise ``MalformedProofError`` for anything else."""
    head = len(MAGIC) + 1 + KEY_ID_SIZE + _U16.size
    if len(data) < head or data[: len(MAGIC)] != MAGIC or data[len(MAGIC)] != VERSION_1:
        raise MalformedProofError("not a proof statement")
    (length,) = _U16.unpack_from(data, head - _U16.size)
    if len(data) != head + length + _TAIL.size + COMMITMENT_SIZE or length == 0:
        raise MalformedProofError("not a proof statement")
    try:
        reference = data[head : head + length].decode("ascii")
    except UnicodeDecodeError:
        raise MalformedProofError("not a proof statement") from None
    kind, ordinal, seconds = _TAIL.unpack_from(data, head + length)
    if kind not in _KIND_NAMES or ordinal == 0 or length > MAX_REFERENCE:
        raise MalformedProofError("not a proof statement")
    return Statement(
        key_id=data[len(MAGIC) + 1 : len(MAGIC) + 1 + KEY_ID_SIZE],
        case_reference=reference,
        kind=_KIND_NAMES[kind],
        ordinal=ordinal,
        received_at=datetime.fromtimestamp(seconds, UTC),
        commitment=data[-COMMITMENT_SIZE:],
    )


def sign_statement(signing_key: bytes, statement: Statement) -> bytes:
    """Return the 64-byte Ed25519 signature of the statement's canonical bytes.

    Security property: only the holder of ``signing_key`` can make it (EUF-CMA of Ed25519);
    the statement must name this key's id, so a proof never claims another key.
    """
    private = _private(signing_key)
    public = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    if statement.key_id != proof_key_id(public):
        raise CryptoError("statement names another key")
    return private.sign(encode_statement(statement))


def verify_statement(public_key: bytes, statement: Statement, signature: bytes) -> None:
    """Raise ``ProofSignatureError`` unless ``signature`` is this key's over ``statement``.

    Security property: fails closed for a wrong key, a statement naming another key id, any
    changed field, and a malformed key or signature, all with the same error.
    """
    if len(public_key) != KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        raise ProofSignatureError("the proof's signature is not valid")
    if statement.key_id != proof_key_id(public_key):
        raise ProofSignatureError("the proof's signature is not valid")
    try:
        message = encode_statement(statement)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError, CryptoError):
        raise ProofSignatureError("the proof's signature is not valid") from None
