"""The escalation clock with a fixed clock: no sleeps, time is an argument."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import (
    AuditEntry,
    AuthorKind,
    Case,
    CaseStatus,
    Deadline,
    DeadlineState,
    EventKind,
    Message,
    User,
)
from portal.services import casework, clock, intake, messaging
from portal.services.calendar import BusinessCalendar, Duration, Unit
from tests.factories import handler_private_key, make_handler

T0 = datetime.fromisoformat("2026-11-23T09:00:00+00:00")  # a Monday
SECOND = timedelta(seconds=1)


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    return replace(
        app.extensions["candor.clock"],
        calendar=BusinessCalendar("Europe/Berlin", "DE", "BY"),
    )


@pytest.fixture
def ladder(db: Session) -> dict[int, User]:
    users = {
        1: make_handler(db, "hanna"),
        2: make_handler(db, "sven", level=2),
        3: make_handler(db, "eva", level=3),
    }
    for user in users.values():
        user.email = f"{user.username}@example.org"
    db.commit()
    return users


def file_case(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    *,
    policies: tuple[str, ...] = ("eu-directive",),
    tier: int = 3,
    excluded: frozenset[int] = frozenset(),
    now: datetime = T0,
    group: str = "",
) -> Case:
    config: Config = app.extensions["candor.config"]
    categories = tuple(replace(c, policies=policies) for c in config.intake.categories)
    intake_config = replace(config.intake, categories=categories)
    intake.submit_report(
        db,
        intake.Submission(
            form_token=crypto.lookup_hmac(b"x" * 32, str(now)).hex()
            + str(len(excluded))
            + "".join(policies)
            + group,
            category="fraud",
            tier=tier,
            answers={"what_happened": "Something happened."},
            excluded_handler_ids=excluded,
            group=group,
        ),
        intake=intake_config,
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=settings,
        now=now,
    )
    return db.scalars(select(Case).order_by(Case.id.desc())).first()  # type: ignore[return-value]


def deadline(db: Session, case: Case, key: str, policy: str | None = None) -> Deadline:
    db.expire_all()
    query = select(Deadline).where(Deadline.case_id == case.id, Deadline.clock == key)
    if policy is not None:
        query = query.where(Deadline.policy == policy)
    return db.scalars(query).one()


def audit_actions(db: Session, case: Case) -> list[str]:
    return list(
        db.scalars(
            select(AuditEntry.action).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)
        )
    )


def act(
    db: Session,
    user: User,
    case: Case,
    kind: str,
    now: datetime,
    settings: clock.ClockSettings,
    app: Flask,
) -> None:
    access = casework.open_case(db, user, handler_private_key(user), case.uid)
    casework.send_message(
        db,
        access,
        kind,
        f"{kind} message",
        store=app.extensions["candor.attachments"],
        settings=settings,
        now=now,
    )


def test_eu_directive_deadlines_start_on_receipt(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    ack = deadline(db, case, "acknowledge")
    feedback = deadline(db, case, "feedback")
    assert ack.due_at == T0 + timedelta(days=7)
    # Three months from the end of the seven days, when no acknowledgement was sent.
    assert feedback.due_at == datetime.fromisoformat("2027-02-28T09:00:00+00:00")  # clamped
    assert case.next_due_at == ack.due_at
    assert (ack.state, feedback.state) == (DeadlineState.RUNNING, DeadlineState.RUNNING)


def test_a_statutory_and_an_internal_policy_run_side_by_side(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("eu-directive", "seed-complaints"))
    views = clock.deadlines_of(db, case)
    assert [(v.policy, v.clock) for v in views] == [
        ("eu-directive", "acknowledge"),
        ("eu-directive", "feedback"),
        ("seed-complaints", "review"),
        ("seed-complaints", "resolve"),
    ]
    assert views[2].policy_title.startswith("Complaints")
    assert case.next_due_at == T0 + timedelta(hours=48)  # the earliest of the four

    # The internal 48-hour review passes first; the statutory seven days still run.
    assert clock.tick(db, now=T0 + timedelta(hours=48), settings=settings).acted == 1
    assert deadline(db, case, "review").state is DeadlineState.BREACHED
    assert deadline(db, case, "acknowledge").state is DeadlineState.RUNNING
    breaches = db.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "deadline_breached")
    ).all()
    assert breaches == ["seed-complaints/review"]  # the audit trail names the policy too

    # One typed event stops the clocks of both policies that wait for it.
    act(db, ladder[1], case, "acknowledge", T0 + timedelta(days=3), settings, app)
    assert deadline(db, case, "acknowledge").state is DeadlineState.MET
    review = deadline(db, case, "review")
    assert review.state is DeadlineState.BREACHED and review.stopped_at == T0 + timedelta(days=3)
    assert deadline(db, case, "feedback").due_at == datetime.fromisoformat(
        "2027-02-26T09:00:00+00:00"
    )
    resolve = deadline(db, case, "resolve", policy="seed-complaints")
    assert resolve.stopped_at is None and resolve.due_at == T0 + timedelta(days=45)
    db.refresh(case)
    assert case.next_due_at == resolve.due_at
    assert [promise for promise, _ in clock.expectations(db, case)] == [
        "give you feedback",
        "resolve your complaint",
    ]


def test_two_policies_with_a_clock_of_the_same_name_keep_them_apart(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("eu-directive", "seed-membership"))
    statutory = deadline(db, case, "acknowledge", policy="eu-directive")
    internal = deadline(db, case, "acknowledge", policy="seed-membership")
    assert statutory.due_at == T0 + timedelta(days=7)
    assert internal.due_at == T0 + timedelta(hours=48)
    assert clock.can_appeal(db, case) is False  # no decision yet; the appeal clock is there
    with pytest.raises(clock.ClockError, match="not running"):
        clock.pause(
            db, case, "eu-directive", "investigate", "x", actor=ladder[1], now=T0, settings=settings
        )


def test_boundaries_one_second_before_at_and_after_the_due_time(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    due = deadline(db, case, "acknowledge").due_at
    clock.tick(db, now=due - timedelta(days=2) - SECOND, settings=settings)
    assert "deadline_warning" not in audit_actions(db, case)
    clock.tick(db, now=due - timedelta(days=2), settings=settings)
    assert audit_actions(db, case).count("deadline_warning") == 1
    clock.tick(db, now=due - timedelta(days=1), settings=settings)
    assert audit_actions(db, case).count("deadline_warning") == 2
    clock.tick(db, now=due - SECOND, settings=settings)
    assert deadline(db, case, "acknowledge").state is DeadlineState.RUNNING
    assert "deadline_breached" not in audit_actions(db, case)
    result = clock.tick(db, now=due, settings=settings)
    assert result.acted == 1
    ack = deadline(db, case, "acknowledge")
    assert ack.state is DeadlineState.BREACHED and ack.level_reached == 2
    db.refresh(case)
    assert case.escalation_level == 2
    # Nothing more until the next escalation step (2 calendar days later).
    assert clock.tick(db, now=due + SECOND, settings=settings).acted == 0
    assert clock.tick(db, now=due + timedelta(days=2) - SECOND, settings=settings).acted == 0
    assert clock.tick(db, now=due + timedelta(days=2), settings=settings).acted == 1
    db.refresh(case)
    assert case.escalation_level == 3
    # The top of the ladder: no further action is scheduled.
    assert deadline(db, case, "acknowledge").next_action_at is None
    # Running the same pass again does nothing twice.
    assert clock.tick(db, now=due + timedelta(days=30), settings=settings).acted == 0
    assert audit_actions(db, case).count("escalated") == 2


def test_breach_tells_the_reporter_what_happens_next(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    clock.tick(db, now=T0 + timedelta(days=7), settings=settings)
    messages = db.scalars(select(Message).where(Message.case_id == case.id)).all()
    assert [m.author_kind for m in messages] == [AuthorKind.SYSTEM]
    key = handler_private_key(ladder[1])
    access = casework.open_case(db, ladder[1], key, case.uid)
    body = messaging.read_thread(db, case, access.case_private_key)[0].body
    assert "passed to someone more senior" in body


def test_a_breach_with_nobody_higher_does_not_say_the_report_went_higher(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    # The acknowledgement's breach and escalations take the case to the top of the ladder
    # before feedback falls due three months after the seven days.
    clock.tick(db, now=T0 + timedelta(days=30), settings=settings)
    assert db.get_one(Case, case.id).escalation_level == 3
    feedback_due = deadline(db, case, "feedback").due_at
    clock.tick(db, now=feedback_due, settings=settings)
    key = handler_private_key(ladder[1])
    access = casework.open_case(db, ladder[1], key, case.uid)
    bodies = [m.body for m in messaging.read_thread(db, case, access.case_private_key)]
    assert "passed to someone more senior" in bodies[0]
    assert "The people responsible have been told" in bodies[-1]
    assert "more senior" not in bodies[-1]
    assert audit_actions(db, case).count("escalation_exhausted") >= 1


def test_acknowledgement_in_time_meets_the_clock_and_re_anchors_feedback(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    acknowledged = T0 + timedelta(days=2)
    act(db, ladder[1], case, "acknowledge", acknowledged, settings, app)
    ack = deadline(db, case, "acknowledge")
    assert ack.state is DeadlineState.MET and ack.next_action_at is None
    assert deadline(db, case, "feedback").due_at == datetime.fromisoformat(
        "2027-02-25T09:00:00+00:00"
    )
    assert clock.tick(db, now=T0 + timedelta(days=8), settings=settings).acted == 0


def test_late_acknowledgement_keeps_the_breach_on_record(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    clock.tick(db, now=T0 + timedelta(days=7), settings=settings)
    late = T0 + timedelta(days=8)
    act(db, ladder[1], case, "acknowledge", late, settings, app)
    ack = deadline(db, case, "acknowledge")
    assert ack.state is DeadlineState.BREACHED and ack.stopped_at == late
    assert ack.next_action_at is None
    assert deadline(db, case, "feedback").due_at == datetime.fromisoformat(
        "2027-03-01T09:00:00+00:00"
    )


def test_feedback_stops_its_clock(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    act(db, ladder[1], case, "acknowledge", T0 + timedelta(days=1), settings, app)
    act(db, ladder[1], case, "feedback", T0 + timedelta(days=40), settings, app)
    assert deadline(db, case, "feedback").state is DeadlineState.MET
    db.refresh(case)
    assert case.next_due_at is None


def test_escalation_skips_an_excluded_level_and_records_why(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, excluded=frozenset({ladder[2].id}))
    clock.tick(db, now=T0 + timedelta(days=7), settings=settings)
    db.refresh(case)
    assert case.escalation_level == 3
    entries = db.scalars(
        select(AuditEntry).where(
            AuditEntry.case_id == case.id,
            AuditEntry.action.in_(["escalated", "escalation_skipped"]),
        )
    ).all()
    assert [e.action for e in entries] == ["escalation_skipped", "escalated"]
    assert "level 2 has nobody eligible" in entries[0].detail


def test_membership_acknowledgement_names_the_investigator(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-membership",))
    with pytest.raises(casework.InvalidInputError, match="Assign the case first"):
        act(db, ladder[1], case, "acknowledge", T0, settings, app)
    access = casework.open_case(db, ladder[1], handler_private_key(ladder[1]), case.uid)
    casework.assign(db, access, ladder[1].id, now=T0)
    act(db, ladder[1], case, "acknowledge", T0 + timedelta(hours=1), settings, app)
    thread = messaging.read_thread(db, case, access.case_private_key)
    assert "investigated by Hanna (Compliance officer)" in thread[-1].body
    investigate = deadline(db, case, "investigate")
    # Ten working days from the receipt (Monday 23 November 2026, 09:00 UTC), not from the
    # acknowledgement an hour later: Monday 7 December.
    assert investigate.due_at == datetime.fromisoformat("2026-12-07T09:00:00+00:00")


def test_membership_extension_once_with_a_reason(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-membership",))
    access = casework.open_case(db, ladder[1], handler_private_key(ladder[1]), case.uid)
    casework.assign(db, access, ladder[1].id, now=T0)
    act(db, ladder[1], case, "acknowledge", T0, settings, app)
    with pytest.raises(casework.InvalidInputError):
        clock.extend(
            db,
            case,
            "seed-membership",
            "investigate",
            " ",
            actor=ladder[1],
            now=T0,
            settings=settings,
        )
    clock.extend(
        db,
        case,
        "seed-membership",
        "investigate",
        "Waiting for the auditor's report",
        actor=ladder[1],
        now=T0,
        settings=settings,
    )
    # Twenty working days from 23 November, with 8 December (Immaculate Conception) not a
    # holiday in Bavaria but 25 and 26 December are: Monday 21 December.
    assert deadline(db, case, "investigate").due_at == datetime.fromisoformat(
        "2026-12-21T09:00:00+00:00"
    )
    with pytest.raises(clock.ClockError, match="cannot be extended"):
        clock.extend(
            db,
            case,
            "seed-membership",
            "investigate",
            "again",
            actor=ladder[1],
            now=T0,
            settings=settings,
        )
    assert "deadline_extended" in audit_actions(db, case)
    # The reason is kept sealed, not in the audit trail.
    assert all("auditor" not in e.detail for e in db.scalars(select(AuditEntry)))


@pytest.mark.usefixtures("pausable_investigation")
def test_pause_moves_the_due_time_and_is_capped(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-membership",))
    access = casework.open_case(db, ladder[1], handler_private_key(ladder[1]), case.uid)
    casework.assign(db, access, ladder[1].id, now=T0)
    act(db, ladder[1], case, "acknowledge", T0, settings, app)
    due = deadline(db, case, "investigate").due_at
    eu_case = file_case(db, app, settings, now=T0 + SECOND)
    with pytest.raises(clock.ClockError, match="cannot be paused"):
        clock.pause(
            db,
            eu_case,
            "eu-directive",
            "acknowledge",
            "x",
            actor=ladder[1],
            now=T0,
            settings=settings,
        )
    clock.pause(
        db,
        case,
        "seed-membership",
        "investigate",
        "Waiting for the reporter",
        actor=ladder[1],
        now=T0 + timedelta(days=1),
        settings=settings,
    )
    assert deadline(db, case, "investigate").state is DeadlineState.PAUSED
    clock.resume(
        db,
        case,
        "seed-membership",
        "investigate",
        actor=ladder[1],
        now=T0 + timedelta(days=3),
        settings=settings,
    )
    # Tuesday to Thursday: two working days, so the due time moves by two working days.
    assert deadline(db, case, "investigate").due_at == settings.calendar.add(
        due, Duration(2, Unit.WORKING_DAYS)
    )
    # A second pause runs into the cap (10 working days in all) and resumes by itself.
    clock.pause(
        db,
        case,
        "seed-membership",
        "investigate",
        "Still waiting",
        actor=ladder[1],
        now=T0 + timedelta(days=4),
        settings=settings,
    )
    pause_ends = deadline(db, case, "investigate").next_action_at
    assert pause_ends is not None
    # Ten working days from Friday 27 November is Friday 11 December; two days were used.
    assert pause_ends == datetime.fromisoformat("2026-12-09T09:00:00+00:00")
    clock.tick(db, now=pause_ends, settings=settings)
    resumed = deadline(db, case, "investigate")
    assert resumed.state is DeadlineState.RUNNING
    assert resumed.paused_seconds == 10 * 86400  # ten working days of working time
    assert resumed.due_at == settings.calendar.add(due, Duration(10, Unit.WORKING_DAYS))
    with pytest.raises(clock.ClockError, match="as long as its policy allows"):
        clock.pause(
            db,
            case,
            "seed-membership",
            "investigate",
            "Once more",
            actor=ladder[1],
            now=pause_ends + SECOND,
            settings=settings,
        )
    assert "deadline_resumed" in audit_actions(db, case)


def test_appeal_starts_the_committee_clock(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-membership",))
    access = casework.open_case(db, ladder[1], handler_private_key(ladder[1]), case.uid)
    casework.assign(db, access, ladder[1].id, now=T0)
    act(db, ladder[1], case, "acknowledge", T0, settings, app)
    assert not clock.can_appeal(db, case)
    act(db, ladder[1], case, "decision", T0 + timedelta(days=5), settings, app)
    assert deadline(db, case, "investigate").state is DeadlineState.MET
    assert clock.can_appeal(db, case)
    clock.file_appeal(db, case, now=T0 + timedelta(days=6), settings=settings)
    db.refresh(case)
    assert case.escalation_level == 3
    assert deadline(db, case, "appeal").state is DeadlineState.RUNNING
    with pytest.raises(clock.ClockError):
        clock.file_appeal(db, case, now=T0 + timedelta(days=7), settings=settings)


def test_closing_a_case_stops_every_clock(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings)
    access = casework.open_case(db, ladder[1], handler_private_key(ladder[1]), case.uid)
    config: Config = app.extensions["candor.config"]
    casework.update_case(
        db,
        access,
        tier=3,
        category="fraud",
        status=CaseStatus.CLOSED,
        outcome="withdrawn",
        intake=config.intake,
        settings=settings,
        now=T0 + timedelta(days=1),
    )
    assert {
        d.next_action_at for d in db.scalars(select(Deadline).where(Deadline.case_id == case.id))
    } == {None}
    assert clock.tick(db, now=T0 + timedelta(days=100), settings=settings).acted == 0


def test_notifications_go_to_the_outbox_without_content(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    from portal.models import OutboxMessage

    case = file_case(db, app, settings)
    clock.tick(db, now=T0 + timedelta(days=7), settings=settings)
    messages = db.scalars(select(OutboxMessage)).all()
    assert {m.to_address for m in messages} >= {"sven@example.org"}
    for message in messages:
        assert "Something happened" not in message.body + message.subject
        assert case.uid in message.body
    _ = EventKind


def test_daily_digest_once_a_day_with_counts_only(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    from portal.models import OutboxMessage
    from portal.services import notifications

    file_case(db, app, settings)
    later = T0 + timedelta(days=8)  # the acknowledgement is overdue
    assert notifications.queue_daily_digests(db, settings, now=later) == 3
    assert notifications.queue_daily_digests(db, settings, now=later + timedelta(hours=1)) == 0
    digests = db.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.like("%Daily summary%"))
    ).all()
    assert len(digests) == 3
    assert all("Overdue: 1." in d.body and "Something happened" not in d.body for d in digests)
    # The next local day brings the next summary.
    assert notifications.queue_daily_digests(db, settings, now=later + timedelta(days=1)) == 3


def test_one_failing_deadline_does_not_hold_up_the_others(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    good = file_case(db, app, settings)
    bad = file_case(db, app, settings, now=T0 + SECOND)
    broken = deadline(db, bad, "acknowledge")
    broken.clock = "no-such-clock"  # its policy has no such clock: acting on it raises
    db.commit()
    result = clock.tick(db, now=T0 + timedelta(days=8), settings=settings)
    assert deadline(db, good, "acknowledge").state is DeadlineState.BREACHED
    assert result.acted >= 1
    db.refresh(bad)
    assert bad.escalation_level == 1
    still_due = db.scalars(select(Deadline).where(Deadline.clock == "no-such-clock")).one()
    assert still_due.next_action_at is not None and still_due.steps_done == 0
