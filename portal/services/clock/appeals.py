"""The appeal after a decision (seeds/002, lines 80-82): the Company Secretary first, then the
full committee, which decides at its next meeting by a recorded majority vote.

- Line 80: "If you disagree with the decision the first point of contact is the Company
  Secretary." An admin makes one staff account the secretary; the appeal goes to them, and
  they uphold the decision or refer the appeal to the committee. Without a secretary, the
  appeal goes to the committee at once.
- The secretary "must not be involved in the matter": one who handled the case before the
  appeal (assigned to it, wrote to the reporter or a note, or took an act on it that the audit
  trail records) cannot answer it. Holding the case key alone is no involvement: the seed
  addresses complaints to the secretary (line 19), and they need the key to read the appeal.
- Line 82: "If you remain unhappy [...] take the matter to a full committee meeting [...] The
  final decision will sit with a majority vote of the committee". The committee's members are
  the active handlers at escalation level 3, the rung the ladder already calls "executive or
  committee": one list, kept where admins already set it, rather than a second that could drift
  from the ladder. Each member votes once (changeable until the decision is recorded); a
  decision needs more than half of the members voting one way, and stops the committee's clock
  by a typed event.

Every step is audited; votes and outcomes are not case content, so the audit names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    AuditEntry,
    AuthorKind,
    Case,
    CaseEvent,
    CaseKeyGrant,
    CommitteeDecision,
    CommitteeVote,
    CompanySecretary,
    Deadline,
    EventKind,
    Message,
    Note,
    User,
)
from portal.services import audit, notifications
from portal.services.calendar import BusinessCalendar
from portal.services.clock.meetings import NO_MEETING, meeting_days, next_meeting
from portal.services.clock.schedule import (
    TOP_LEVEL,
    ClockError,
    ClockSettings,
    apply_event,
    due_time,
    rules_of,
)
from portal.services.errors import InvalidInputError
from portal.services.policies import ClockRule

SECRETARY_ROW = 1
VOTES = {"uphold": "uphold the appeal", "dismiss": "dismiss the appeal"}
SECRETARY_ANSWERS = {
    "uphold_decision": "upheld the decision",
    "refer": "referred the appeal to the committee",
}
# What the appeal's clocks start on: a policy with one of them offers an appeal.
APPEAL_STARTS = frozenset(
    {EventKind.APPEAL_FILED, EventKind.SECRETARY_ASKED, EventKind.COMMITTEE_ASKED}
)
# Reading a case is not handling it: these acts do not make a secretary "involved".
READING = frozenset({"case_opened", "attachment_downloaded", "identity_revealed", "case_exported"})
REPORTER_OUTCOME = {
    "uphold": (
        "The committee has decided your appeal by a majority vote of its members: your appeal "
        "is upheld. We will write to you about what follows."
    ),
    "dismiss": (
        "The committee has decided your appeal by a majority vote of its members: your appeal "
        "is dismissed, and the decision you appealed stands. This is our final decision."
    ),
}


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
                "Choose an active handler account: the Company Secretary reads the appeal, so "
                "they need a handler's key. Nothing was saved."
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
    """How ``user`` was involved in the case before its appeal, in plain words; empty when not.

    What the data shows: assigned to the case (now or before), a message to the reporter or a
    note written, or an act on the case recorded in the audit trail. Reading the case is not
    involvement, nor is holding its key.
    """
    filed = _first(session, case, EventKind.APPEAL_FILED)
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
    if case.assignee_id == user.id or assigned_ever is not None:
        reasons.append("were assigned to the case")
    before = filed or datetime.max.replace(tzinfo=case.received_at.tzinfo)
    if _exists(session, Message, case, user, Message.created_at < before):
        reasons.append("wrote to the reporter on it")
    if _exists(session, Note, case, user, Note.created_at < before):
        reasons.append("wrote a note on it")
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
        reasons.append("took an act on it that the audit trail records")
    return reasons


def _exists(
    session: Session, model: type[Message] | type[Note], case: Case, user: User, when: object
) -> bool:
    found = session.scalar(
        select(model.id)
        .where(model.case_id == case.id, model.author_id == user.id, when)  # type: ignore[arg-type]
        .limit(1)
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
    if not any(rule.start in APPEAL_STARTS for _, rule in rules_of(case)):
        return False
    kinds = set(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
    return EventKind.DECISION_SENT in kinds and EventKind.APPEAL_FILED not in kinds


def file_appeal(session: Session, case: Case, *, now: datetime, settings: ClockSettings) -> str:
    """The reporter appeals the decision: to the Company Secretary when one is set, else to the
    committee at once; the step's clock starts. Returns "secretary" or "committee". Commits."""
    if not can_appeal(session, case):
        raise ClockError("There is no decision to appeal, or it has been appealed already.")
    _event(session, case, EventKind.APPEAL_FILED, now, settings)
    audit.record(session, "appeal_filed", now=now, actor_kind="reporter", case_id=case.id)
    secretary = current_secretary(session)
    if secretary is not None:
        _event(session, case, EventKind.SECRETARY_ASKED, now, settings)
        notifications.notify_users(
            session,
            [secretary],
            settings,
            case=case,
            what="an appeal waits for the Company Secretary (ask a handler on the case for "
            "access if you do not hold it)",
            now=now,
        )
        notifications.notify_users(
            session,
            _holders(session, case),
            settings,
            case=case,
            what="the reporter appealed the decision to the Company Secretary",
            now=now,
        )
        session.commit()
        return "secretary"
    _to_committee(session, case, now, settings, "the reporter appealed the decision")
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
        raise InvalidInputError("Choose whether to uphold the decision or refer the appeal.")
    if stage(session, case) != "secretary":
        raise InvalidInputError("No appeal waits for the Company Secretary on this case.")
    secretary = current_secretary(session)
    if secretary is None or secretary.id != actor.id:
        raise InvalidInputError("Only the Company Secretary answers an appeal at this step.")
    reasons = involvement(session, case, actor)
    if reasons:
        raise InvalidInputError(not_involved_words(reasons))
    if not body.strip():
        raise InvalidInputError("Write your answer to the reporter.")
    from portal.services import messaging  # messaging imports the clock: read at call time

    messaging.add_message(
        session,
        case,
        body,
        author_kind=AuthorKind.HANDLER,
        author=actor,
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
        detail=SECRETARY_ANSWERS[answer],
    )
    if answer == "refer":
        _to_committee(session, case, now, settings, "the Company Secretary referred the appeal")
    else:
        _event(session, case, EventKind.SECRETARY_ANSWERED, now, settings)
    session.commit()


