"""The timeline preview against the worker: for each preset, the preview's events are exactly
what ``clock.tick`` does to a real case driven through the same times with a fixed clock."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, AuthorKind, Case, Deadline, Message, User
from portal.services import clock
from portal.services.calendar import BusinessCalendar
from portal.services.clock.preview import (
    HORIZON,
    Happening,
    PreviewEvent,
    clock_in_words,
    preview_timeline,
)
from portal.services.errors import InvalidInputError
from portal.services.policies import PRESETS, PolicyError, load_policy
from tests.factories import make_handler
from tests.portal.services.test_clock import file_case

BERLIN = ZoneInfo("Europe/Berlin")
# A Friday afternoon before the Christmas holidays: weekends and public holidays both in play.
RECEIVED = datetime(2026, 12, 18, 16, 0, tzinfo=BERLIN)
SECOND = timedelta(seconds=1)
CLOCK_ACTIONS = ("deadline_warning", "deadline_breached", "escalated", "escalation_exhausted")
REPORTER = "message to the reporter"


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
    db.commit()
    return users


def expected(event: PreviewEvent) -> tuple[str, str]:
    """What the worker's records show for one preview event."""
    if event.happening is Happening.WARNING:
        return ("deadline_warning", event.clock_name)
    if event.happening is Happening.DUE:
        return ("deadline_breached", event.clock_name)
    if event.happening is Happening.ESCALATION:
        to = f"{event.level}, {event.step}" if event.step else str(event.level)
        return ("escalated", f"{event.clock_name} -> {to}")
    if event.happening is Happening.TOP_REACHED:
        return ("escalation_exhausted", event.clock_name)
    return (REPORTER, "")


def worker_did(
    db: Session, case: Case, seen_audit: int, seen_messages: int
) -> Counter[tuple[str, str]]:
    """The clock's audit entries and system messages on ``case`` beyond those already seen."""
    db.expire_all()
    entries = db.execute(
        select(AuditEntry.action, AuditEntry.detail)
        .where(AuditEntry.case_id == case.id, AuditEntry.action.in_(CLOCK_ACTIONS))
        .order_by(AuditEntry.id)
    ).all()[seen_audit:]
    done: Counter[tuple[str, str]] = Counter()
    for action, detail in entries:
        name = re.split(r"[: ]", detail, maxsplit=1)[0]
        if action == "escalated":
            # "-> 3 (no response)", or with the policy's step: "-> 3, the executive team (...)".
            level = re.search(r"-> (\d(?:, [^()]+)?) \(", detail)
            assert level is not None
            name = f"{name} -> {level.group(1)}"
        done[(action, name)] += 1
    done[(REPORTER, "")] += system_messages(db, case) - seen_messages
    return +done


def system_messages(db: Session, case: Case) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.case_id == case.id, Message.author_kind == AuthorKind.SYSTEM)
        )
        or 0
    )


def clock_entries(db: Session, case: Case) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.case_id == case.id, AuditEntry.action.in_(CLOCK_ACTIONS))
        )
        or 0
    )


