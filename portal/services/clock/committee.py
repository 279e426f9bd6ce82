"""The committee's decision on an appeal (seeds/002, line 82: "The final decision will sit with
a majority vote of the committee").

The members are the active handlers at escalation level 3, the rung the ladder already calls
"executive or committee": one list, kept where admins already set it, rather than a second that
could drift from the ladder. Each member votes once to uphold or dismiss the appeal, changeable
until the decision is recorded; a decision needs more than half of the members voting one way,
stops the committee's clock by a typed event and tells the reporter the outcome in the thread.
Every vote and the decision are audited; they are not case content, so the audit names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _, _l, _n, in_language
from portal.models import (
    AuthorKind,
    Case,
    CommitteeDecision,
    CommitteeVote,
    Deadline,
    EventKind,
    User,
)
from portal.services import audit
from portal.services.calendar import BusinessCalendar
from portal.services.clock.appeals import (
    committee_members,
    current_secretary,
    holder_ids,
    involvement,
    meeting_clocks,
    not_involved_words,
    record_event,
    stage,
)
from portal.services.clock.meetings import NO_MEETING
from portal.services.clock.schedule import (
    ClockSettings,
    due_time,
)
from portal.services.errors import InvalidInputError

# Shown on the case page in its language (lazy: translated each time they are shown).
VOTES = {"uphold": _l("uphold the appeal"), "dismiss": _l("dismiss the appeal")}
# The decision as the reporter reads it in their thread, in the case's language (and as the
# member recording it reads it first, in theirs).
REPORTER_OUTCOME = {
    "uphold": _l(
        "The committee has decided your appeal by a majority vote of its members: your appeal "
        "is upheld. We will write to you about what follows."
    ),
    "dismiss": _l(
        "The committee has decided your appeal by a majority vote of its members: your appeal "
        "is dismissed, and the decision you appealed stands. This is our final decision."
    ),
}


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
            return _(
                "The committee has no members: the active handlers at escalation level 3 are "
                "its members. Ask an admin to set them."
            )
        if self.majority is not None:
            return None
        needed = self.members // 2 + 1
        # NOTE: %(upheld)d and %(dismissed)d count the votes each way; %(counts)s below is
        # this sentence's words.
        counts = _(
            "%(upheld)d to uphold and %(dismissed)d to dismiss",
            upheld=self.upheld,
            dismissed=self.dismissed,
        )
        if self.upheld == self.dismissed and self.upheld + self.dismissed == self.members:
            # NOTE: %(counts)s is "2 to uphold and 2 to dismiss"; %(needed)d is the votes a
            # decision needs, %(num)d the committee's members.
            return _n(
                "The votes are tied (%(counts)s), so nothing can be recorded: the decision "
                "needs a majority, at least %(needed)d of the %(num)d member voting one way. "
                "A member may change their vote.",
                "The votes are tied (%(counts)s), so nothing can be recorded: the decision "
                "needs a majority, at least %(needed)d of the %(num)d members voting one way. "
                "A member may change their vote.",
                self.members,
                counts=counts,
                needed=needed,
            )
        # NOTE: %(counts)s is "1 to uphold and 0 to dismiss"; %(needed)d is the votes a
        # decision needs, %(num)d the committee's members.
        return _n(
            "No majority yet (%(counts)s, of %(num)d member): the decision needs at least "
            "%(needed)d votes one way.",
            "No majority yet (%(counts)s, of %(num)d members): the decision needs at least "
            "%(needed)d votes one way.",
            self.members,
            counts=counts,
            needed=needed,
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
        raise InvalidInputError(_("Vote to uphold or to dismiss the appeal."))
    _committee_step(session, case, actor)
    row = session.get(CommitteeVote, (case.id, actor.id))
    if row is None:
        session.add(CommitteeVote(case_id=case.id, user_id=actor.id, vote=vote, voted_at=now))
        detail = vote
    elif row.vote == vote:
        # NOTE: %(vote)s is "uphold the appeal" or "dismiss the appeal".
        raise InvalidInputError(_("Your vote to %(vote)s is already recorded.", vote=VOTES[vote]))
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
        raise InvalidInputError(count.why_not or _("No majority yet."))
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

    # Written in the case's language and sealed as written: the reporter reads it as it is.
    with in_language(case.language):
        outcome_words = str(REPORTER_OUTCOME[outcome])
    messaging.add_message(
        session,
        case,
        outcome_words,
        author_kind=AuthorKind.SYSTEM,
        kind="committee_decision",
        store=None,
        now=now,
        commit=False,
    )
    record_event(session, case, EventKind.COMMITTEE_DECIDED, now, settings)
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
        raise InvalidInputError(_("No appeal waits for the committee's decision on this case."))
    if actor.id not in {u.id for u in committee_members(session)}:
        raise InvalidInputError(
            _(
                "Only committee members (handlers at escalation level 3) vote and record the "
                "decision."
            )
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
        secretary_holds_case=secretary is not None and secretary.id in holder_ids(session, case),
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
    for policy, rule in meeting_clocks(session, case):
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
            return _(NO_MEETING, duration=rule.duration.words())
    return None
