"""seeds/002's appeal, line by line: the Company Secretary first, then the full committee, due at
its next meeting, decided by a recorded majority vote.

Line 80: "If you disagree with the decision the first point of contact is the Company Secretary."
Line 82: "If you remain unhappy with our decision following investigation of your complaint you
can, where relevant, take the matter to a full committee meeting (Held bi-monthly throughout the
calendar year). The final decision will sit with a majority vote of the committee)"

Time is a parameter: a fixed clock, one second before, at and after each due time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, CaseEvent, DeadlineState, EventKind, User
from portal.services import casework, clock, follow_ups, messaging
from portal.services.calendar import BusinessCalendar
from portal.services.clock import appeals, committee, meetings
from portal.services.clock.preview import preview_timeline
from portal.services.errors import InvalidInputError
from portal.services.policies import load_policy, parse_policy
from tests.factories import handler_private_key, make_admin, make_handler
from tests.portal.services.test_clock import SECOND, act, deadline, file_case

BERLIN = ZoneInfo("Europe/Berlin")
BAVARIA = BusinessCalendar("Europe/Berlin", "DE", "BY")
LINE_80 = 'seeds/002, line 80: "the first point of contact is the Company Secretary"'
LINE_82 = 'seeds/002, line 82: "take the matter to a full committee meeting"'
VOTE_82 = 'seeds/002, line 82: "The final decision will sit with a majority vote"'
MEETINGS = "2027-01-14\n2027-03-11\n2027-05-13"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC"))


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    return replace(app.extensions["candor.clock"], calendar=BAVARIA)


@pytest.fixture
def people(db: Session) -> dict[str, User]:
    users = {
        "hanna": make_handler(db, "hanna"),
        "sara": make_handler(db, "sara", level=2, title="Company Secretary"),
        "eva": make_handler(db, "eva", level=3),
        "otto": make_handler(db, "otto", level=3),
        "ida": make_handler(db, "ida", level=3),
        "admin": make_admin(db),
    }
    db.commit()
    return users


def decided_case(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> Case:
    """A members' complaint investigated by Hanna and decided on 28 November 2026."""
    received = local("2026-11-23T10:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, people["hanna"], handler_private_key(people["hanna"]), case.uid)
    casework.assign(db, access, people["hanna"].id, now=received)
    act(db, people["hanna"], case, "acknowledge", received, settings, app)
    act(db, people["hanna"], case, "decision", local("2026-11-28T10:00"), settings, app)
    return case


def set_meetings(db: Session, people: dict[str, User], text: str = MEETINGS) -> None:
    meetings.choose_meetings(db, text, actor_id=people["admin"].id, now=local("2026-11-24T09:00"))


def kinds(db: Session, case: Case) -> list[EventKind]:
    return list(
        db.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )


def trail(db: Session, case: Case | None, action: str) -> list[str]:
    query = select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)
    if case is not None:
        query = query.where(AuditEntry.case_id == case.id)
    return list(db.scalars(query))


def test_the_preset_quotes_lines_80_and_82_on_the_clocks_they_encode() -> None:
    policy = load_policy("seed-membership")
    secretary, committee = policy.clock("secretary"), policy.clock("appeal")
    assert (
        secretary.source is not None and "first point of contact is the Company" in secretary.source
    )
    assert committee.source is not None and "full committee meeting" in committee.source
    assert "majority vote of" in committee.source
    assert secretary.start is EventKind.SECRETARY_ASKED
    assert committee.start is EventKind.COMMITTEE_ASKED
    assert committee.stop == frozenset({EventKind.COMMITTEE_DECIDED})
    assert committee.due_at_meeting and not secretary.due_at_meeting


def test_a_policy_with_an_unknown_due_kind_is_refused() -> None:
    raw = {
        "name": "x",
        "title": "x",
        "clocks": [
            {
                "key": "c", "label": "c", "promise": "c", "start": "received",
                "stop": ["resolved"], "duration": 1, "unit": "hours", "due": "whenever",
            }
        ],
    }  # fmt: skip
    with pytest.raises(Exception, match="due: 'whenever'"):
        parse_policy(raw)


