"""seeds/000 (complaints), line 12: what settles a complaint, what does not, and the mediator
notice. The first response by tier (lines 40, 42, 49, 56, 93, 99) and the 45-day timeline are
rows of the tables in test_seed_lines.py.

A fixed clock drives the worker one second before, at and after each step; no sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuthorKind, Case, CaseEvent, CaseStatus, DeadlineState, EventKind, User
from portal.services import casework, clock, messaging, sitetext
from portal.services.calendar import Duration, Unit
from tests.factories import handler_private_key
from tests.portal.services.test_clock import (
    SECOND,
    T0,
    act,
    deadline,
    file_case,
    ladder,
    settings,
)

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

# Line 12: "For each complaint that cannot be resolved to the complainant's satisfaction within
# the 45 day window outlined in the above policy, the Complaint Handling and Dispute Resolution
# Coordinator will inform the complainant in writing that they have the option to pursue
# resolution of their complaint with the organization's external Dispute Resolution Officer /
# Mediator and provide details about how to access them."
DAY = timedelta(days=1)
NOTICE = "external Dispute Resolution Officer / Mediator"


def system_messages(db: Session, case: Case, handler: User) -> list[str]:
    key = casework.open_case(db, handler, handler_private_key(handler), case.uid).case_private_key
    return [
        m.body for m in messaging.read_thread(db, case, key) if m.author_kind is AuthorKind.SYSTEM
    ]


def set_status(
    db: Session, app: Flask, settings: clock.ClockSettings, handler: User, case: Case, **kw: Any
) -> None:
    access = casework.open_case(db, handler, handler_private_key(handler), case.uid)
    casework.update_case(
        db,
        access,
        tier=case.tier,
        category=case.category,
        outcome=None,
        intake=app.extensions["candor.config"].intake,
        settings=settings,
        **kw,
    )


def test_resolved_then_reopened_still_gets_the_mediator_notice_at_day_45(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    # Line 12: "cannot be resolved to the complainant's satisfaction within the 45 day window"
    case = file_case(db, app, settings, policies=("seed-complaints",))
    set_status(db, app, settings, ladder[1], case, status=CaseStatus.RESOLVED, now=T0 + 10 * DAY)
    set_status(
        db, app, settings, ladder[1], case, status=CaseStatus.INVESTIGATING, now=T0 + 11 * DAY
    )
    resolve = deadline(db, case, "resolve")
    assert resolve.stopped_at is None and resolve.due_at == T0 + 45 * DAY
    clock.tick(db, now=T0 + 45 * DAY - SECOND, settings=settings)
    assert not any(NOTICE in b for b in system_messages(db, case, ladder[1]))
    clock.tick(db, now=T0 + 45 * DAY, settings=settings)
    assert sum(NOTICE in b for b in system_messages(db, case, ladder[1])) == 1
    clock.tick(db, now=T0 + 45 * DAY + SECOND, settings=settings)
    assert sum(NOTICE in b for b in system_messages(db, case, ladder[1])) == 1


def test_a_status_of_resolved_alone_does_not_stop_the_45_days(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    # Line 12: resolved "to the complainant's satisfaction", not by a handler's status.
    case = file_case(db, app, settings, policies=("seed-complaints",))
    set_status(db, app, settings, ladder[1], case, status=CaseStatus.RESOLVED, now=T0 + 10 * DAY)
    assert deadline(db, case, "resolve").stopped_at is None
    clock.tick(db, now=T0 + 45 * DAY, settings=settings)
    assert any(NOTICE in b for b in system_messages(db, case, ladder[1]))


def send_resolution(
    db: Session, app: Flask, settings: clock.ClockSettings, handler: User, case: Case, now: datetime
) -> None:
    act(db, handler, case, "resolution", now, settings, app)


def reporter_satisfied(
    db: Session, app: Flask, settings: clock.ClockSettings, handler: User, case: Case, now: datetime
) -> None:
    assert clock.can_say_satisfied(db, case)
    clock.say_satisfied(db, case, now=now, settings=settings)
    assert not clock.can_say_satisfied(db, case)


@pytest.mark.parametrize(
    ("stop", "kind"),
    [
        pytest.param(
            send_resolution,
            EventKind.RESOLUTION_SENT,
            id="line 12: the complaint resolved, in writing to the complainant",
        ),
        pytest.param(
            reporter_satisfied,
            EventKind.REPORTER_SATISFIED,
            id="line 12: resolved to the complainant's satisfaction, in their own word",
        ),
    ],
)
@pytest.mark.parametrize("when", [45 * DAY - SECOND, 10 * DAY], ids=["one second before", "day 10"])
def test_a_resolution_message_or_the_reporters_satisfaction_stops_the_45_days(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    stop: Callable[..., None],
    kind: EventKind,
    when: timedelta,
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",))
    stop(db, app, settings, ladder[1], case, T0 + when)
    resolve = deadline(db, case, "resolve")
    assert resolve.state is DeadlineState.MET and resolve.stopped_at == T0 + when
    assert kind in db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    for moment in (45 * DAY, 45 * DAY + SECOND, 60 * DAY):
        clock.tick(db, now=T0 + moment, settings=settings)
    assert not any(NOTICE in b for b in system_messages(db, case, ladder[1]))


def test_saying_satisfied_twice_or_with_nothing_waiting_is_refused(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    eu = file_case(db, app, settings, policies=("eu-directive",))
    assert not clock.can_say_satisfied(db, eu)  # no clock of its policy waits for it
    with pytest.raises(clock.ClockError, match="nothing waiting"):
        clock.say_satisfied(db, eu, now=T0, settings=settings)
    case = file_case(db, app, settings, policies=("seed-complaints",), now=T0 + SECOND)
    clock.say_satisfied(db, case, now=T0 + DAY, settings=settings)
    with pytest.raises(clock.ClockError, match="already given"):
        clock.say_satisfied(db, case, now=T0 + 2 * DAY, settings=settings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            None,
            "We have not been able to resolve your complaint to your satisfaction within 45 "
            "calendar days. You have the option to pursue resolution of your complaint with our "
            "external Dispute Resolution Officer / Mediator.",
            id="the default: line 12's wording, the window from the policy",
        ),
        pytest.param(
            "<p>Not resolved within {duration}? Our external Dispute Resolution Officer / "
            'Mediator is Mia Roth, <a href="mailto:mia@mediate.example">mia@mediate.example</a>, '
            "phone +1 555 0100.</p>",
            "Not resolved within 45 calendar days? Our external Dispute Resolution Officer / "
            "Mediator is Mia Roth, mia@mediate.example, phone +1 555 0100.",
            id='line 12: "provide details about how to access them", as staff wrote them',
        ),
    ],
)
def test_the_mediator_notice_names_the_mediator_and_the_policys_window(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    text: str | None,
    expected: str,
) -> None:
    if text is not None:
        sitetext.set_text(db, "mediator_notice", text, T0)
    case = file_case(db, app, settings, policies=("seed-complaints",))
    clock.tick(db, now=T0 + 45 * DAY, settings=settings)
    notices = [b for b in system_messages(db, case, ladder[1]) if NOTICE in b]
    assert len(notices) == 1
    assert notices[0].startswith(expected)
    assert "{duration}" not in notices[0] and "<" not in notices[0]


def test_the_notice_reads_the_duration_it_is_given(db: Session) -> None:
    # The policy's window, whatever it is: never a number written once into the text.
    notice = sitetext.get_plain_text(
        db, "mediator_notice", duration=str(Duration(30, Unit.CALENDAR_DAYS))
    )
    assert "within 30 calendar days." in notice and "45" not in notice


def close_with_outcome(
    db: Session, app: Flask, settings: clock.ClockSettings, handler: User, case: Case, now: datetime
) -> None:
    access = casework.open_case(db, handler, handler_private_key(handler), case.uid)
    casework.update_case(
        db,
        access,
        tier=case.tier,
        category=case.category,
        status=CaseStatus.CLOSED,
        outcome="substantiated",
        intake=app.extensions["candor.config"].intake,
        settings=settings,
        now=now,
    )


def resolution_then_resolved(
    db: Session, app: Flask, settings: clock.ClockSettings, handler: User, case: Case, now: datetime
) -> None:
    send_resolution(db, app, settings, handler, case, now)
    set_status(db, app, settings, handler, case, status=CaseStatus.RESOLVED, now=now)


@pytest.mark.parametrize(
    "settle",
    [
        pytest.param(close_with_outcome, id="closed on day 10, reopened on day 11"),
        pytest.param(resolution_then_resolved, id="resolution sent on day 10, reopened on day 11"),
    ],
)
def test_a_reopened_complaint_runs_to_day_45_again_and_gets_the_notice(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    settle: Callable[..., None],
) -> None:
    # Line 12: a complaint reopened is not "resolved to the complainant's satisfaction".
    case = file_case(db, app, settings, policies=("seed-complaints",))
    settle(db, app, settings, ladder[1], case, T0 + 10 * DAY)
    assert deadline(db, case, "resolve").stopped_at == T0 + 10 * DAY
    set_status(
        db, app, settings, ladder[1], case, status=CaseStatus.INVESTIGATING, now=T0 + 11 * DAY
    )
    resolve = deadline(db, case, "resolve")
    assert resolve.stopped_at is None and resolve.state is DeadlineState.RUNNING
    assert resolve.due_at == T0 + 45 * DAY  # reopening buys no more time
    clock.tick(db, now=T0 + 45 * DAY - SECOND, settings=settings)
    assert not any(NOTICE in b for b in system_messages(db, case, ladder[1]))
    clock.tick(db, now=T0 + 45 * DAY, settings=settings)
    assert sum(NOTICE in b for b in system_messages(db, case, ladder[1])) == 1
    clock.tick(db, now=T0 + 45 * DAY + SECOND, settings=settings)
    assert sum(NOTICE in b for b in system_messages(db, case, ladder[1])) == 1
