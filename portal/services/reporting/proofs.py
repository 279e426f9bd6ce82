"""Proofs of report: signing a reporter's message, keeping its proof for the session, and
checking a proof (anyone, on /proof and the command line; a handler, against a case).

A proof is computed only at the moment an item arrives, while the server holds its plaintext.
Its salt is in the proof alone: after the download the server keeps nothing that could make the
same proof again or test a guess of the item against it. Proofs are never logged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import AuthorKind, Case, Message, ReporterSession, User
from portal.services import audit, clock, contexts, messaging, tokens
from portal.services.attachments import AttachmentStore, EncryptedUpload
from portal.services.references import reference
from portal.services.reporting import proof_items
from portal.services.reporting.proof_items import ProofFile, ProofFormatError

__all__ = [
    "CaseProofCheck",
    "ProofCheck",
    "ProofFormatError",
    "ProofKeys",
    "check_case_proof",
    "check_proof",
    "reporter_writes",
    "session_proofs",
]

# The most message proofs one reporter session keeps (the oldest go first).
MAX_SESSION_PROOFS = 30


@dataclass(frozen=True)
class ProofKeys:
    """The public keys a proof may be signed with: the current one first, then earlier ones."""

    current: bytes | None
    previous: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, signing_key: bytes | None, previous: Sequence[bytes] = ()) -> ProofKeys:
        current = crypto.signing_public_key(signing_key) if signing_key is not None else None
        return cls(current, tuple(previous))

    @property
    def all(self) -> tuple[bytes, ...]:
        return ((self.current,) if self.current is not None else ()) + self.previous


def fingerprint(public_key: bytes) -> str:
    """A public key's short name, as proofs print it ("Site key"), in groups of four."""
    key_id = crypto.proof_key_id(public_key).hex()
    return " ".join(key_id[i : i + 4] for i in range(0, len(key_id), 4))


@dataclass(frozen=True)
class ProofCheck:
    """What a proof says, whether its signature holds, and whether a given text matches."""

    proof: ProofFile
    # The public key whose signature verified, or None when none did.
    signed_by: bytes | None
    # Whether that key is the site's current key (else an earlier one).
    current_key: bool
    # Whether the given text is what the proof commits to; None when no text was given.
    text_matches: bool | None

    @property
    def valid(self) -> bool:
        return self.signed_by is not None


def check_proof(text: str, original: str | None, keys: ProofKeys) -> ProofCheck:
    """Read ``text`` as a proof and check it against the site's keys (and ``original``).

    Security property: the statement is rebuilt from the fields shown, so what the check reports
    is exactly what was signed; the commitment is compared in constant time. Raises
    ProofFormatError for text that is not a proof.
    """
    proof = proof_items.parse(text)
    signed_by = None
    for public_key in keys.all:
        try:
            crypto.verify_statement(public_key, proof.statement, proof.signature)
        except crypto.ProofSignatureError:
            continue
        signed_by = public_key
        break
    matches = None
    if original is not None and original.strip():
        matches = crypto.commitment_matches(
            proof.salt, proof_items.canonical_text(original), proof.statement.commitment
        )
    return ProofCheck(
        proof, signed_by, signed_by is not None and signed_by == keys.current, matches
    )


