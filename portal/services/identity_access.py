"""A confidential reporter's identity behind a custodian (Directive (EU) 2019/1937, art. 16).

When at least one active custodian is named, a handler sees a confidential reporter's identity
only under a custodian's approval of that handler's request for that case. A custodian holds no
case key and reads no case: they see the case reference, who asks, the reason and the dates.
An approval stands until a custodian revokes it or the case is closed; every opening is audited
(``identity_revealed``). With no custodian, identity access is unchecked, as it always was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.i18n import _, in_language
from portal.models import AuditEntry, Case, IdentityRequest, IdentityRequestState, User
from portal.models.identity import MAX_REASON_LENGTH
from portal.services import audit, notifications
from portal.services.approvals import Notice
from portal.services.errors import InvalidInputError, NotFoundError, ServiceError
from portal.services.inbox import reference

# Row ids are 32-bit on PostgreSQL; a larger number names no request.
MAX_ID = 2**31 - 1
# How many decided requests the custodians' page lists (newest first).
DECIDED_SHOWN = 200
ALREADY_DECIDED = "This request has been decided already, or it does not exist. Nothing changed."


class IdentityNotApprovedError(ServiceError):
    """A custodian is named and this handler has no standing approval for this case."""


class NotACustodianError(ServiceError):
    """Only an active custodian decides a request."""


def checked(session: Session) -> bool:
    """Whether identity access is checked: at least one active, activated custodian exists."""
    return (
        session.scalar(
            select(User.id)
            .where(
                User.is_custodian.is_(True),
                User.active.is_(True),
                User.password_wrapped_key.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


def standing_approval(session: Session, case: Case, handler: User) -> IdentityRequest | None:
    """This handler's approved request for this case, if one stands."""
    return session.scalar(
        select(IdentityRequest)
        .where(
            IdentityRequest.case_id == case.id,
            IdentityRequest.handler_id == handler.id,
            IdentityRequest.state == IdentityRequestState.APPROVED,
        )
        .limit(1)
    )


def may_open(session: Session, case: Case, handler: User) -> bool:
    """Whether ``handler`` may open the identity of ``case`` now (unchecked, or approved)."""
    return not checked(session) or standing_approval(session, case, handler) is not None


def check_may_open(session: Session, case: Case, handler: User) -> None:
    """Raise IdentityNotApprovedError unless ``handler`` may open the identity of ``case``.

    Keeps art. 16: with a custodian named, no handler sees an identity on their own say.
    """
    if not may_open(session, case, handler):
        raise IdentityNotApprovedError(
            _(
                "The reporter's identity is shown only after a custodian approves your request. "
                "Nothing was shown. Ask for it on the case page, with your reason."
            )
        )


