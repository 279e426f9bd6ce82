"""The append-only audit trail, chained by hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from portal.i18n import N_
from portal.models import AuditEntry, AuditHead
from portal.services import batch

GENESIS = bytes(32)
HEAD_ID = 1
_HEAD = "candor.audit_head"

# What the case page's audit trail shows for an entry's action, marked for the catalogue and
# translated where it is shown (``_(ACTION_LABELS[...])``); the stored action and detail stay as
# they were written, since the chain's hashes cover them. An action not listed shows as stored.
ACTION_LABELS: dict[str, str] = {
    "access_granted": N_("access granted"),
    "appeal_filed": N_("appeal filed"),
    "appeal_to_committee": N_("appeal to committee"),
    "attachment_downloaded": N_("attachment downloaded"),
    "case_assigned": N_("case assigned"),
    "case_exported": N_("case exported"),
    "case_linked": N_("case linked"),
    "case_opened": N_("case opened"),
    "case_unlinked": N_("case unlinked"),
    "case_updated": N_("case updated"),
    "committee_decided": N_("committee decided"),
    "committee_vote": N_("committee vote"),
    "deadline_breached": N_("deadline breached"),
    "deadline_extended": N_("deadline extended"),
    "deadline_paused": N_("deadline paused"),
    "deadline_recomputed": N_("deadline recomputed"),
    "deadline_resumed": N_("deadline resumed"),
    "deadline_stopped": N_("deadline stopped"),
    "deadline_warning": N_("deadline warning"),
    "escalated": N_("escalated"),
    "escrow_case_granted": N_("escrow case granted"),
    "escrow_key_refused": N_("escrow key refused"),
    "escalation_exhausted": N_("escalation exhausted"),
    "escalation_skipped": N_("escalation skipped"),
    "follow_up_done": N_("follow up done"),
    "grant_skipped_bad_key": N_("grant skipped bad key"),
    "identity_revealed": N_("identity revealed"),
    "identity_requested": N_("identity requested"),
    "identity_request_approved": N_("identity request approved"),
    "identity_request_refused": N_("identity request refused"),
    "identity_approval_revoked": N_("identity approval revoked"),
    "identity_approval_ended": N_("identity approval ended"),
    "message_acknowledge": N_("message acknowledge"),
    "message_decision": N_("message decision"),
    "message_feedback": N_("message feedback"),
    "message_refused_bad_key": N_("message refused bad key"),
    "message_reply": N_("message reply"),
    "message_request_info": N_("message request info"),
    "message_resolution": N_("message resolution"),
    "minutes_revised": N_("minutes revised"),
    "note_added": N_("note added"),
    "oral_report_recorded": N_("oral report recorded"),
    "policy_chosen": N_("policy chosen"),
    "proof_checked": N_("proof checked"),
    "recused": N_("recused"),
    "redaction_made": N_("redaction made"),
    "redaction_removed": N_("redaction removed"),
    "reporter_satisfied": N_("reporter satisfied"),
    "secretary_answered": N_("secretary answered"),
    "third_party_cleared": N_("third party cleared"),
    "third_party_set": N_("third party set"),
}


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    # The row lock ends with the outermost transaction; the next one must take it again.
    if transaction.parent is None:
        session.info.pop(_HEAD, None)


def record(
    session: Session,
    action: str,
    *,
    now: datetime,
    actor_id: int | None = None,
    actor_kind: str = "staff",
    case_id: int | None = None,
    subject_id: int | None = None,
    detail: str = "",
) -> None:
    """Append an entry in the caller's transaction (the caller commits).

    The chain head is locked (FOR UPDATE where the database has it) so that two writers never
    chain to the same predecessor. ``detail`` must never hold report content or an IP address.
    """
    head = session.info.get(_HEAD)
    if head is None:
        if session.get_bind().dialect.name == "sqlite":
            # SQLite ignores FOR UPDATE, and its driver begins a transaction only at the first
            # write: without this touch, two writers (parallel failed sign-ins) read the same
            # head and fork the chain. Touching the row takes the write lock before the read.
            session.execute(
                update(AuditHead)
                .where(AuditHead.id == HEAD_ID)
                .values(last_hash=AuditHead.last_hash)
                .execution_options(synchronize_session=False)
            )
        head = session.scalar(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update())
        if head is None:
            head = AuditHead(id=HEAD_ID, last_hash=GENESIS)
            session.add(head)
        # Held (and locked) until this transaction ends; later entries in it need no query.
        session.info[_HEAD] = head
    fields: dict[str, Any] = {
        "at": now,
        "actor_id": actor_id,
        "actor_kind": actor_kind,
        "action": action,
        "case_id": case_id,
        "subject_id": subject_id,
        "detail": detail,
        "prev_hash": head.last_hash,
    }
    fields["entry_hash"] = _chain_hash(**fields)
    head.last_hash = fields["entry_hash"]
    batch.add(session, AuditEntry, fields)


def entry_hash(entry: AuditEntry) -> bytes:
    """SHA-256 over the previous hash and every field of the entry, in a fixed encoding."""
    return _chain_hash(
        at=entry.at,
        actor_id=entry.actor_id,
        actor_kind=entry.actor_kind,
        action=entry.action,
        case_id=entry.case_id,
        subject_id=entry.subject_id,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )


def _chain_hash(
    *,
    at: datetime,
    actor_id: int | None,
    actor_kind: str,
    action: str,
    case_id: int | None,
    subject_id: int | None,
    detail: str,
    prev_hash: bytes,
) -> bytes:
    fields = [
        at.isoformat(timespec="microseconds"),
        actor_id,
        actor_kind,
        action,
        case_id,
        subject_id,
        detail,
    ]
    canonical = json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()
    return hashlib.sha256(prev_hash + canonical).digest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""


def verify(session: Session) -> VerifyResult:
    """Walk the chain in id order and report the first changed, removed or inserted entry."""
    expected_prev = GENESIS
    checked = 0
    previous_id = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        if entry.prev_hash != expected_prev:
            return VerifyResult(
                False,
                checked,
                f"entry {entry.id} does not follow entry {previous_id or 'start'}: "
                "an entry was removed or inserted before it",
            )
        if entry_hash(entry) != entry.entry_hash:
            return VerifyResult(False, checked, f"entry {entry.id} was changed")
        expected_prev = entry.entry_hash
        previous_id = entry.id
        checked += 1
    head = session.get(AuditHead, HEAD_ID)
    if head is not None and head.last_hash != expected_prev:
        return VerifyResult(
            False, checked, f"entries after entry {previous_id or 'start'} were removed"
        )
    return VerifyResult(True, checked)
