"""Answers to an escrow request: each escrow custodian approves or refuses in their own session,
a paper custodian's words are typed in, and the M-th approval completes the request
(``escrow_completion``). The requester or an admin may withdraw it while it waits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.i18n import _
from portal.models import (
    Escrow,
    EscrowApproval,
    EscrowCustodian,
    EscrowRequest,
    EscrowRequestKey,
    EscrowRequestState,
    User,
)
from portal.services import audit, contexts, integrity
from portal.services.staff import escrow as escrow_keys
from portal.services.staff.escrow_completion import Outcome, close_request, complete
from portal.services.staff.escrow_requests import (
    EscrowRequestError,
    WrongShareError,
    approvals_of,
    get_request,
)


def _pending(session: Session, request_id: int) -> tuple[EscrowRequest, Escrow]:
    request = get_request(session, request_id)
    escrow = escrow_keys.get_escrow(session)
    if request.state != EscrowRequestState.PENDING or request.generation != escrow.generation:
        raise EscrowRequestError(_("This request is closed."))
    return request, escrow


def _custodian(session: Session, request: EscrowRequest, custodian_id: int) -> EscrowCustodian:
    custodian = session.get(EscrowCustodian, custodian_id)
    if custodian is None or custodian.escrow_id != request.escrow_id:
        raise EscrowRequestError(_("That is not an escrow custodian of this request."))
    if session.get(EscrowApproval, (request.id, custodian.id)) is not None:
        raise EscrowRequestError(_("That escrow custodian has answered this request already."))
    return custodian


def own_custodian(session: Session, request: EscrowRequest, user: User) -> EscrowCustodian | None:
    return session.scalar(
        select(EscrowCustodian).where(
            EscrowCustodian.escrow_id == request.escrow_id, EscrowCustodian.user_id == user.id
        )
    )


def holds_request_key(session: Session, request: EscrowRequest, user: User) -> bool:
    return session.get(EscrowRequestKey, (request.id, user.id)) is not None


def approve(
    session: Session, request_id: int, actor: User, private_key: bytes, *, now: datetime
) -> Outcome:
    """A staff escrow custodian approves in their own session: their share, opened with their
    private key, is sealed to the request's key. The M-th approval completes the request.
    Commits once."""
    request, escrow = _pending(session, request_id)
    mine = own_custodian(session, request, actor)
    if mine is None or mine.sealed_share is None:
        raise EscrowRequestError(_("You are not an escrow custodian of this escrow."))
    custodian = _custodian(session, request, mine.id)
    words = integrity.open_item(
        session,
        private_key,
        custodian.sealed_share or b"",
        custodian.share_tag,
        contexts.escrow_share(escrow.id, custodian.id),
    ).decode()
    return _record_share(session, request, escrow, custodian, words, actor, private_key, now)


def enter_paper_share(
    session: Session,
    request_id: int,
    custodian_id: int,
    words: str,
    actor: User,
    private_key: bytes,
    *,
    now: datetime,
) -> Outcome:
    """A paper custodian's words, typed in by a staff member who holds the request's key (a staff
    escrow custodian or the requester). Refused with a clear message if mistyped, of another
    split or of another custodian; nothing of a refused share is kept. Commits once."""
    request, escrow = _pending(session, request_id)
    if not holds_request_key(session, request, actor):
        raise EscrowRequestError(
            _("Only a staff escrow custodian or the requester may type in a paper share.")
        )
    custodian = _custodian(session, request, custodian_id)
    if custodian.user_id is not None:
        raise EscrowRequestError(_("That escrow custodian approves in their own session."))
    try:
        share = crypto.parse_escrow_share(words)
    except crypto.InvalidShareError as exc:
        raise WrongShareError(
            _("These words are not a valid share: check each word and that none is missing.")
        ) from exc
    if share.identifier != escrow.split_id:
        raise WrongShareError(_("This share belongs to another set of shares (an older one)."))
    if share.index != custodian.share_index:
        raise WrongShareError(
            _("This share is not the one given to %(name)s.", name=custodian.paper_name or "")
        )
    return _record_share(session, request, escrow, custodian, share.words, actor, private_key, now)


def refuse(session: Session, request_id: int, actor: User, *, now: datetime) -> bool:
    """A staff escrow custodian refuses; when M approvals can no longer be reached the request
    closes as refused. Returns whether it closed. Commits once."""
    request, escrow = _pending(session, request_id)
    mine = own_custodian(session, request, actor)
    if mine is None:
        raise EscrowRequestError(_("You are not an escrow custodian of this escrow."))
    custodian = _custodian(session, request, mine.id)
    session.add(
        EscrowApproval(
            request_id=request.id,
            custodian_id=custodian.id,
            approved=False,
            entered_by_id=actor.id,
            decided_at=now,
        )
    )
    session.flush()
    audit.record(
        session, "escrow_refused", now=now, actor_id=actor.id, detail=f"request {request.id}"
    )
    answers = approvals_of(session, request)
    refusals = sum(1 for a in answers if not a.approved)
    closed = bool(len(escrow_keys.custodians(session, escrow)) - refusals < escrow.threshold)
    if closed:
        close_request(session, request, EscrowRequestState.REFUSED, now)
        audit.record(
            session,
            "escrow_request_refused",
            now=now,
            actor_id=actor.id,
            detail=f"request {request.id}",
        )
    session.commit()
    return closed


def cancel(session: Session, request_id: int, actor: User, *, now: datetime) -> None:
    """The requester or an admin withdraws a pending request; its shares go. Commits once."""
    request, _escrow = _pending(session, request_id)
    if not (actor.is_admin or actor.id == request.requested_by_id):
        raise EscrowRequestError(_("Only the requester or an admin may withdraw it."))
    close_request(session, request, EscrowRequestState.CANCELLED, now)
    audit.record(
        session,
        "escrow_request_cancelled",
        now=now,
        actor_id=actor.id,
        detail=f"request {request.id}",
    )
    session.commit()


def _record_share(
    session: Session,
    request: EscrowRequest,
    escrow: Escrow,
    custodian: EscrowCustodian,
    words: str,
    actor: User,
    private_key: bytes,
    now: datetime,
) -> Outcome:
    crypto.verify_tag(
        integrity.integrity_key(session),
        integrity.PUBLIC_KEY,
        contexts.escrow_request_public_key(request.id),
        request.ephemeral_public_key,
        request.ephemeral_public_key_tag,
    )
    blob, tag = integrity.seal_item(
        session,
        request.ephemeral_public_key,
        words.encode(),
        contexts.escrow_approval_share(request.id, custodian.id),
    )
    session.add(
        EscrowApproval(
            request_id=request.id,
            custodian_id=custodian.id,
            approved=True,
            entered_by_id=actor.id,
            sealed_share=blob,
            share_tag=tag,
            decided_at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        "escrow_approved" if custodian.user_id is not None else "escrow_paper_share_entered",
        now=now,
        actor_id=actor.id,
        detail=f"request {request.id}; custodian {custodian.id}",
    )
    approvals = [a for a in approvals_of(session, request) if a.approved]
    if len(approvals) < escrow.threshold or not holds_request_key(session, request, actor):
        session.commit()
        return Outcome(False, len(approvals), escrow.threshold)
    try:
        outcome = complete(session, request, escrow, approvals, actor, private_key, now)
    except crypto.CryptoError as exc:
        session.rollback()
        audit.record(
            session,
            "escrow_share_refused",
            now=now,
            actor_id=actor.id,
            detail=f"request {request.id}: the shares did not rebuild the escrow key",
        )
        session.commit()
        raise WrongShareError(
            _(
                "The shares given do not fit together, so nothing was done and this answer was "
                "not kept. If a paper share was typed in, one of them may be of another set or "
                "altered: withdraw the request and ask again."
            )
        ) from exc
    session.commit()
    return outcome
