"""The appeal after a decision (seeds/002, lines 80-82): the Company Secretary first, then the
full committee (``committee``: its vote and decision).

- Line 80: "If you disagree with the decision the first point of contact is the Company
  Secretary." An admin makes one staff account the secretary; the appeal goes to them, and
  they uphold the decision or refer the appeal to the committee. Without a secretary, the
  appeal goes to the committee at once.
- The secretary "must not be involved in the matter": one who handled the case before the
  appeal (assigned to it, wrote to the reporter or a note, or took an act on it that the audit
  trail records) cannot answer it. Holding the case key alone is no involvement: the seed
  addresses complaints to the secretary (line 19), and they need the key to read the appeal.
- Line 82: "If you remain unhappy [...] take the matter to a full committee meeting": the
  reporter takes an answered appeal on to the committee.

Every step is audited and recorded as a typed event that starts or stops the step's clock.
"""

from __future__ import annotations

from datetime import datetime

from babel.lists import format_list
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from portal.i18n import N_, _, _l, current_language, in_language
from portal.models import (
    AuditEntry,
    AuthorKind,
    Case,
    CaseEvent,
    CaseKeyGrant,
    CompanySecretary,
    DigestKind,
    EventKind,
    Message,
    Note,
    User,
)
from portal.services import audit, case_news, notifications
from portal.services.clock.meetings import meeting_days, next_meeting
from portal.services.clock.schedule import (
    TOP_LEVEL,
    ClockError,
    ClockSettings,
    apply_event,
    rules_of,
)
from portal.services.errors import InvalidInputError
from portal.services.policies import ClockRule

SECRETARY_ROW = 1
# What the secretary did, as the audit trail keeps it (in English, as every audit entry).
_ANSWERED = {
    "uphold_decision": N_("upheld the decision"),
    "refer": N_("referred the appeal to the committee"),
}
# The same words as the case page shows them, in its language.
SECRETARY_ANSWERS = {answer: _l(words) for answer, words in _ANSWERED.items()}
# What the appeal's clocks start on: a policy with one of them offers an appeal.
APPEAL_STARTS = frozenset(
    {EventKind.APPEAL_FILED, EventKind.SECRETARY_ASKED, EventKind.COMMITTEE_ASKED}
)
# Reading a case is not handling it: these acts do not make a secretary "involved".
READING = frozenset({"case_opened", "attachment_downloaded", "identity_revealed", "case_exported"})

# --- The Company Secretary ---------------------------------------------------------------


def current_secretary(session: Session) -> User | None:
    """The active staff account an admin made Company Secretary, or None."""
    row = session.get(CompanySecretary, SECRETARY_ROW)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active and user.is_handler else None


def assign_secretary(
    session: Session, user_id: int | None, *, actor: User, now: datetime
) -> User | None:
    """An admin makes an active handler the Company Secretary, or nobody (``None``): appeals
    then go straight to the committee. Audited; commits once."""
    chosen = None
    if user_id is not None:
        chosen = session.get(User, user_id)
        if chosen is None or not chosen.active or not chosen.is_handler:
            raise InvalidInputError(
                _(
                    "Choose an active handler account: the Company Secretary reads the appeal, "
                    "so they need a handler's key. Nothing was saved."
                )
            )
    row = session.get(CompanySecretary, SECRETARY_ROW)
    before = session.get(User, row.user_id) if row is not None else None
    if chosen is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(CompanySecretary(id=SECRETARY_ROW, user_id=chosen.id, assigned_at=now))
    else:
        row.user_id, row.assigned_at = chosen.id, now
    audit.record(
        session,
        "secretary_assigned",
        now=now,
        actor_id=actor.id,
        subject_id=chosen.id if chosen else None,
        detail=f"{before.username if before else 'nobody'} -> "
        f"{chosen.username if chosen else 'nobody'}",
    )
    session.commit()
    return chosen