# (seed line, appeal reaches the committee, due), local times in Bavaria; meetings as MEETINGS.
MEETING_DUE = [
    (LINE_82 + " Weeks before a meeting.", "2026-12-01T10:00", "2027-01-14T23:59"),
    (LINE_82 + " The evening before a meeting.", "2027-01-13T23:30", "2027-01-14T23:59"),
    (LINE_82 + " On a meeting day: the next one.", "2027-01-14T08:00", "2027-03-11T23:59"),
    (LINE_82 + " After a meeting: the next one.", "2027-01-15T09:00", "2027-03-11T23:59"),
]


@pytest.mark.parametrize(("seed", "reached", "due"), MEETING_DUE)
def test_the_appeal_is_due_at_the_next_meeting_after_it_reaches_the_committee(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    people: dict[str, User],
    seed: str,
    reached: str,
    due: str,
) -> None:
    case = decided_case(db, app, settings, people)
    set_meetings(db, people)
    # No Company Secretary: the appeal goes straight to the committee.
    assert clock.file_appeal(db, case, now=local(reached), settings=settings) == "committee"
    decides = deadline(db, case, "appeal")
    assert decides.started_at == local(reached), seed
    assert decides.due_at == local(due), seed
    assert committee.appeal_of(db, case, people["eva"], BAVARIA).no_meeting is None  # type: ignore[union-attr]
    for now, state in [
        (local(due) - SECOND, DeadlineState.RUNNING),
        (local(due), DeadlineState.BREACHED),
        (local(due) + SECOND, DeadlineState.BREACHED),
    ]:
        clock.tick(db, now=now, settings=settings)
        assert deadline(db, case, "appeal").state is state, (seed, now)


@pytest.mark.parametrize(
    ("seed", "schedule"),
    [
        (LINE_82 + " No meeting set at all.", ""),
        (LINE_82 + " Only meetings already past.", "2026-09-10\n2026-11-12"),
    ],
)
def test_without_a_meeting_ahead_the_fallback_duration_applies_and_the_page_says_so(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    people: dict[str, User],
    seed: str,
    schedule: str,
) -> None:
    case = decided_case(db, app, settings, people)
    set_meetings(db, people, schedule)
    reached = local("2026-12-01T10:00")
    clock.file_appeal(db, case, now=reached, settings=settings)
    # The clock's own 20 working days, counted by the calendar the worker uses.
    fallback = BAVARIA.add(reached, load_policy("seed-membership").clock("appeal").duration)
    assert deadline(db, case, "appeal").due_at == BAVARIA.roll_to_working_day(fallback), seed
    view = committee.appeal_of(db, case, people["eva"], BAVARIA)
    assert view is not None and view.no_meeting is not None, seed
    assert "No committee meeting is scheduled" in view.no_meeting
    assert "20 working days" in view.no_meeting
    status = meetings.schedule(db, now=reached, calendar=BAVARIA)
    assert status.upcoming == () and status.warning is not None


