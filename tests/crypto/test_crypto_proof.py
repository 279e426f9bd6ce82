"""Proofs of report: signatures, commitments, and every way a proof can be altered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crypto import (
    CryptoError,
    MalformedProofError,
    ProofSignatureError,
    Statement,
    commitment,
    commitment_matches,
    decode_statement,
    encode_statement,
    generate_signing_key,
    new_proof_salt,
    proof_key_id,
    sign_statement,
    signing_public_key,
    verify_statement,
)

RECEIVED = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)


def make(signing_key: bytes, item: bytes = b"what was sent") -> tuple[Statement, bytes, bytes]:
    salt = new_proof_salt()
    statement = Statement(
        key_id=proof_key_id(signing_public_key(signing_key)),
        case_reference="C-1A2B3C4D",
        kind="message",
        ordinal=2,
        received_at=RECEIVED,
        commitment=commitment(salt, item),
    )
    return statement, salt, sign_statement(signing_key, statement)


@pytest.fixture
def key() -> bytes:
    return generate_signing_key()


def test_a_signed_statement_verifies_and_round_trips(key: bytes) -> None:
    statement, _salt, signature = make(key)
    verify_statement(signing_public_key(key), statement, signature)
    assert decode_statement(encode_statement(statement)) == statement
    assert len(signature) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"case_reference": "C-1A2B3C4E"},
        {"kind": "report"},
        {"ordinal": 3},
        {"received_at": RECEIVED + timedelta(seconds=1)},
        {"received_at": RECEIVED - timedelta(days=365)},
        {"commitment": bytes(32)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_changed_field_fails(key: bytes, change: dict[str, object]) -> None:
    statement, _salt, signature = make(key)
    with pytest.raises(ProofSignatureError):
        verify_statement(signing_public_key(key), replace(statement, **change), signature)


def test_a_changed_key_id_fails(key: bytes) -> None:
    statement, _salt, signature = make(key)
    other = replace(statement, key_id=b"\x00" * 8)
    with pytest.raises(ProofSignatureError):
        verify_statement(signing_public_key(key), other, signature)


@pytest.mark.parametrize("position", [0, 31, 63])
def test_a_flipped_signature_bit_fails(key: bytes, position: int) -> None:
    statement, _salt, signature = make(key)
    flipped = bytearray(signature)
    flipped[position] ^= 0x01
    with pytest.raises(ProofSignatureError):
        verify_statement(signing_public_key(key), statement, bytes(flipped))


def test_a_short_signature_fails(key: bytes) -> None:
    statement, _salt, signature = make(key)
    with pytest.raises(ProofSignatureError):
        verify_statement(signing_public_key(key), statement, signature[:-1])


def test_another_key_fails_even_claiming_its_id(key: bytes) -> None:
    statement, _salt, signature = make(key)
    other = generate_signing_key()
    with pytest.raises(ProofSignatureError):
        verify_statement(signing_public_key(other), statement, signature)
    claimed = replace(statement, key_id=proof_key_id(signing_public_key(other)))
    with pytest.raises(ProofSignatureError):
        verify_statement(signing_public_key(other), claimed, signature)


def test_a_statement_naming_another_key_is_not_signed(key: bytes) -> None:
    statement, _salt, _signature = make(key)
    with pytest.raises(CryptoError):
        sign_statement(generate_signing_key(), statement)


def test_the_commitment_matches_only_the_same_item_and_salt(key: bytes) -> None:
    statement, salt, _signature = make(key, b"what was sent")
    assert commitment_matches(salt, b"what was sent", statement.commitment)
    assert not commitment_matches(salt, b"what was sent ", statement.commitment)
    assert not commitment_matches(salt, b"What was sent", statement.commitment)
    assert not commitment_matches(new_proof_salt(), b"what was sent", statement.commitment)
    assert not commitment_matches(salt[:-1], b"what was sent", statement.commitment)
    assert not commitment_matches(salt, b"what was sent", statement.commitment[:-1])


def test_the_commitment_hides_the_item_behind_the_salt() -> None:
    # Two proofs of the same text share nothing: without a salt, nothing can be compared.
    assert commitment(new_proof_salt(), b"yes") != commitment(new_proof_salt(), b"yes")
    with pytest.raises(CryptoError):
        commitment(b"short", b"yes")


def test_every_truncation_or_extension_of_the_statement_is_malformed(key: bytes) -> None:
    statement, _salt, _signature = make(key)
    data = encode_statement(statement)
    for cut in range(len(data)):
        with pytest.raises(MalformedProofError):
            decode_statement(data[:cut])
    with pytest.raises(MalformedProofError):
        decode_statement(data + b"\x00")


@pytest.mark.parametrize(
    ("offset", "value"),
    [(0, ord("X")), (9, 2), (19, 0xFF), (30, 9)],
    ids=["magic", "version", "reference length", "kind"],
)
def test_unknown_formats_are_malformed(key: bytes, offset: int, value: int) -> None:
    statement, _salt, _signature = make(key)
    data = bytearray(encode_statement(statement))
    data[offset] = value
    with pytest.raises(MalformedProofError):
        decode_statement(bytes(data))


@pytest.mark.parametrize(
    "change",
    [
        {"case_reference": ""},
        {"case_reference": "C-Ä"},
        {"case_reference": "C" * 65},
        {"kind": "note"},
        {"ordinal": 0},
        {"received_at": datetime(2026, 3, 1)},  # no time zone
        {"commitment": b"short"},
    ],
    ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))!r}"[:40],
)
def test_invalid_statements_cannot_be_encoded(key: bytes, change: dict[str, object]) -> None:
    statement, _salt, _signature = make(key)
    with pytest.raises(CryptoError):
        encode_statement(replace(statement, **change))


def test_the_time_is_kept_to_the_second_in_utc(key: bytes) -> None:
    statement, _salt, _signature = make(key)
    later = replace(statement, received_at=RECEIVED.replace(microsecond=999_999))
    assert encode_statement(later) == encode_statement(statement)
    elsewhere = replace(statement, received_at=RECEIVED.astimezone(timezone(timedelta(hours=2))))
    assert encode_statement(elsewhere) == encode_statement(statement)


def test_a_signing_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(CryptoError):
        signing_public_key(b"\x01" * 31)
