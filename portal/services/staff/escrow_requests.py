"""Escrow requests: M escrow custodians approve, then the escrow key is rebuilt for one act.

A request (recovery: grant chosen cases to a chosen handler; change: re-split the same key for
another set of escrow custodians or threshold) gets an ephemeral X25519 key pair. Its private key
is sealed to each staff escrow custodian and to the requester; each approval stores the
custodian's share sealed to the ephemeral public key (a staff custodian's share is opened in
their own session; a paper custodian's words are typed in). When the M-th approval arrives, that
session opens the ephemeral key and the M shares, rebuilds the escrow private key in memory, does
the act, and deletes the stored shares and keys. With fewer than M approvals nothing can be
rebuilt: fewer than M shares say nothing about the key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.i18n import _
from portal.models import (
    Case,
    CaseEscrowKey,
    CaseKeyGrant,
    Escrow,
    EscrowApproval,
    EscrowRequest,
    EscrowRequestKey,
    EscrowRequestKind,
    EscrowRequestState,
    User,
)
from portal.services import audit, contexts, integrity
from portal.services.errors import InvalidInputError, NotFoundError, ServiceError
from portal.services.staff import escrow as escrow_keys

MAX_REASON = 1000
REFERENCE = re.compile(r"C-([0-9A-F]{8})")


class EscrowRequestError(ServiceError):
    """The act is not allowed (not an escrow custodian, answered already, request closed)."""


class WrongShareError(InvalidInputError):
    """A share is mistyped, of another split, of another custodian, or does not fit the others."""


def may_request(user: User) -> bool:
    # Identity custodians and analysts reach only their own pages, whatever their level.
    if user.is_custodian or user.is_analyst:
        return False
    return user.is_admin or user.level >= escrow_keys.MIN_CUSTODIAN_LEVEL


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInputError(_("Say why: the escrow custodians decide on it."))
    if len(reason) > MAX_REASON:
        raise InvalidInputError(_("The reason has at most 1000 characters."))
    return reason


def request_recovery(
    session: Session,
    actor: User,
    *,
    handler_id: int | None,
    from_handler_id: int | None,
    references: str,
    reason: str,
    now: datetime,
) -> tuple[EscrowRequest, int]:
    """Ask the escrow custodians to grant the chosen cases to the chosen handler.

    The cases are every case ``from_handler_id`` holds and those named by reference; only cases
    under escrow are kept (the count of the others is returned). Commits once.
    """
    if not may_request(actor):
        raise EscrowRequestError(_("Only admins and staff at level 2 or above may ask."))
    escrow = escrow_keys.get_escrow(session)
    reason = _check_reason(reason)
    handler = session.get(User, handler_id) if handler_id is not None else None
    if handler is None or not handler.is_handler or not handler.active:
        raise InvalidInputError(_("Choose the handler who is to receive the cases."))
    if not integrity.user_key_is_genuine(session, handler):
        raise InvalidInputError(_("That handler has no usable key: they must activate first."))
    case_ids: set[int] = set()
    if from_handler_id is not None:
        case_ids |= set(
            session.scalars(
                select(CaseKeyGrant.case_id).where(CaseKeyGrant.user_id == from_handler_id)
            )
        )
    for token in references.upper().split():
        found = REFERENCE.fullmatch(token.strip(",;"))
        case = (
            session.scalar(select(Case).where(Case.uid.startswith(found.group(1).lower())))
            if found
            else None
        )
        if case is None:
            raise InvalidInputError(
                _("No case has the reference %(reference)s.", reference=token[:20])
            )
        case_ids.add(case.id)
    if not case_ids:
        raise InvalidInputError(_("Choose the cases: a handler whose cases, or references."))
    covered = set(
        session.scalars(
            select(CaseEscrowKey.case_id).where(
                CaseEscrowKey.escrow_id == escrow.id,
                CaseEscrowKey.case_id.in_(case_ids),
            )
        )
    )
    if not covered:
        raise InvalidInputError(
            _("None of these cases is under escrow yet: none can be recovered.")
        )
    request = _open_request(
        session,
        escrow,
        actor,
        EscrowRequestKind.RECOVERY,
        reason,
        now,
        handler_id=handler.id,
        case_ids=sorted(covered),
    )
    session.commit()
    return request, len(case_ids - covered)


def request_change(
    session: Session,
    actor: User,
    *,
    threshold: int,
    user_ids: Sequence[int],
    paper_names: Sequence[str],
    reason: str,
    now: datetime,
) -> EscrowRequest:
    """Ask the current escrow custodians to re-split the key for a new set. Commits once."""
    if not actor.is_admin:
        raise EscrowRequestError(_("Only admins may change the escrow custodians."))
    escrow = escrow_keys.get_escrow(session)
    reason = _check_reason(reason)
    choices = escrow_keys.check_custodians(session, threshold, user_ids, paper_names)
    request = _open_request(
        session,
        escrow,
        actor,
        EscrowRequestKind.CHANGE,
        reason,
        now,
        new_threshold=threshold,
        new_custodians=[c.as_json() for c in choices],
    )
    session.commit()
    return request


def _open_request(
    session: Session,
    escrow: Escrow,
    actor: User,
    kind: EscrowRequestKind,
    reason: str,
    now: datetime,
    **fields: object,
) -> EscrowRequest:
    pair = crypto.generate_keypair()
    request = EscrowRequest(
        escrow_id=escrow.id,
        generation=escrow.generation,
        kind=kind,
        state=EscrowRequestState.PENDING,
        requested_by_id=actor.id,
        requested_at=now,
        reason=reason,
        ephemeral_public_key=pair.public_key,
        ephemeral_public_key_tag=b"",
        **fields,
    )
    session.add(request)
    session.flush()
    # Tagged, so a database writer cannot put their own key here and collect the shares.
    request.ephemeral_public_key_tag = crypto.integrity_tag(
        integrity.integrity_key(session),
        integrity.PUBLIC_KEY,
        contexts.escrow_request_public_key(request.id),
        pair.public_key,
    )
    holders = {c.user_id for c in escrow_keys.custodians(session, escrow) if c.user_id} | {actor.id}
    for user in session.scalars(select(User).where(User.id.in_(holders))):
        if not integrity.user_key_is_genuine(session, user):
            continue
        blob, tag = integrity.seal_item(
            session,
            integrity.user_public_key(session, user),
            pair.private_key,
            contexts.escrow_request_key(request.id, user.id),
        )
        session.add(
            EscrowRequestKey(
                request_id=request.id, user_id=user.id, sealed_private_key=blob, tag=tag
            )
        )
    audit.record(
        session,
        f"escrow_{kind.value}_requested",
        now=now,
        actor_id=actor.id,
        subject_id=request.handler_id,
        detail=f"request {request.id}",
    )
    return request


def get_request(session: Session, request_id: int) -> EscrowRequest:
    request = session.get(EscrowRequest, request_id)
    if request is None:
        raise NotFoundError(_("No such escrow request."))
    return request


def approvals_of(session: Session, request: EscrowRequest) -> list[EscrowApproval]:
    return list(
        session.scalars(select(EscrowApproval).where(EscrowApproval.request_id == request.id))
    )
