"""What the escrow pages show: requests, their answers so far, and who may do what on them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _
from portal.models import (
    EscrowCustodian,
    EscrowRequest,
    EscrowRequestKind,
    EscrowRequestState,
    User,
)
from portal.services.errors import NotFoundError
from portal.services.staff import escrow as escrow_keys
from portal.services.staff import escrow_answers, escrow_requests

RECENT = 20


def may_see(user: User) -> bool:
    """Admins and staff at level 2 or above see escrow requests (escrow custodians are)."""
    return escrow_requests.may_request(user)


@dataclass(frozen=True)
class Answer:
    custodian_id: int
    name: str
    paper: bool
    # None: not answered yet; True approved; False refused.
    approved: bool | None


@dataclass(frozen=True)
class RequestPage:
    request: EscrowRequest
    requester: str
    handler: str
    threshold: int
    answers: tuple[Answer, ...]
    approvals: int
    # What the viewer may do: approve or refuse as a staff escrow custodian, type in paper
    # shares (holds the request's key), withdraw (requester or admin).
    can_answer: bool
    can_enter_paper: bool
    can_cancel: bool
    new_custodians: tuple[str, ...]

    @property
    def pending(self) -> bool:
        return self.request.state == EscrowRequestState.PENDING

    @property
    def unanswered_paper(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.paper and a.approved is None)


def list_requests(session: Session, user: User) -> list[EscrowRequest]:
    """Pending requests first, then the most recent closed ones."""
    if not may_see(user):
        raise NotFoundError(_("No such page."))
    return all_requests(session)


def all_requests(session: Session) -> list[EscrowRequest]:
    pending = session.scalars(
        select(EscrowRequest)
        .where(EscrowRequest.state == EscrowRequestState.PENDING)
        .order_by(EscrowRequest.id)
    ).all()
    closed = session.scalars(
        select(EscrowRequest)
        .where(EscrowRequest.state != EscrowRequestState.PENDING)
        .order_by(EscrowRequest.id.desc())
        .limit(RECENT)
    ).all()
    return [*pending, *closed]


def request_page(session: Session, request_id: int, user: User) -> RequestPage:
    if not may_see(user):
        raise NotFoundError(_("No such escrow request."))
    request = escrow_requests.get_request(session, request_id)
    escrow = escrow_keys.get_escrow(session)
    current = request.generation == escrow.generation
    answered = {a.custodian_id: a.approved for a in escrow_requests.approvals_of(session, request)}
    views = escrow_keys.custodian_views(session, escrow) if current else ()
    answers = tuple(Answer(v.id, v.name, v.paper, answered.get(v.id)) for v in views)
    pending = request.state == EscrowRequestState.PENDING and current
    mine = next((a for a in answers if not a.paper and _is(session, a, user)), None)
    names = {u.id: u.display_name for u in session.scalars(select(User))}
    new_custodians: tuple[str, ...] = ()
    if request.kind == EscrowRequestKind.CHANGE:
        new_custodians = tuple(
            names.get(c["user_id"], "") if "user_id" in c else str(c.get("paper_name", ""))
            for c in request.new_custodians
        )
    return RequestPage(
        request=request,
        requester=names.get(request.requested_by_id, ""),
        handler=names.get(request.handler_id, "") if request.handler_id else "",
        threshold=escrow.threshold,
        answers=answers,
        approvals=sum(1 for a in answers if a.approved),
        can_answer=pending and mine is not None and mine.approved is None,
        can_enter_paper=pending and escrow_answers.holds_request_key(session, request, user),
        can_cancel=pending and (user.is_admin or user.id == request.requested_by_id),
        new_custodians=new_custodians,
    )


def _is(session: Session, answer: Answer, user: User) -> bool:
    custodian = session.get(EscrowCustodian, answer.custodian_id)
    return custodian is not None and custodian.user_id == user.id


def recovery_choices(session: Session) -> list[User]:
    """Handlers who may receive recovered cases, or whose cases may be recovered."""
    return list(
        session.scalars(
            select(User).where(User.is_handler.is_(True)).order_by(User.display_name, User.id)
        )
    )
