"""The annual review of seeds/000 and seeds/002: each policy records when it was last reviewed,
and the admins are reminded through the outbox, once per due date, when a review is due.

The test configuration's categories run eu-directive only; each test that needs a reviewed
policy in use chooses seed-complaints for a category first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import Config
from portal.models import AuditEntry, OutboxMessage, PolicyReview, User
from portal.services import clock
from portal.services.calendar import Duration, Unit
from portal.services.clock import reviews
from portal.services.policies import PolicyError, load_policy, parse_policy
from tests.factories import make_admin, make_handler

UTC = ZoneInfo("UTC")
START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ONE_YEAR_ON = datetime(2027, 11, 30, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    base: clock.ClockSettings = app.extensions["candor.clock"]
    return base


@pytest.fixture
def admin(db: Session) -> User:
    user = make_admin(db)
    user.email = "admin@example.org"
    db.commit()
    return user


def use_seed_complaints(db: Session, admin: User) -> None:
    clock.choose_policies(db, "safety", ["seed-complaints"], actor=admin, now=START)


def reminders(db: Session) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.subject.contains(reviews.REMINDER_SUBJECT))
        )
    )


def test_the_seed_presets_are_reviewed_every_twelve_months_and_quote_their_seed() -> None:
    complaints = load_policy("seed-complaints")
    membership = load_policy("seed-membership")
    assert complaints.review_every == Duration(12, Unit.CALENDAR_MONTHS)
    assert membership.review_every == Duration(12, Unit.CALENDAR_MONTHS)
    # seeds/000 line 108 and seeds/002 line 25, word for word.
    assert complaints.review_source is not None
    assert (
        "This policy is reviewed annually or when new customer, vendor or employee related "
        "policies are released." in complaints.review_source
    )
    assert membership.review_source is not None
    assert "We will review this policy and its associated procedures annually" in (
        membership.review_source
    )
    # The Directive sets internal channels no interval; the preset sets none.
    assert load_policy("eu-directive").review_every is None


def test_a_bad_review_interval_is_refused_with_its_name() -> None:
    raw = {
        "name": "odd",
        "title": "Odd",
        "review_every": "yearly",
        "clocks": [
            {
                "key": "a",
                "label": "A",
                "promise": "a",
                "start": "received",
                "stop": ["acknowledged"],
                "duration": 1,
                "unit": "hours",
            }
        ],
    }
    with pytest.raises(PolicyError, match="odd, review_every"):
        parse_policy(raw)


def test_a_policy_not_in_use_is_not_counted_and_sends_nothing(
    db: Session, settings: clock.ClockSettings, config: Config, admin: User
) -> None:
    assert reviews.queue_review_reminders(db, settings, config.intake, now=START) == 0
    # eu-directive is in use but sets no interval; the seeds are not in use.
    assert db.scalars(select(PolicyReview)).all() == []
    status = reviews.review_status(db, "seed-complaints", settings.calendar)
    assert status.next_due is None and not status.overdue(ONE_YEAR_ON)


@pytest.mark.parametrize(
    ("at", "due"),
    [(ONE_YEAR_ON - SECOND, False), (ONE_YEAR_ON, True), (ONE_YEAR_ON + SECOND, True)],
    ids=["one second before", "at", "one second after"],
)
def test_a_policy_never_reviewed_is_due_twelve_months_after_first_use(
    db: Session,
    settings: clock.ClockSettings,
    config: Config,
    admin: User,
    at: datetime,
    due: bool,
) -> None:
    use_seed_complaints(db, admin)
    reviews.queue_review_reminders(db, settings, config.intake, now=START)
    status = reviews.review_status(db, "seed-complaints", settings.calendar)
    assert status.counted_from == START and status.reviewed_at is None
    assert status.next_due == ONE_YEAR_ON
    assert status.overdue(at) is due
    queued = reviews.queue_review_reminders(db, settings, config.intake, now=at)
    assert queued == (1 if due else 0)
    assert len(reminders(db)) == (1 if due else 0)


def test_the_reminder_is_queued_once_per_due_date_to_each_admin_with_an_address(
    db: Session, settings: clock.ClockSettings, config: Config, admin: User
) -> None:
    second = make_admin(db, "second")
    second.email = "second@example.org"
    make_admin(db, "no-address")  # no e-mail: nothing to send
    gone = make_admin(db, "gone")
    gone.email = "gone@example.org"
    gone.active = False
    handler = make_handler(db, "hana")
    handler.email = "hana@example.org"
    db.commit()
    use_seed_complaints(db, admin)
    reviews.queue_review_reminders(db, settings, config.intake, now=START)
    assert reviews.queue_review_reminders(db, settings, config.intake, now=ONE_YEAR_ON) == 2
    # A second pass, and a later one, send nothing more for the same due date.
    assert reviews.queue_review_reminders(db, settings, config.intake, now=ONE_YEAR_ON) == 0
    later = ONE_YEAR_ON + timedelta(days=3)
    assert reviews.queue_review_reminders(db, settings, config.intake, now=later) == 0
    sent = reminders(db)
    assert sorted(m.to_address for m in sent) == ["admin@example.org", "second@example.org"]
    for message in sent:
        assert message.subject == "[Test Organisation] A policy review is due: seed-complaints"
        assert "due on 2027-11-30" in message.body
        assert "http://localhost/admin/policies/seed-complaints" in message.body
        assert "no case content" in message.body
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "policy_review_reminded")
    ).all()
    assert [(e.actor_kind, e.detail) for e in entries] == [
        ("clock", "seed-complaints; due 2027-11-30")
    ]


def test_marking_reviewed_moves_the_next_due_date_and_is_audited(
    db: Session, settings: clock.ClockSettings, config: Config, admin: User
) -> None:
    use_seed_complaints(db, admin)
    reviews.queue_review_reminders(db, settings, config.intake, now=START)
    reviews.queue_review_reminders(db, settings, config.intake, now=ONE_YEAR_ON)
    assert len(reminders(db)) == 1
    reviewed_at = ONE_YEAR_ON + timedelta(days=10)
    status = reviews.mark_reviewed(
        db, "seed-complaints", actor=admin, calendar=settings.calendar, now=reviewed_at
    )
    assert status.reviewed_at == reviewed_at
    assert status.reviewed_by == admin.display_name
    assert status.next_due == datetime(2028, 12, 10, 10, 0, tzinfo=UTC)
    assert not status.overdue(reviewed_at)
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "policy_reviewed")).one()
    assert entry.actor_id == admin.id
    assert entry.detail == "seed-complaints; next due 2028-12-10"
    # No reminder until the new due date; then exactly one more.
    before = status.next_due - SECOND
    assert reviews.queue_review_reminders(db, settings, config.intake, now=before) == 0
    assert reviews.queue_review_reminders(db, settings, config.intake, now=status.next_due) == 1
    assert reviews.queue_review_reminders(db, settings, config.intake, now=status.next_due) == 0
    assert len(reminders(db)) == 2


def test_twelve_months_clamp_at_the_end_of_february(
    db: Session, settings: clock.ClockSettings, admin: User
) -> None:
    # 29 February 2028 + 12 months is 28 February 2029, local time kept (Europe/Berlin).
    leap_day = datetime(2028, 2, 29, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    status = reviews.mark_reviewed(
        db, "seed-membership", actor=admin, calendar=settings.calendar, now=leap_day
    )
    assert status.next_due == datetime(2029, 2, 28, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_a_review_recorded_for_a_policy_without_an_interval_has_no_due_date(
    db: Session, settings: clock.ClockSettings, config: Config, admin: User
) -> None:
    status = reviews.mark_reviewed(
        db, "eu-directive", actor=admin, calendar=settings.calendar, now=START
    )
    assert status.reviewed_at == START and status.next_due is None
    later = START + timedelta(days=3650)
    assert reviews.queue_review_reminders(db, settings, config.intake, now=later) == 0


def test_the_clock_pass_queues_the_reminder_once(app: Flask, db: Session, admin: User) -> None:
    use_seed_complaints(db, admin)
    # In use for two years and never reviewed: the worker's pass (real clock) finds it due.
    db.add(PolicyReview(policy="seed-complaints", counted_from=START - timedelta(days=731)))
    db.commit()
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["candor", "clock", "tick"])
        assert result.exit_code == 0, result.output
    assert [m.to_address for m in reminders(db)] == ["admin@example.org"]