def test_the_secretary_answers_first_and_the_reporter_may_take_it_on(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    """Line 80, then line 82: "If you remain unhappy [...] take the matter to a full committee"."""
    case = decided_case(db, app, settings, people)
    set_meetings(db, people)
    appeals.assign_secretary(
        db, people["sara"].id, actor=people["admin"], now=local("2026-11-24T09:00")
    )
    filed = local("2026-12-01T10:00")
    assert clock.file_appeal(db, case, now=filed, settings=settings) == "secretary"
    secretary = deadline(db, case, "secretary")
    # Ten working days from Tuesday 1 December: Tuesday 15 December.
    assert secretary.due_at == local("2026-12-15T10:00"), LINE_80
    assert secretary.state is DeadlineState.RUNNING
    assert appeals.stage(db, case) == "secretary"
    assert not appeals.can_take_to_committee(db, case)
    with pytest.raises(InvalidInputError, match="Only the Company Secretary"):
        appeals.answer_as_secretary(
            db, case, "uphold_decision", "No.", actor=people["eva"], now=filed, settings=settings
        )
    db.rollback()
    answered = local("2026-12-15T10:00") - SECOND
    appeals.answer_as_secretary(
        db,
        case,
        "uphold_decision",
        "I have read the appeal and the decision stands.",
        actor=people["sara"],
        now=answered,
        settings=settings,
    )
    assert deadline(db, case, "secretary").state is DeadlineState.MET
    assert appeals.stage(db, case) == "answered"
    assert trail(db, case, "secretary_answered") == ["upheld the decision"]
    # The answer reaches the reporter through the thread.
    key = casework.open_case(db, people["eva"], handler_private_key(people["eva"]), case.uid)
    thread = messaging.read_thread(db, case, key.case_private_key)
    assert thread[-1].body == "I have read the appeal and the decision stands."
    assert appeals.can_take_to_committee(db, case), LINE_82
    reached = local("2027-01-20T12:00")
    appeals.take_to_committee(db, case, now=reached, settings=settings)
    assert deadline(db, case, "appeal").due_at == local("2027-03-11T23:59")
    assert kinds(db, case)[-3:] == [
        EventKind.SECRETARY_ASKED,
        EventKind.SECRETARY_ANSWERED,
        EventKind.COMMITTEE_ASKED,
    ]
    with pytest.raises(clock.ClockError):
        appeals.take_to_committee(db, case, now=reached + SECOND, settings=settings)


def test_the_secretary_may_refer_the_appeal_to_the_committee(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    case = decided_case(db, app, settings, people)
    set_meetings(db, people)
    appeals.assign_secretary(
        db, people["sara"].id, actor=people["admin"], now=local("2026-11-24T09:00")
    )
    clock.file_appeal(db, case, now=local("2026-12-01T10:00"), settings=settings)
    appeals.answer_as_secretary(
        db, case, "refer", "The committee will look at it.",
        actor=people["sara"], now=local("2026-12-02T10:00"), settings=settings,
    )  # fmt: skip
    assert deadline(db, case, "secretary").state is DeadlineState.MET
    assert deadline(db, case, "appeal").due_at == local("2027-01-14T23:59")
    assert appeals.stage(db, case) == "committee"
    assert not appeals.can_take_to_committee(db, case)


NOT_INVOLVED = [
    ("assigned to the case", "were assigned to the case"),
    ("wrote to the reporter", "wrote to the reporter on it"),
    ("wrote a note", "wrote a note on it"),
    ("ticked a follow-up action", "took an act on it that the audit trail records"),
]


@pytest.mark.parametrize(("how", "reason"), NOT_INVOLVED)
def test_a_secretary_involved_in_the_matter_cannot_answer_the_appeal(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    people: dict[str, User],
    how: str,
    reason: str,
) -> None:
    """Issue 11: the Company Secretary "must not be involved in the matter"."""
    case = decided_case(db, app, settings, people)
    sara = people["sara"]
    access = casework.open_case(db, sara, handler_private_key(sara), case.uid)
    before = local("2026-11-25T10:00")
    if how == "assigned to the case":
        casework.assign(db, access, sara.id, now=before)
        casework.assign(db, access, people["hanna"].id, now=before)  # and handed back
    elif how == "wrote to the reporter":
        act(db, sara, case, "reply", before, settings, app)
    elif how == "wrote a note":
        casework.add_note(db, access, "Looked into it.", now=before)
    else:
        follow_ups.record_follow_up(
            db, case, "seed-membership", "others_affected", actor=sara, now=before
        )
    appeals.assign_secretary(db, sara.id, actor=people["admin"], now=before)
    clock.file_appeal(db, case, now=local("2026-12-01T10:00"), settings=settings)
    view = committee.appeal_of(db, case, sara, BAVARIA)
    assert view is not None and reason in view.secretary_involved, how
    with pytest.raises(InvalidInputError, match="must not be involved in the matter"):
        appeals.answer_as_secretary(
            db, case, "uphold_decision", "It stands.", actor=sara,
            now=local("2026-12-02T10:00"), settings=settings,
        )  # fmt: skip
    db.rollback()
    assert appeals.stage(db, case) == "secretary"


def test_reading_the_case_or_holding_its_key_is_no_involvement(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    case = decided_case(db, app, settings, people)
    sara = people["sara"]
    access = casework.open_case(db, sara, handler_private_key(sara), case.uid)
    casework.case_detail(db, access, now=local("2026-11-25T10:00"))  # audited as case_opened
    appeals.assign_secretary(db, sara.id, actor=people["admin"], now=local("2026-11-25T11:00"))
    clock.file_appeal(db, case, now=local("2026-12-01T10:00"), settings=settings)
    assert appeals.involvement(db, case, sara) == []
    view = committee.appeal_of(db, case, sara, BAVARIA)
    assert view is not None and view.secretary_holds_case and view.viewer_is_secretary


def test_the_secretary_is_assigned_by_an_admin_and_audited(
    db: Session, people: dict[str, User]
) -> None:
    now = local("2026-11-24T09:00")
    assert appeals.current_secretary(db) is None
    appeals.assign_secretary(db, people["sara"].id, actor=people["admin"], now=now)
    assert appeals.current_secretary(db) == people["sara"]
    appeals.assign_secretary(db, None, actor=people["admin"], now=now + SECOND)
    assert appeals.current_secretary(db) is None
    assert trail(db, None, "secretary_assigned") == ["nobody -> sara", "sara -> nobody"]
    people["otto"].active = False
    db.commit()
    with pytest.raises(InvalidInputError, match="active handler"):
        appeals.assign_secretary(db, people["otto"].id, actor=people["admin"], now=now)


def test_meeting_dates_are_parsed_saved_and_audited(db: Session, people: dict[str, User]) -> None:
    set_meetings(db, people, "2027-03-11, 2027-01-14\n2027-01-14")
    assert meetings.meeting_days(db) == (date(2027, 1, 14), date(2027, 3, 11))
    assert trail(db, None, "meetings_set") == ["no meetings -> 2027-01-14, 2027-03-11"]
    with pytest.raises(InvalidInputError, match="is not a date"):
        meetings.choose_meetings(
            db, "14/01/2027", actor_id=people["admin"].id, now=local("2026-11-24T09:00")
        )
    db.rollback()
    assert len(meetings.meeting_days(db)) == 2


def test_the_bi_monthly_helper_only_suggests() -> None:
    """Line 82: "Held bi-monthly throughout the calendar year"."""
    assert meetings.bi_monthly(date(2027, 1, 31), 4) == (
        date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31), date(2027, 7, 31),
    )  # fmt: skip
    assert meetings.bi_monthly(date(2026, 12, 31), 2) == (date(2026, 12, 31), date(2027, 2, 28))


def committee_case(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> Case:
    case = decided_case(db, app, settings, people)
    set_meetings(db, people)
    clock.file_appeal(db, case, now=local("2026-12-01T10:00"), settings=settings)
    return case


# (seed line, votes of eva, otto, ida in order, majority or None, why-not words)
MAJORITY = [
    (VOTE_82 + " Two of three uphold.", ["uphold", "uphold"], "uphold", None),
    (VOTE_82 + " Two of three dismiss.", ["dismiss", "uphold", "dismiss"], "dismiss", None),
    (VOTE_82 + " One each: no majority yet.", ["uphold", "dismiss"], None, "No majority yet"),
    (VOTE_82 + " One vote of three.", ["uphold"], None, "at least 2 votes one way"),
]


@pytest.mark.parametrize(("seed", "votes", "majority", "why"), MAJORITY)
def test_the_decision_needs_a_majority_of_the_members(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    people: dict[str, User],
    seed: str,
    votes: list[str],
    majority: str | None,
    why: str | None,
) -> None:
    case = committee_case(db, app, settings, people)
    voted = local("2027-01-14T18:00")
    for name, vote in zip(("eva", "otto", "ida"), votes, strict=False):
        committee.cast_vote(db, case, vote, actor=people[name], now=voted)
    count = committee.tally(db, case)
    assert count.members == 3, seed
    assert count.majority == majority, seed
    assert trail(db, case, "committee_vote") == votes, seed
    if majority is None:
        assert why is not None and why in (count.why_not or ""), seed
        with pytest.raises(InvalidInputError, match=why):
            committee.record_decision(db, case, actor=people["eva"], now=voted, settings=settings)
        db.rollback()
        assert deadline(db, case, "appeal").stopped_at is None
        return
    decided = local("2027-01-14T23:59")  # at the due time: met
    assert (
        committee.record_decision(db, case, actor=people["eva"], now=decided, settings=settings)
        == majority
    )
    decides = deadline(db, case, "appeal")
    assert decides.state is DeadlineState.MET and decides.stopped_at == decided, seed
    assert kinds(db, case)[-1] is EventKind.COMMITTEE_DECIDED
    assert appeals.stage(db, case) == "decided"
    access = casework.open_case(db, people["eva"], handler_private_key(people["eva"]), case.uid)
    last = messaging.read_thread(db, case, access.case_private_key)[-1]
    assert last.body == committee.REPORTER_OUTCOME[majority], seed
    assert trail(db, case, "committee_decided")[0].startswith(f"{majority}: ")
    with pytest.raises(InvalidInputError, match="No appeal waits"):
        committee.cast_vote(db, case, "uphold", actor=people["ida"], now=decided + SECOND)


def test_a_tie_cannot_be_recorded_and_the_reason_is_given(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    people["sven"] = make_handler(db, "sven", level=3)
    db.commit()
    case = committee_case(db, app, settings, people)
    voted = local("2027-01-14T18:00")
    for name, vote in zip(
        ("eva", "otto", "ida", "sven"), ["uphold", "dismiss", "uphold", "dismiss"], strict=True
    ):
        committee.cast_vote(db, case, vote, actor=people[name], now=voted)
    count = committee.tally(db, case)
    assert (count.members, count.upheld, count.dismissed, count.majority) == (4, 2, 2, None)
    assert "tied" in (count.why_not or "")
    with pytest.raises(InvalidInputError, match="The votes are tied"):
        committee.record_decision(db, case, actor=people["eva"], now=voted, settings=settings)
    db.rollback()
    # A member changes their vote: the change is audited, and the majority can be recorded.
    committee.cast_vote(db, case, "uphold", actor=people["sven"], now=voted + SECOND)
    assert trail(db, case, "committee_vote")[-1] == "dismiss -> uphold"
    assert committee.tally(db, case).majority == "uphold"


def test_votes_are_once_each_by_members_only(
    db: Session, app: Flask, settings: clock.ClockSettings, people: dict[str, User]
) -> None:
    case = committee_case(db, app, settings, people)
    now = local("2027-01-14T18:00")
    committee.cast_vote(db, case, "uphold", actor=people["eva"], now=now)
    with pytest.raises(InvalidInputError, match="already recorded"):
        committee.cast_vote(db, case, "uphold", actor=people["eva"], now=now)
    db.rollback()
    with pytest.raises(InvalidInputError, match="Only committee members"):
        committee.cast_vote(db, case, "uphold", actor=people["hanna"], now=now)
    db.rollback()
    with pytest.raises(InvalidInputError, match="Vote to uphold or to dismiss"):
        committee.cast_vote(db, case, "abstain", actor=people["otto"], now=now)
    db.rollback()
    # A member who leaves the committee: their vote stays on the record but is not counted.
    people["eva"].level = 2
    db.commit()
    assert committee.tally(db, case).upheld == 0
    view = committee.appeal_of(db, case, people["otto"], BAVARIA)
    assert view is not None and [(v.name, v.member) for v in view.votes] == [("Eva", False)]


def test_the_preview_shows_the_meeting_due_time() -> None:
    """The admin page and `clock preview` show when the committee's clock would be due."""
    days = [date(2027, 1, 14), date(2027, 3, 11)]
    timeline = preview_timeline(
        "seed-membership", local("2026-12-18T16:00"), 3, calendar=BAVARIA, meetings=days
    )
    (due,) = timeline.meeting_dues
    assert due.rule.key == "appeal"
    assert due.meeting == date(2027, 1, 14)
    assert due.due == local("2027-01-14T23:59")
    assert "at the committee meeting of 2027-01-14" in due.describe("Europe/Berlin")
    none = preview_timeline(
        "seed-membership", local("2027-04-01T09:00"), 3, calendar=BAVARIA, meetings=days
    )
    assert none.meeting_dues[0].meeting is None
    assert "no committee meeting is set" in none.meeting_dues[0].describe("Europe/Berlin")
