"""Follow-up actions after an upheld complaint: the policy's checklist, ticked by handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _
from portal.models import Case, CaseEvent, CaseFollowUp, EventKind, User
from portal.services import audit
from portal.services.clock import versions
from portal.services.errors import InvalidInputError, NotFoundError


@dataclass(frozen=True)
class FollowUpView:
    policy: str
    action: str
    label: str
    source: str | None
    done_at: datetime | None
    done_by: str | None


@dataclass(frozen=True)
class FollowUps:
    """The case's checklist; ``open`` once a decision has been sent, when it can be ticked."""

    items: list[FollowUpView]
    open: bool


def follow_ups_of(session: Session, case: Case) -> FollowUps:
    """Every follow-up action of the case's policies, in policy order, with who ticked it."""
    done = {
        (row.policy, row.action): (row.done_at, name)
        for row, name in session.execute(
            select(CaseFollowUp, User.display_name)
            .outerjoin(User, User.id == CaseFollowUp.done_by_id)
            .where(CaseFollowUp.case_id == case.id)
        ).tuples()
    }
    items = []
    for name in case.policies:
        for action in versions.resolve_policy(session, name).follow_up:
            done_at, done_by = done.get((name, action.key), (None, None))
            items.append(
                FollowUpView(name, action.key, action.label, action.source, done_at, done_by)
            )
    return FollowUps(items=items, open=bool(items) and _decided(session, case))


def record_follow_up(
    session: Session, case: Case, policy: str, action: str, *, actor: User, now: datetime
) -> None:
    """A handler on the case records one follow-up action as done; audited. Commits once.

    Only the action's key is stored and audited: what was done belongs in a sealed note.
    """
    if policy not in case.policies or action not in {
        a.key for a in versions.resolve_policy(session, policy).follow_up
    }:
        raise NotFoundError(_("This case has no such follow-up action."))
    if not _decided(session, case):
        raise InvalidInputError(
            _(
                "Nothing was recorded: follow-up actions are recorded after the decision is "
                "sent. Send the decision first, then tick them here."
            )
        )
    if session.get(CaseFollowUp, (case.id, policy, action)) is not None:
        raise InvalidInputError(_("This follow-up action is already recorded as done."))
    session.add(
        CaseFollowUp(
            case_id=case.id, policy=policy, action=action, done_at=now, done_by_id=actor.id
        )
    )
    audit.record(
        session,
        "follow_up_done",
        now=now,
        actor_id=actor.id,
        case_id=case.id,
        detail=f"{policy}/{action}",
    )
    session.commit()


def _decided(session: Session, case: Case) -> bool:
    return (
        session.scalar(
            select(CaseEvent.id)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.DECISION_SENT)
            .limit(1)
        )
        is not None
    )
