"""The one act an escrow request allows, done in the session of its M-th approver.

The escrow private key is rebuilt here, in memory, from the M shares the approvals hold; it is
used for the request's act (grant the chosen cases to the chosen handler, or re-split for a new set
of escrow custodians) and dropped when this call returns. The stored shares and the request's
sealed ephemeral keys are deleted in the same transaction, so the shares cannot be used again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

import crypto
from portal.i18n import _
from portal.models import (
    Case,
    CaseExclusion,
    CaseKeyGrant,
    CaseRecusal,
    Escrow,
    EscrowApproval,
    EscrowCustodian,
    EscrowRequest,
    EscrowRequestKey,
    EscrowRequestKind,
    EscrowRequestState,
    User,
)
from portal.services import audit, contexts, integrity
from portal.services.errors import InvalidInputError
from portal.services.staff import escrow as escrow_keys
from portal.services.staff.escrow import CustodianChoice, PaperShare


@dataclass(frozen=True)
class Outcome:
    """What an approval led to; ``paper_shares`` are shown once (after a change)."""

    done: bool
    approvals: int
    threshold: int
    granted: int = 0
    skipped: int = 0
    paper_shares: tuple[PaperShare, ...] = field(default=())


def close_request(
    session: Session, request: EscrowRequest, state: EscrowRequestState, now: datetime
) -> None:
    """Mark the request closed and delete every share and key stored for it. No commit."""
    request.state = state
    request.closed_at = now
    session.execute(
        update(EscrowApproval)
        .where(EscrowApproval.request_id == request.id)
        .values(sealed_share=None, share_tag=None)
    )
    session.execute(delete(EscrowRequestKey).where(EscrowRequestKey.request_id == request.id))


def custodian_choices(request: EscrowRequest) -> list[CustodianChoice]:
    return [
        CustodianChoice(user_id=c.get("user_id"), paper_name=c.get("paper_name"))
        for c in request.new_custodians
    ]


def complete(
    session: Session,
    request: EscrowRequest,
    escrow: Escrow,
    approvals: list[EscrowApproval],
    actor: User,
    private_key: bytes,
    now: datetime,
) -> Outcome:
    """Rebuild the escrow private key from the approvals' shares and do the request's act.

    Security property: the ephemeral key is opened only with the actor's own private key, the
    shares only with the ephemeral key, and the escrow key is accepted only if it matches the
    tagged escrow public key; any failure raises ``CryptoError`` and nothing is written. Does not
    commit.
    """
    key_row = session.get(EscrowRequestKey, (request.id, actor.id))
    if key_row is None:
        raise crypto.DecryptionError("no request key for this account")
    ephemeral = integrity.open_item(
        session,
        private_key,
        key_row.sealed_private_key,
        key_row.tag,
        contexts.escrow_request_key(request.id, actor.id),
    )
    if crypto.public_key_from_private(ephemeral) != request.ephemeral_public_key:
        raise crypto.DecryptionError("request key does not match")
    shares = [
        integrity.open_item(
            session,
            ephemeral,
            a.sealed_share or b"",
            a.share_tag,
            contexts.escrow_approval_share(request.id, a.custodian_id),
        ).decode()
        for a in approvals
    ]
    escrow_private = crypto.combine_escrow_shares(
        shares, escrow_keys.escrow_public_key(session, escrow)
    )
    if request.kind == EscrowRequestKind.RECOVERY:
        granted, skipped = _grant_cases(session, request, escrow, escrow_private, actor, now)
        close_request(session, request, EscrowRequestState.DONE, now)
        audit.record(
            session,
            "escrow_recovery_done",
            now=now,
            actor_id=actor.id,
            subject_id=request.handler_id,
            detail=f"request {request.id}; {granted} granted, {skipped} skipped",
        )
        return Outcome(True, len(approvals), escrow.threshold, granted, skipped)
    paper = _resplit(session, request, escrow, escrow_private, actor, now)
    return Outcome(True, len(approvals), request.new_threshold or 0, paper_shares=tuple(paper))


def _grant_cases(
    session: Session,
    request: EscrowRequest,
    escrow: Escrow,
    escrow_private: bytes,
    actor: User,
    now: datetime,
) -> tuple[int, int]:
    handler = session.get(User, request.handler_id) if request.handler_id else None
    if handler is None or not handler.is_handler or not handler.active:
        raise InvalidInputError(_("The receiving handler can no longer receive cases."))
    handler_key = integrity.user_public_key(session, handler)
    # The reporter's exclusion and the handler's own recusal still hold: escrow never
    # overrides who the reporter or the handler said must not read the case.
    barred = set(
        session.scalars(select(CaseExclusion.case_id).where(CaseExclusion.user_id == handler.id))
    ) | set(session.scalars(select(CaseRecusal.case_id).where(CaseRecusal.user_id == handler.id)))
    held = set(
        session.scalars(select(CaseKeyGrant.case_id).where(CaseKeyGrant.user_id == handler.id))
    )
    granted = skipped = 0
    for case_id in request.case_ids:
        case = session.get(Case, case_id)
        if case is None or case.id in barred:
            skipped += 1
            continue
        if case.id in held:
            continue
        case_key = escrow_keys.open_escrow_copy(session, escrow, escrow_private, case)
        if case_key is None:
            skipped += 1
            continue
        blob, tag = integrity.seal_item(
            session, handler_key, case_key, contexts.case_key(case.uid, handler.id)
        )
        session.add(
            CaseKeyGrant(
                case_id=case.id,
                user_id=handler.id,
                sealed_case_key=blob,
                tag=tag,
                granted_at=now,
            )
        )
        audit.record(
            session,
            "escrow_case_granted",
            now=now,
            actor_id=actor.id,
            case_id=case.id,
            subject_id=handler.id,
            detail=f"request {request.id}",
        )
        granted += 1
    return granted, skipped


def _resplit(
    session: Session,
    request: EscrowRequest,
    escrow: Escrow,
    escrow_private: bytes,
    actor: User,
    now: datetime,
) -> list[PaperShare]:
    choices = custodian_choices(request)
    threshold = request.new_threshold or 0
    # Checked again: an account chosen then may since have lost its level or its key.
    escrow_keys.check_custodians(
        session,
        threshold,
        [c.user_id for c in choices if c.user_id is not None],
        [c.paper_name for c in choices if c.paper_name is not None],
    )
    close_request(session, request, EscrowRequestState.DONE, now)
    for other in session.scalars(
        select(EscrowRequest).where(
            EscrowRequest.escrow_id == escrow.id,
            EscrowRequest.state == EscrowRequestState.PENDING,
        )
    ):
        # Their approvals were given with shares that are about to stop existing.
        close_request(session, other, EscrowRequestState.CANCELLED, now)
    old = [c.id for c in escrow_keys.custodians(session, escrow)]
    session.execute(delete(EscrowApproval).where(EscrowApproval.custodian_id.in_(old)))
    session.execute(delete(EscrowCustodian).where(EscrowCustodian.id.in_(old)))
    session.flush()
    escrow.generation += 1
    paper = escrow_keys.install_shares(session, escrow, escrow_private, threshold, choices, now)
    audit.record(
        session,
        "escrow_resplit",
        now=now,
        actor_id=actor.id,
        detail=(
            f"request {request.id}; threshold {threshold} of {len(choices)}; "
            f"generation {escrow.generation}"
        ),
    )
    return paper