def not_involved_words(reasons: list[str]) -> str:
    return (
        "You cannot answer this appeal: you "
        + _and(reasons)
        + " before the appeal, and our policy says the Company Secretary must not be involved "
        "in the matter. Ask an admin to make someone else the Company Secretary, or to clear "
        "the role so that the appeal can go to the committee."
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
        raise ClockError("There is no answer of the Company Secretary to take further.")
    audit.record(session, "appeal_to_committee", now=now, actor_kind="reporter", case_id=case.id)
    _to_committee(session, case, now, settings, "the reporter took the appeal to the committee")
    session.commit()


def _to_committee(
    session: Session, case: Case, now: datetime, settings: ClockSettings, what: str
) -> None:
    _event(session, case, EventKind.COMMITTEE_ASKED, now, settings)
    meeting = next_meeting(meeting_days(session), now, settings.calendar)
    if meeting is None and _meeting_clocks(case):
        what += "; no committee meeting is scheduled, so it is due by the policy's fallback"
    notifications.notify_users(
        session,
        [u for u in committee_members(session) if u.id in _holder_ids(session, case)],
        settings,
        case=case,
        what=what,
        now=now,
    )


def _event(
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


@dataclass(frozen=True)
class VoteView:
    name: str
    vote: str
    voted_at: datetime
    member: bool


@dataclass(frozen=True)
class Tally:
    members: int
    upheld: int
    dismissed: int

    @property
    def majority(self) -> str | None:
        """The outcome more than half of the members voted for, or None."""
        for outcome, count in (("uphold", self.upheld), ("dismiss", self.dismissed)):
            if 2 * count > self.members:
                return outcome
        return None

    @property
    def why_not(self) -> str | None:
        """Why no decision can be recorded yet, in plain words; None when it can."""
        if self.members == 0:
            return (
                "The committee has no members: the active handlers at escalation level 3 are "
                "its members. Ask an admin to set them."
            )
        if self.majority is not None:
            return None
        needed = self.members // 2 + 1
        counts = f"{self.upheld} to uphold and {self.dismissed} to dismiss"
        if self.upheld == self.dismissed and self.upheld + self.dismissed == self.members:
            return (
                f"The votes are tied ({counts}), so nothing can be recorded: the decision needs "
                f"a majority, at least {needed} of the {self.members} members voting one way. "
                "A member may change their vote."
            )
        return (
            f"No majority yet ({counts}, of {self.members} members): the decision needs at "
            f"least {needed} votes one way."
        )


def tally(session: Session, case: Case) -> Tally:
    """The votes of the current members (a vote of someone no longer on the committee does
    not count)."""
    members = {u.id for u in committee_members(session)}
    votes = [
        v
        for v in session.scalars(select(CommitteeVote).where(CommitteeVote.case_id == case.id))
        if v.user_id in members
    ]
    return Tally(
        members=len(members),
        upheld=sum(1 for v in votes if v.vote == "uphold"),
        dismissed=sum(1 for v in votes if v.vote == "dismiss"),
    )


def cast_vote(session: Session, case: Case, vote: str, *, actor: User, now: datetime) -> None:
    """A committee member votes to uphold or dismiss the appeal, or changes their vote, until
    the decision is recorded. Each vote is audited. Commits once."""
    if vote not in VOTES:
        raise InvalidInputError("Vote to uphold or to dismiss the appeal.")
    _committee_step(session, case, actor)
    row = session.get(CommitteeVote, (case.id, actor.id))
    if row is None:
        session.add(CommitteeVote(case_id=case.id, user_id=actor.id, vote=vote, voted_at=now))
        detail = vote
    elif row.vote == vote:
        raise InvalidInputError(f"Your vote to {VOTES[vote]} is already recorded.")
    else:
        detail = f"{row.vote} -> {vote}"
        row.vote, row.voted_at = vote, now
    audit.record(
        session, "committee_vote", now=now, actor_id=actor.id, case_id=case.id, detail=detail
    )
    session.commit()


def record_decision(
    session: Session, case: Case, *, actor: User, now: datetime, settings: ClockSettings
) -> str:
    """A committee member records the committee's decision, once a majority of the members
    voted one way: the committee's clock stops (a typed event) and the reporter is told the
    outcome in the thread. A tie or no majority is refused with the reason. Commits once."""
    _committee_step(session, case, actor)
    count = tally(session, case)
    outcome = count.majority
    if outcome is None:
        raise InvalidInputError(count.why_not or "No majority yet.")
    session.add(
        CommitteeDecision(
            case_id=case.id,
            outcome=outcome,
            upheld=count.upheld,
            dismissed=count.dismissed,
            members=count.members,
            decided_at=now,
            decided_by_id=actor.id,
        )
    )
    from portal.services import messaging  # messaging imports the clock: read at call time

    messaging.add_message(
        session,
        case,
        REPORTER_OUTCOME[outcome],
        author_kind=AuthorKind.SYSTEM,
        store=None,
        now=now,
        commit=False,
    )
    _event(session, case, EventKind.COMMITTEE_DECIDED, now, settings)
    audit.record(
        session,
        "committee_decided",
        now=now,
        actor_id=actor.id,
        case_id=case.id,
        detail=f"{outcome}: {count.upheld} to uphold, {count.dismissed} to dismiss, "
        f"of {count.members} members",
    )
    session.commit()
    return outcome


def _committee_step(session: Session, case: Case, actor: User) -> None:
    if stage(session, case) != "committee":
        raise InvalidInputError("No appeal waits for the committee's decision on this case.")
    if actor.id not in {u.id for u in committee_members(session)}:
        raise InvalidInputError(
            "Only committee members (handlers at escalation level 3) vote and record the decision."
        )


# --- What the case page shows ---------------------------------------------------------------


@dataclass(frozen=True)
class AppealView:
    stage: str
    secretary: User | None
    # Why the current secretary may not answer (empty: they may), and whether they hold the key.
    secretary_involved: list[str]
    secretary_holds_case: bool
    viewer_is_secretary: bool
    members: list[User]
    viewer_is_member: bool
    viewer_vote: str | None
    votes: list[VoteView]
    tally: Tally
    decision: CommitteeDecision | None
    # Said when the committee's clock fell back to its duration: no meeting was set after it.
    no_meeting: str | None

    @property
    def not_involved_words(self) -> str:
        return not_involved_words(self.secretary_involved)


def appeal_of(
    session: Session, case: Case, viewer: User, calendar: BusinessCalendar
) -> AppealView | None:
    """The case's appeal as the case page shows it to ``viewer``; None when none was filed."""
    where = stage(session, case)
    if where is None:
        return None
    secretary = current_secretary(session)
    members = committee_members(session)
    member_ids = {u.id for u in members}
    votes = [
        VoteView(name, vote.vote, vote.voted_at, vote.user_id in member_ids)
        for vote, name in session.execute(
            select(CommitteeVote, User.display_name)
            .join(User, User.id == CommitteeVote.user_id)
            .where(CommitteeVote.case_id == case.id)
            .order_by(CommitteeVote.voted_at, User.display_name)
        ).tuples()
    ]
    mine = session.get(CommitteeVote, (case.id, viewer.id))
    return AppealView(
        stage=where,
        secretary=secretary,
        secretary_involved=involvement(session, case, secretary) if secretary else [],
        secretary_holds_case=secretary is not None and secretary.id in _holder_ids(session, case),
        viewer_is_secretary=secretary is not None and secretary.id == viewer.id,
        members=members,
        viewer_is_member=viewer.id in member_ids,
        viewer_vote=mine.vote if mine is not None else None,
        votes=votes,
        tally=tally(session, case),
        decision=session.get(CommitteeDecision, case.id),
        no_meeting=_no_meeting(session, case, calendar),
    )


def _no_meeting(session: Session, case: Case, calendar: BusinessCalendar) -> str | None:
    """The notice for a committee clock that fell back to its duration: no meeting was set
    after the day the appeal reached the committee."""
    for policy, rule in _meeting_clocks(case):
        deadline = session.scalar(
            select(Deadline).where(
                Deadline.case_id == case.id,
                Deadline.policy == policy,
                Deadline.clock == rule.key,
            )
        )
        if deadline is None:
            continue
        fallback = due_time(rule, deadline.started_at, calendar, tier=case.tier)
        if deadline.due_at == fallback:
            return NO_MEETING.format(duration=rule.duration)
    return None


def _meeting_clocks(case: Case) -> list[tuple[str, ClockRule]]:
    return [(p.name, r) for p, r in rules_of(case) if r.due_at_meeting]


def _first(session: Session, case: Case, kind: EventKind) -> datetime | None:
    return session.scalar(
        select(CaseEvent.occurred_at)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == kind)
        .order_by(CaseEvent.occurred_at)
        .limit(1)
    )


def _holder_ids(session: Session, case: Case) -> set[int]:
    return set(session.scalars(select(CaseKeyGrant.user_id).where(CaseKeyGrant.case_id == case.id)))


def _holders(session: Session, case: Case) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(CaseKeyGrant, CaseKeyGrant.user_id == User.id)
            .where(CaseKeyGrant.case_id == case.id, User.active.is_(True))
        )
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