@pytest.mark.parametrize(
    ("policy", "tier", "received", "group"),
    [
        ("eu-directive", 3, RECEIVED, ""),
        # Received in winter, feedback due in summer: across the daylight-saving change.
        ("eu-directive", 1, datetime(2027, 3, 20, 9, 0, tzinfo=BERLIN), ""),
        # A group the policy gives no ladder of its own changes nothing.
        ("eu-directive", 1, RECEIVED, "employee"),
        ("seed-complaints", 1, RECEIVED, ""),
        ("seed-complaints", 2, RECEIVED, ""),
        ("seed-complaints", 3, RECEIVED, ""),
        # Late on the night before the clocks go back: 48 hours are absolute.
        ("seed-complaints", 2, datetime(2027, 10, 29, 23, 30, tzinfo=BERLIN), ""),
        # Each reporter group climbs the ladder seeds/000 gives it.
        ("seed-complaints", 1, RECEIVED, "employee"),
        ("seed-complaints", 2, RECEIVED, "employee"),
        ("seed-complaints", 3, RECEIVED, "employee"),
        ("seed-complaints", 1, RECEIVED, "customer"),
        ("seed-complaints", 2, RECEIVED, "customer"),
        ("seed-complaints", 1, RECEIVED, "vendor"),
        ("seed-complaints", 2, datetime(2027, 10, 29, 23, 30, tzinfo=BERLIN), "vendor"),
        ("seed-complaints", 1, RECEIVED, "public"),
        ("seed-membership", 2, RECEIVED, ""),
    ],
)
def test_the_preview_is_what_the_worker_does(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    policy: str,
    tier: int,
    received: datetime,
    group: str,
) -> None:
    timeline = preview_timeline(
        policy, received, tier, calendar=settings.calendar, group=group or None
    )
    assert timeline.events
    case = file_case(db, app, settings, policies=(policy,), tier=tier, now=received, group=group)
    assert case.reporter_group == (group or None)

    # The due times the preview shows are the due times the case's deadlines have.
    dues = {e.clock: e.at for e in timeline.events if e.happening is Happening.DUE}
    rows = db.scalars(select(Deadline).where(Deadline.case_id == case.id)).all()
    assert {d.clock: d.due_at for d in rows} == dues

    by_time: dict[datetime, Counter[tuple[str, str]]] = {}
    for event in timeline.events:
        by_time.setdefault(event.at, Counter())[expected(event)] += 1
    for at, wanted in sorted(by_time.items()):
        # One second before: nothing yet. At the time: exactly the preview's events.
        assert clock.tick(db, now=at - SECOND, settings=settings).acted == 0, at
        before = (clock_entries(db, case), system_messages(db, case))
        clock.tick(db, now=at, settings=settings)
        assert worker_did(db, case, *before) == wanted, at
    # And after the last event, nothing more, however long the worker runs.
    last = max(by_time)
    assert clock.tick(db, now=last + SECOND, settings=settings).acted == 0
    assert clock.tick(db, now=received + HORIZON, settings=settings).acted == 0


def test_tier_sets_the_escalation_steps_of_the_complaints_preset() -> None:
    calendar = BusinessCalendar("Europe/Berlin", "DE", "BY")
    steps = {}
    for tier in (1, 2, 3):
        events = preview_timeline("seed-complaints", RECEIVED, tier, calendar=calendar).events
        review = [e for e in events if e.clock == "review"]
        due = next(e.at for e in review if e.happening is Happening.DUE)
        top = next(e.at for e in review if e.happening is Happening.ESCALATION and e.level == 3)
        steps[tier] = top - due
    assert steps == {1: timedelta(minutes=15), 2: timedelta(hours=12), 3: timedelta(hours=48)}


def escalations(policy: str, tier: int, group: str | None) -> list[tuple[str, str]]:
    calendar = BusinessCalendar("Europe/Berlin", "DE", "BY")
    events = preview_timeline(policy, RECEIVED, tier, calendar=calendar, group=group).events
    return [
        (e.at.strftime("%H:%M"), e.describe())
        for e in events
        if e.clock == "review" and e.happening is Happening.ESCALATION
    ]