def _reason(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInputError(_("%(what)s: give your reason.", what=what))
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidInputError(
            _("%(what)s: use at most %(num)d characters.", what=what, num=MAX_REASON_LENGTH)
        )
    return text


def _open_request(session: Session, case: Case, handler: User) -> IdentityRequest | None:
    return session.scalar(
        select(IdentityRequest).where(
            IdentityRequest.case_id == case.id,
            IdentityRequest.handler_id == handler.id,
            IdentityRequest.state.in_(
                (IdentityRequestState.REQUESTED, IdentityRequestState.APPROVED)
            ),
        )
    )


def request_identity(
    session: Session, case: Case, handler: User, reason: str, *, now: datetime, notice: Notice
) -> IdentityRequest:
    """Ask the custodians to let ``handler`` see the identity of ``case``. Commits once.

    The reason is kept in the clear (the custodian holds no case key); the custodians are told
    by e-mail with a reference and a link only.
    """
    reason = _reason(reason, _("Reason"))
    if case.sealed_identity is None:
        raise InvalidInputError(_("The reporter gave no identity on this case."))
    if not checked(session):
        raise InvalidInputError(
            _("No custodian is named, so the identity needs no approval on this site.")
        )
    if _open_request(session, case, handler) is not None:
        raise InvalidInputError(
            _("You have a request for this case already; wait for its decision.")
        )
    row = IdentityRequest(
        case_id=case.id,
        handler_id=handler.id,
        reason=reason,
        state=IdentityRequestState.REQUESTED,
        requested_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "identity_requested",
        now=now,
        actor_id=handler.id,
        case_id=case.id,
        detail=f"request {row.id}",
    )
    ref = reference(case)
    for custodian in session.scalars(
        select(User).where(User.is_custodian.is_(True), User.active.is_(True))
    ):
        with in_language(None):
            _tell(
                session,
                custodian,
                _("[%(site)s] A request to see a reporter's identity", site=notice.site_name),
                _(
                    "A handler asks to see the reporter's identity on case %(ref)s. Decide it "
                    "(you will be asked to sign in):\n%(url)s\n",
                    ref=ref,
                    url=f"{notice.base_url}/staff/identity-requests",
                ),
                now,
            )
    session.commit()
    return row


def _tell(session: Session, person: User, subject: str, body: str, now: datetime) -> None:
    if not person.email or "\r" in person.email or "\n" in person.email:
        return
    notifications.enqueue(
        session, to=person.email, subject=subject, body=body, recipient_id=person.id, now=now
    )


def _custodian(person: User) -> None:
    if not (person.is_custodian and person.active):
        raise NotACustodianError(_("Only a custodian decides these requests."))


def get_request(session: Session, request_id: int) -> IdentityRequest:
    row = session.get(IdentityRequest, request_id) if 0 < request_id <= MAX_ID else None
    if row is None:
        raise NotFoundError(_(ALREADY_DECIDED))
    return row


def _claim(
    session: Session,
    row: IdentityRequest,
    before: IdentityRequestState,
    values: dict[str, object],
) -> None:
    """Move the request on with a conditional update, so two decisions sent at once cannot
    both apply."""
    claimed = session.execute(
        update(IdentityRequest)
        .where(IdentityRequest.id == row.id, IdentityRequest.state == before)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for an UPDATE
        session.rollback()
        raise NotFoundError(_(ALREADY_DECIDED))


def decide(
    session: Session,
    custodian: User,
    request_id: int,
    *,
    approve: bool,
    reason: str,
    now: datetime,
    notice: Notice,
) -> IdentityRequest:
    """A custodian approves or refuses a request, with a reason; audited, and the handler is
    told (a reference and a link). Commits once."""
    _custodian(custodian)
    row = get_request(session, request_id)
    reason = _reason(reason, _("Your reason"))
    state = IdentityRequestState.APPROVED if approve else IdentityRequestState.REFUSED
    _claim(
        session,
        row,
        IdentityRequestState.REQUESTED,
        {
            "state": state,
            "custodian_id": custodian.id,
            "custodian_reason": reason,
            "decided_at": now,
        },
    )
    audit.record(
        session,
        "identity_request_approved" if approve else "identity_request_refused",
        now=now,
        actor_id=custodian.id,
        case_id=row.case_id,
        subject_id=row.handler_id,
        detail=f"request {row.id}",
    )
    case = session.get_one(Case, row.case_id)
    handler = session.get_one(User, row.handler_id)
    case_link = f"{notice.base_url}/staff/cases/{case.uid}"
    with in_language(None):
        _tell(
            session,
            handler,
            _(
                "[%(site)s] Your request on case %(ref)s was decided",
                site=notice.site_name,
                ref=reference(case),
            ),
            _(
                "A custodian decided your request to see the reporter's identity on case "
                "%(ref)s. See the case page (you will be asked to sign in):\n%(url)s\n",
                ref=reference(case),
                url=case_link,
            ),
            now,
        )
    session.commit()
    session.refresh(row)
    return row


def revoke(
    session: Session, custodian: User, request_id: int, *, reason: str, now: datetime
) -> IdentityRequest:
    """A custodian takes an approval back; the handler must ask again. Audited. Commits once."""
    _custodian(custodian)
    row = get_request(session, request_id)
    reason = _reason(reason, _("Your reason"))
    _claim(
        session,
        row,
        IdentityRequestState.APPROVED,
        {
            "state": IdentityRequestState.REVOKED,
            "ended_by_id": custodian.id,
            "ended_reason": reason,
            "ended_at": now,
        },
    )
    audit.record(
        session,
        "identity_approval_revoked",
        now=now,
        actor_id=custodian.id,
        case_id=row.case_id,
        subject_id=row.handler_id,
        detail=f"request {row.id}",
    )
    session.commit()
    session.refresh(row)
    return row


def end_approvals(session: Session, case: Case, *, now: datetime) -> None:
    """End every standing approval on ``case`` as it is closed; a case opened again needs a new
    request. Runs in the caller's transaction; the caller commits."""
    rows = list(
        session.scalars(
            select(IdentityRequest).where(
                IdentityRequest.case_id == case.id,
                IdentityRequest.state == IdentityRequestState.APPROVED,
            )
        )
    )
    for row in rows:
        row.state, row.ended_at = IdentityRequestState.ENDED, now
        audit.record(
            session,
            "identity_approval_ended",
            now=now,
            actor_kind="system",
            case_id=case.id,
            subject_id=row.handler_id,
            detail=f"request {row.id}: the case was closed",
        )


@dataclass(frozen=True)
class RequestView:
    """A request as staff read it: no case content, only the reference and the people."""

    request: IdentityRequest
    reference: str
    handler_name: str
    custodian_name: str | None
    ended_by_name: str | None


def _views(session: Session, rows: Sequence[IdentityRequest]) -> list[RequestView]:
    ids = {r.handler_id for r in rows} | {
        i for r in rows for i in (r.custodian_id, r.ended_by_id) if i is not None
    }
    # Result objects have keys(), so dict() would read them as mappings: build the dicts here.
    names = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(ids))
        )
    }
    cases = {
        case.id: case
        for case in session.scalars(select(Case).where(Case.id.in_({r.case_id for r in rows})))
    }
    return [
        RequestView(
            request=r,
            reference=reference(cases[r.case_id]),
            handler_name=names.get(r.handler_id, ""),
            custodian_name=names.get(r.custodian_id) if r.custodian_id else None,
            ended_by_name=names.get(r.ended_by_id) if r.ended_by_id else None,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class RequestLists:
    pending: list[RequestView]
    decided: list[RequestView]


def list_requests(session: Session) -> RequestLists:
    """The custodians' page: waiting requests oldest first, then decided ones newest first."""
    pending = session.scalars(
        select(IdentityRequest)
        .where(IdentityRequest.state == IdentityRequestState.REQUESTED)
        .order_by(IdentityRequest.requested_at, IdentityRequest.id)
    ).all()
    decided = session.scalars(
        select(IdentityRequest)
        .where(IdentityRequest.state != IdentityRequestState.REQUESTED)
        .order_by(IdentityRequest.decided_at.desc(), IdentityRequest.id.desc())
        .limit(DECIDED_SHOWN)
    ).all()
    return RequestLists(_views(session, pending), _views(session, decided))


def get_request_view(session: Session, request_id: int) -> RequestView:
    return _views(session, [get_request(session, request_id)])[0]


@dataclass(frozen=True)
class CaseIdentityAccess:
    """What the case page says about the identity: whether it is checked, this handler's own
    request, and every request and opening on the case."""

    checked: bool
    mine: IdentityRequest | None
    history: list[RequestView]
    openings: list[AuditEntry]


def case_identity_access(session: Session, case: Case, handler: User) -> CaseIdentityAccess:
    rows = session.scalars(
        select(IdentityRequest)
        .where(IdentityRequest.case_id == case.id)
        .order_by(IdentityRequest.requested_at, IdentityRequest.id)
    ).all()
    mine = next(
        (
            r
            for r in reversed(rows)
            if r.handler_id == handler.id
            and r.state in (IdentityRequestState.REQUESTED, IdentityRequestState.APPROVED)
        ),
        None,
    )
    return CaseIdentityAccess(
        checked=checked(session),
        mine=mine,
        history=_views(session, rows),
        openings=disclosures(session, case),
    )


def disclosures(session: Session, case: Case) -> list[AuditEntry]:
    """Every time the identity was shown to staff (on the case page or in an export)."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.case_id == case.id, AuditEntry.action == "identity_revealed")
            .order_by(AuditEntry.id)
        )
    )


def disclosure_times(session: Session, case: Case) -> list[datetime]:
    """When the reporter's identity was shown to staff, for the reporter's own page (never
    who saw it). Empty when the reporter gave no identity."""
    if not case.confidential:
        return []
    return [entry.at for entry in disclosures(session, case)]