def reporter_writes(
    session: Session,
    case: Case,
    session_token: str,
    cookie_key: bytes,
    body: str,
    *,
    uploads: Sequence[EncryptedUpload],
    store: AttachmentStore | None,
    now: datetime,
    settings: clock.ClockSettings,
    signing_key: bytes | None,
) -> None:
    """The reporter's message (clock.reporter_writes), with its proof kept for the session.

    The proof, with its salt, is kept only wrapped under the key in the reporter's cookie, in
    the same transaction as the message: the case page offers it until the session ends.
    Without ``signing_key`` no proof is made. Commits once; on a refusal nothing is kept.
    """
    if signing_key is not None:
        row = session.get(ReporterSession, tokens.token_hash(session_token))
        if row is not None:
            sent = session.scalar(
                select(func.count(Message.id)).where(
                    Message.case_id == case.id, Message.author_kind == AuthorKind.REPORTER
                )
            )
            proof = proof_items.make_proof(
                signing_key,
                case,
                "message",
                int(sent or 0) + 1,
                now,
                proof_items.canonical_text(body),
            )
            kept = [*_unwrap_proofs(row, case, cookie_key), proof_items.render_fields(proof)]
            row.wrapped_proofs = crypto.wrap_with_key(
                json.dumps(kept[-MAX_SESSION_PROOFS:]).encode(),
                cookie_key,
                contexts.reporter_proofs(case.uid),
            )
    try:
        clock.reporter_writes(
            session, case, body, uploads=uploads, store=store, now=now, settings=settings
        )
    except Exception:
        # Nothing of a refused message is kept, its proof included.
        session.rollback()
        raise


def _unwrap_proofs(row: ReporterSession, case: Case, cookie_key: bytes) -> list[str]:
    if row.wrapped_proofs is None:
        return []
    try:
        kept = json.loads(
            crypto.unwrap_with_key(
                row.wrapped_proofs, cookie_key, contexts.reporter_proofs(case.uid)
            )
        )
    except crypto.DecryptionError:
        return []
    return [str(fields) for fields in kept]


def session_proofs(
    session: Session, case: Case, session_token: str, cookie_key: bytes
) -> list[ProofFile]:
    """The proofs of the messages sent in this reporter session, oldest first."""
    row = session.get(ReporterSession, tokens.token_hash(session_token))
    if row is None or row.case_id != case.id:
        return []
    return [proof_items.parse(fields) for fields in _unwrap_proofs(row, case, cookie_key)]


@dataclass(frozen=True)
class CaseProofCheck:
    """A proof checked by a handler against one case."""

    check: ProofCheck
    # The proof names this case's reference.
    belongs: bool
    # The stored item the proof names (its time), or None when the case has no such item.
    item_at: datetime | None
    # The stored item is what the proof commits to.
    matches: bool

    @property
    def confirmed(self) -> bool:
        return self.check.valid and self.belongs and self.matches


def check_case_proof(
    session: Session,
    case: Case,
    case_private_key: bytes,
    text: str,
    *,
    keys: ProofKeys,
    handler: User,
    now: datetime,
) -> CaseProofCheck:
    """Whether a proof is valid, names this case, and commits to the item it names.

    The commitment is recomputed over the case's own (decrypted) item with the proof's salt, so
    a proof made for another text, or edited, is not confirmed. The check is audited (what was
    found, never the proof or its salt). Raises ProofFormatError for text that is not a proof.
    Commits once.
    """
    check = check_proof(text, None, keys)
    statement = check.proof.statement
    belongs = statement.case_reference == reference(case)
    item: bytes | None = None
    item_at: datetime | None = None
    if belongs and statement.kind == "report" and statement.ordinal == 1:
        report = messaging.read_report(session, case, case_private_key)
        item = proof_items.canonical_report(
            report.category, report.tier, report.answers, [a.name for a in report.attachments]
        )
        item_at = case.received_at
    elif belongs and statement.kind == "message":
        sent = [
            m
            for m in messaging.read_thread(session, case, case_private_key)
            if m.author_kind is AuthorKind.REPORTER
        ]
        if statement.ordinal <= len(sent):
            message = sent[statement.ordinal - 1]
            item = proof_items.canonical_text(message.body)
            item_at = message.created_at
    matches = item is not None and crypto.commitment_matches(
        check.proof.salt, item, statement.commitment
    )
    result = CaseProofCheck(check, belongs, _utc(item_at), matches)
    audit.record(
        session,
        "proof_checked",
        now=now,
        actor_id=handler.id,
        case_id=case.id,
        detail=(
            f"{check.proof.item_words}: signature {'valid' if check.valid else 'not valid'}, "
            f"{'confirmed' if result.confirmed else 'not confirmed'}"
        ),
    )
    session.commit()
    return result


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