def test_the_group_changes_the_escalation_lines() -> None:
    # Same policy, same receipt, same tier 1: the employee's ladder and the vendor's differ.
    # seeds/000, line 93: "If you do not hear back from them within 15 minutes contact one of
    # the executive team via email, phone or in person".
    assert escalations("seed-complaints", 1, "employee") == [
        ("16:15", "escalation to level 3 (the executive team)"),
    ]
    # Line 69: "If no response within 15 minutes email support@alloy.co, highlighting the
    # level of urgency within the email title".
    assert escalations("seed-complaints", 1, "vendor") == [
        ("16:15", "escalation to level 3 (support@alloy.co, marked urgent)"),
    ]
    # Line 40: "If unanswered within 15 minutes message the Alloy team via your customer slack
    # channel"; line 42: "If no response within 15 minutes email support@alloy.co".
    assert escalations("seed-complaints", 1, "customer") == [
        ("16:15", "escalation to level 2 (the Alloy team on the customer's Slack channel)"),
        ("16:30", "escalation to level 3 (support@alloy.co, marked urgent)"),
    ]
    # Line 49 (a customer at tier 2): "If unanswered within 12 hours call the Alloy support
    # line"; line 51: "If unanswered after two attempts email support@alloy.co".
    assert escalations("seed-complaints", 2, "customer") == [
        ("04:00", "escalation to level 2 (the Alloy support line)"),
        ("16:00", "escalation to level 3 (support@alloy.co, marked urgent)"),
    ]
    # The seed gives members of the public the Basic Process only, and every group at tier 3
    # "Escalation steps are as outlined within the above policy" (line 105): the site's levels.
    site_levels = [("16:15", "escalation to level 2"), ("16:30", "escalation to level 3")]
    assert escalations("seed-complaints", 1, "public") == site_levels
    assert escalations("seed-complaints", 1, None) == site_levels
    assert [what for _, what in escalations("seed-complaints", 3, "employee")] == [
        "escalation to level 2",
        "escalation to level 3",
    ]


def test_the_timeline_says_whether_the_group_has_a_ladder_of_its_own() -> None:
    calendar = BusinessCalendar("Europe/Berlin", "DE", "BY")
    for policy, tier, group, used in [
        ("seed-complaints", 1, "employee", True),
        ("seed-complaints", 3, "employee", False),
        ("seed-complaints", 1, "public", False),
        ("seed-complaints", 1, None, False),
        ("eu-directive", 1, "employee", False),
    ]:
        timeline = preview_timeline(policy, RECEIVED, tier, calendar=calendar, group=group)
        assert (timeline.group, timeline.group_used) == (group, used), (policy, tier, group)

    # Other clocks of the policy keep the site's ladder whatever the group.
    def resolve(group: str | None) -> list[PreviewEvent]:
        events = preview_timeline("seed-complaints", RECEIVED, 3, calendar=calendar, group=group)
        return [e for e in events.events if e.clock == "resolve"]

    assert resolve("employee") == resolve(None) != []


def test_clocks_started_by_an_act_are_named_not_previewed() -> None:
    calendar = BusinessCalendar("Europe/Berlin", "DE", "BY")
    timeline = preview_timeline("seed-membership", RECEIVED, 3, calendar=calendar)
    assert [r.key for r in timeline.not_started] == ["secretary", "appeal"]
    assert {e.clock for e in timeline.events} == {"acknowledge", "investigate"}


def test_unknown_policy_and_naive_time_are_refused() -> None:
    calendar = BusinessCalendar("Europe/Berlin", "DE", "BY")
    with pytest.raises(PolicyError):
        preview_timeline("no-such-policy", RECEIVED, 1, calendar=calendar)
    with pytest.raises(InvalidInputError):
        preview_timeline("eu-directive", RECEIVED.replace(tzinfo=None), 1, calendar=calendar)
    with pytest.raises(InvalidInputError):
        preview_timeline("eu-directive", RECEIVED, 4, calendar=calendar)


def test_clocks_in_words() -> None:
    eu = load_policy("eu-directive")
    assert clock_in_words(eu.clock("acknowledge"), eu) == (
        "acknowledge the report: within 7 calendar days of receipt; warn 2 calendar days and "
        "1 calendar day before; escalate at once, then every 2 calendar days after, up the "
        "ladder; tell the handlers when it is overdue; stops when an acknowledgement is sent"
    )
    membership = load_policy("seed-membership")
    words = clock_in_words(membership.clock("investigate"), membership)
    assert "within 10 working days of receipt" in words
    assert "paus" not in words
    assert "may be extended once to 20 working days, with a reason" in words


def test_every_preset_clock_quotes_its_source() -> None:
    for name in PRESETS:
        for rule in load_policy(name).clocks:
            assert rule.source, f"{name}/{rule.key}"
            assert rule.source.startswith(("Directive (EU) 2019/1937", "seeds/")), rule.source