def secretary_candidates(session: Session) -> list[User]:
    """Who an admin may make Company Secretary: active handlers, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.is_handler.is_(True), User.active.is_(True))
            .order_by(User.display_name, User.id)
        )
    )


def involvement(session: Session, case: Case, user: User) -> list[str]:
    """How ``user`` was involved in the case before its appeal, in plain words of the page's
    language; empty when not.

    What the data shows: assigned to the case (now or before), a message to the reporter or a
    note written, or an act on the case recorded in the audit trail. Reading the case is not
    involvement, nor is holding its key.
    """
    filed = first_event(session, case, EventKind.APPEAL_FILED)
    reasons = []
    assigned_ever = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.case_id == case.id,
            AuditEntry.action == "case_assigned",
            AuditEntry.subject_id == user.id,
        )
        .limit(1)
    )
    # NOTE: Each of these completes "you ... before the appeal" (or "they ..."), said of a
    # Company Secretary who handled the case; several are listed together.
    if case.assignee_id == user.id or assigned_ever is not None:
        reasons.append(_("were assigned to the case"))
    before = filed or datetime.max.replace(tzinfo=case.received_at.tzinfo)
    if _exists(session, Message, case, user, Message.created_at < before):
        reasons.append(_("wrote to the reporter on it"))
    if _exists(session, Note, case, user, Note.created_at < before):
        reasons.append(_("wrote a note on it"))
    acted = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.case_id == case.id,
            AuditEntry.actor_id == user.id,
            AuditEntry.at < before,
            # Said above already: assignments, messages and notes.
            AuditEntry.action.not_in(READING | {"case_assigned", "note_added"}),
            AuditEntry.action.not_like("message\\_%", escape="\\"),
        )
        .limit(1)
    )
    if acted is not None:
        reasons.append(_("took an act on it that the audit trail records"))
    return reasons


def _exists(
    session: Session,
    model: type[Message] | type[Note],
    case: Case,
    user: User,
    when: ColumnElement[bool],
) -> bool:
    found = session.scalar(
        select(model.id).where(model.case_id == case.id, model.author_id == user.id, when).limit(1)
    )
    return found is not None


# --- Filing the appeal and its steps --------------------------------------------------------


def stage(session: Session, case: Case) -> str | None:
    """Where the appeal is: None (none filed), "secretary", "answered" (the secretary upheld
    the decision; the reporter may take it on), "committee" or "decided"."""
    kinds = set(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
    if EventKind.APPEAL_FILED not in kinds:
        return None
    if EventKind.COMMITTEE_DECIDED in kinds:
        return "decided"
    if EventKind.COMMITTEE_ASKED in kinds:
        return "committee"
    if EventKind.SECRETARY_ANSWERED in kinds:
        return "answered"
    return "secretary"


def can_appeal(session: Session, case: Case) -> bool:
    """After a decision, under a policy with an appeal clock, when no appeal was filed yet."""
    if not any(rule.start in APPEAL_STARTS for _, rule in rules_of(session, case)):
        return False
    kinds = set(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
    return EventKind.DECISION_SENT in kinds and EventKind.APPEAL_FILED not in kinds


def file_appeal(session: Session, case: Case, *, now: datetime, settings: ClockSettings) -> str:
    """The reporter appeals the decision: to the Company Secretary when one is set, else to the
    committee at once; the step's clock starts. Returns "secretary" or "committee". Commits."""
    if not can_appeal(session, case):
        raise ClockError(_("There is no decision to appeal, or it has been appealed already."))
    record_event(session, case, EventKind.APPEAL_FILED, now, settings)
    audit.record(session, "appeal_filed", now=now, actor_kind="reporter", case_id=case.id)
    secretary = current_secretary(session)
    if secretary is not None:
        record_event(session, case, EventKind.SECRETARY_ASKED, now, settings)
        # Staff are written to in the site's language, whatever the reporter's page is in.
        with in_language(None):
            to_secretary = _(
                "an appeal waits for the Company Secretary (ask a handler on the case for "
                "access if you do not hold it)"
            )
            to_holders = _("the reporter appealed the decision to the Company Secretary")
        notifications.notify_users(
            session, [secretary], settings, case=case, what=to_secretary, now=now
        )
        case_news.tell_holders(
            session,
            case,
            DigestKind.APPEAL,
            settings,
            now=now,
            what=to_holders,
            skip={secretary.id},
        )
        session.commit()
        return "secretary"
    with in_language(None):
        what = _("the reporter appealed the decision")
    _to_committee(session, case, now, settings, what)
    session.commit()
    return "committee"


def answer_as_secretary(
    session: Session,
    case: Case,
    answer: str,
    body: str,
    *,
    actor: User,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """The Company Secretary answers the appeal, writing to the reporter: they uphold the
    decision (the reporter may still take it to the committee) or refer the appeal to the
    committee. Refused to anyone but the secretary, and to a secretary involved in the case.
    Commits once."""
    if answer not in SECRETARY_ANSWERS:
        raise InvalidInputError(_("Choose whether to uphold the decision or refer the appeal."))
    if stage(session, case) != "secretary":
        raise InvalidInputError(_("No appeal waits for the Company Secretary on this case."))
    secretary = current_secretary(session)
    if secretary is None or secretary.id != actor.id:
        raise InvalidInputError(_("Only the Company Secretary answers an appeal at this step."))
    reasons = involvement(session, case, actor)
    if reasons:
        raise InvalidInputError(not_involved_words(reasons))
    if not body.strip():
        raise InvalidInputError(_("Write your answer to the reporter."))
    from portal.services import messaging  # messaging imports the clock: read at call time

    messaging.add_message(
        session,
        case,
        body,
        author_kind=AuthorKind.HANDLER,
        author=actor,
        kind="secretary_answer",
        store=None,
        now=now,
        commit=False,
    )
    audit.record(
        session,
        "secretary_answered",
        now=now,
        actor_id=actor.id,
        case_id=case.id,
        detail=_ANSWERED[answer],
    )
    if answer == "refer":
        with in_language(None):
            what = _("the Company Secretary referred the appeal")
        _to_committee(session, case, now, settings, what)
    else:
        record_event(session, case, EventKind.SECRETARY_ANSWERED, now, settings)
    session.commit()


def not_involved_words(reasons: list[str]) -> str:
    # NOTE: %(reasons)s lists what the person did on the case, such as "were assigned to the
    # case and wrote a note on it" (each translated on its own, joined as the language lists).
    return _(
        "You cannot answer this appeal: you %(reasons)s before the appeal, and our policy says "
        "the Company Secretary must not be involved in the matter. Ask an admin to make someone "
        "else the Company Secretary, or to clear the role so that the appeal can go to the "
        "committee.",
        reasons=_and(reasons),
    )


def can_take_to_committee(session: Session, case: Case) -> bool:
    """The secretary upheld the decision; the reporter may still take it to the committee."""
    return stage(session, case) == "answered"


def take_to_committee(
    session: Session, case: Case, *, now: datetime, settings: ClockSettings
) -> None:
    """The reporter, still unhappy after the secretary's answer, takes the matter to the full
    committee (seeds/002, line 82). Commits once."""
    if not can_take_to_committee(session, case):
        raise ClockError(_("There is no answer of the Company Secretary to take further."))
    audit.record(session, "appeal_to_committee", now=now, actor_kind="reporter", case_id=case.id)
    with in_language(None):
        what = _("the reporter took the appeal to the committee")
    _to_committee(session, case, now, settings, what)
    session.commit()


def _to_committee(
    session: Session, case: Case, now: datetime, settings: ClockSettings, what: str
) -> None:
    # ``what`` is in the site's default language: it goes to staff.
    record_event(session, case, EventKind.COMMITTEE_ASKED, now, settings)
    meeting = next_meeting(meeting_days(session), now, settings.calendar)
    if meeting is None and meeting_clocks(session, case):
        with in_language(None):
            # NOTE: Part of an e-mail's subject to the committee. %(what)s is what happened,
            # such as "the reporter appealed the decision".
            what = _(
                "%(what)s; no committee meeting is scheduled, so it is due by the policy's "
                "fallback",
                what=what,
            )
    # The committee members who hold the case are asked to act: told at once, like an
    # escalation. The other holders hear of it as they chose.
    holders = holder_ids(session, case)
    members = [u for u in committee_members(session) if u.id in holders]
    notifications.notify_users(session, members, settings, case=case, what=what, now=now)
    case_news.tell_holders(
        session,
        case,
        DigestKind.APPEAL,
        settings,
        now=now,
        what=what,
        skip={u.id for u in members},
    )


def record_event(
    session: Session, case: Case, kind: EventKind, now: datetime, settings: ClockSettings
) -> None:
    session.add(CaseEvent(case_id=case.id, kind=kind, occurred_at=now))
    apply_event(session, case, kind, now=now, settings=settings)


# --- The committee's vote -------------------------------------------------------------------


def committee_members(session: Session) -> list[User]:
    """The committee: active handlers at escalation level 3, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.is_handler.is_(True), User.active.is_(True), User.level == TOP_LEVEL)
            .order_by(User.display_name, User.id)
        )
    )


def meeting_clocks(session: Session, case: Case) -> list[tuple[str, ClockRule]]:
    return [(p.name, r) for p, r in rules_of(session, case) if r.due_at_meeting]


def first_event(session: Session, case: Case, kind: EventKind) -> datetime | None:
    return session.scalar(
        select(CaseEvent.occurred_at)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == kind)
        .order_by(CaseEvent.occurred_at)
        .limit(1)
    )


def holder_ids(session: Session, case: Case) -> set[int]:
    return set(session.scalars(select(CaseKeyGrant.user_id).where(CaseKeyGrant.case_id == case.id)))


def _and(items: list[str]) -> str:
    """``items`` as the page's language lists them ("a, b and c")."""
    return format_list(items, locale=current_language().babel_locale)
