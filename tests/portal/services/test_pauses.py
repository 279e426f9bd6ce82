"""Pauses counted as their clock counts time, with a fixed clock.

A pause on a working-day clock is counted in working days of the clock's calendar, so the due
time never lands on a weekend or a holiday and the cap is the same whatever weekday the pause
starts; a calendar-day clock keeps its local hour across a daylight-saving change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.models import Deadline, DeadlineState, User
from portal.services import casework, clock
from portal.services.calendar import BusinessCalendar, Duration, Unit
from portal.services.clock.schedule import moved_by_pause, pause_ends, pause_left
from portal.services.policies import load_policy
from tests.factories import handler_private_key, make_handler
from tests.portal.conftest import pausable
from tests.portal.services.test_clock import act, deadline, file_case

BERLIN = ZoneInfo("Europe/Berlin")
BAVARIA = BusinessCalendar("Europe/Berlin", "DE", "BY")
SECOND = timedelta(seconds=1)
DAY = 86400
# 10 working days, with a pause of at most 10 declared on it.
INVESTIGATE = pausable(load_policy("seed-membership").clock("investigate"))


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC"))


def paused(at: datetime, paused_seconds: int = 0) -> Deadline:
    return Deadline(
        policy="seed-membership",
        clock="investigate",
        state=DeadlineState.PAUSED,
        started_at=at,
        due_at=at,
        paused_at=at,
        paused_seconds=paused_seconds,
    )


def test_a_weekend_inside_a_pause_is_not_counted() -> None:
    # Friday 10:00 to Monday 10:00 is one working day of pause, not three.
    friday, monday = local("2026-11-27T10:00"), local("2026-11-30T10:00")
    assert BAVARIA.pause_length(friday, monday, Unit.WORKING_DAYS) == DAY
    assert BAVARIA.pause_length(friday, monday, Unit.CALENDAR_DAYS) == 3 * DAY
    assert BAVARIA.pause_length(friday, monday, Unit.HOURS) == 3 * DAY
    assert BAVARIA.pause_length(monday, friday, Unit.WORKING_DAYS) == 0
    # Saturday to Sunday night: nothing counted at all.
    assert (
        BAVARIA.pause_length(
            local("2026-11-28T08:00"), local("2026-11-29T23:00"), Unit.WORKING_DAYS
        )
        == 0
    )


def test_a_working_day_due_time_moved_by_a_pause_lands_on_a_working_day() -> None:
    # Due Friday 16:00, paused one working day: Monday 16:00, never Saturday 16:00 (which is
    # where adding 24 hours of real time used to put it).
    due = local("2026-11-27T16:00")
    assert moved_by_pause(due, DAY, INVESTIGATE, BAVARIA) == local("2026-11-30T16:00")
    # Half a working day from Friday 16:00: 8 hours left on Friday, 4 more on Monday.
    assert moved_by_pause(due, DAY // 2, INVESTIGATE, BAVARIA) == local("2026-11-30T04:00")
    # Across Christmas: 25 and 26 December (a Friday and a Saturday) and Sunday are skipped.
    assert moved_by_pause(local("2026-12-24T12:00"), DAY, INVESTIGATE, BAVARIA) == local(
        "2026-12-28T12:00"
    )
    assert moved_by_pause(due, 0, INVESTIGATE, BAVARIA) == due


def test_a_regional_holiday_inside_a_pause_is_not_counted() -> None:
    # 6 January (Epiphany) is a holiday in Bavaria, not in Berlin.
    berlin = BusinessCalendar("Europe/Berlin", "DE", "BE")
    start, end = local("2027-01-05T09:00"), local("2027-01-07T09:00")
    assert BAVARIA.pause_length(start, end, Unit.WORKING_DAYS) == DAY
    assert berlin.pause_length(start, end, Unit.WORKING_DAYS) == 2 * DAY


@pytest.mark.parametrize("weekday", range(7))
def test_the_cap_is_the_same_whatever_weekday_the_pause_starts(weekday: int) -> None:
    start = local("2026-11-30T10:00") + timedelta(days=weekday)  # Monday 30 November + weekday
    ends = pause_ends(paused(start), INVESTIGATE, BAVARIA)
    assert ends is not None
    assert pause_left(paused(start), INVESTIGATE) == 10 * DAY
    assert BAVARIA.pause_length(start, ends, Unit.WORKING_DAYS) == 10 * DAY
    assert BAVARIA.is_working_day(ends.astimezone(BERLIN).date())
    if BAVARIA.is_working_day(start.astimezone(BERLIN).date()):
        # From a working day: exactly ten working days later, at the same local time.
        assert ends == BAVARIA.add(start, Duration(10, Unit.WORKING_DAYS))


def test_a_calendar_day_pause_across_a_daylight_saving_change_keeps_the_local_hour() -> None:
    # Summer time ends on 25 October 2026: 23 to 27 October is 4 days and 1 hour of real time.
    rule = replace(
        INVESTIGATE, duration=Duration(14, Unit.CALENDAR_DAYS), roll_to_working_day=False
    )
    start, end = local("2026-10-23T12:00"), local("2026-10-27T12:00")
    stood = BAVARIA.pause_length(start, end, Unit.CALENDAR_DAYS)
    assert stood == 4 * DAY
    assert end - start == timedelta(days=4, hours=1)
    moved = moved_by_pause(local("2026-10-24T12:00"), stood, rule, BAVARIA)
    assert moved == local("2026-10-28T12:00")
    assert moved.astimezone(BERLIN).hour == 12


def test_a_working_day_pause_across_a_daylight_saving_change_keeps_the_local_hour() -> None:
    # Summer time begins on Easter Sunday, 28 March 2027: from Thursday 25 to Tuesday 30 March
    # is one working day (Good Friday, the weekend and Easter Monday are not counted).
    start, end = local("2027-03-25T09:00"), local("2027-03-30T09:00")
    stood = BAVARIA.pause_length(start, end, Unit.WORKING_DAYS)
    assert stood == DAY
    moved = moved_by_pause(local("2027-03-25T15:00"), stood, INVESTIGATE, BAVARIA)
    assert moved.astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 3, 30, 15, 0)


def test_an_extra_closing_day_inside_a_pause_is_skipped() -> None:
    closed = BusinessCalendar("Europe/Berlin", "DE", "BY", closed=frozenset({date(2026, 11, 30)}))
    due = local("2026-11-27T16:00")  # a Friday; Monday 30 November is a closing day
    assert moved_by_pause(due, DAY, INVESTIGATE, closed) == local("2026-12-01T16:00")
    assert (
        closed.pause_length(local("2026-11-27T10:00"), local("2026-12-01T10:00"), Unit.WORKING_DAYS)
        == DAY
    )


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    return replace(app.extensions["candor.clock"], calendar=BAVARIA)


@pytest.fixture
def hanna(db: Session) -> User:
    user = make_handler(db, "hanna")
    db.commit()
    return user


@pytest.mark.usefixtures("pausable_investigation")
def test_a_pause_from_friday_to_monday_moves_the_due_time_by_one_working_day(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    received = local("2026-11-23T10:00")  # a Monday
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=received)
    act(db, hanna, case, "acknowledge", received, settings, app)
    due = deadline(db, case, "investigate").due_at
    friday, monday = local("2026-11-27T10:00"), local("2026-11-30T10:00")
    clock.pause(
        db, case, "seed-membership", "investigate", "Waiting", actor=hanna, now=friday,
        settings=settings,
    )  # fmt: skip
    clock.resume(
        db, case, "seed-membership", "investigate", actor=hanna, now=monday, settings=settings
    )
    resumed = deadline(db, case, "investigate")
    assert resumed.paused_seconds == DAY
    assert resumed.due_at == BAVARIA.add(due, Duration(1, Unit.WORKING_DAYS))
    assert BAVARIA.is_working_day(resumed.due_at.astimezone(BERLIN).date())


@pytest.mark.usefixtures("pausable_investigation")
def test_the_worker_resumes_a_pause_at_its_cap_not_a_second_before(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    received = local("2026-11-23T10:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=received)
    act(db, hanna, case, "acknowledge", received, settings, app)
    due = deadline(db, case, "investigate").due_at
    saturday = local("2026-11-28T11:00")  # counting starts on Monday
    clock.pause(
        db, case, "seed-membership", "investigate", "Waiting", actor=hanna, now=saturday,
        settings=settings,
    )  # fmt: skip
    ends = deadline(db, case, "investigate").next_action_at
    # Ten working days counted from Monday 30 November 00:00 use up Friday 11 December; the
    # clock runs again at the start of the next working day, Monday 14 December.
    assert ends == local("2026-12-14T00:00")
    clock.tick(db, now=ends - SECOND, settings=settings)
    assert deadline(db, case, "investigate").state is DeadlineState.PAUSED
    clock.tick(db, now=ends, settings=settings)
    resumed = deadline(db, case, "investigate")
    assert resumed.state is DeadlineState.RUNNING
    assert resumed.paused_seconds == 10 * DAY
    assert resumed.due_at == BAVARIA.add(due, Duration(10, Unit.WORKING_DAYS))
    clock.tick(db, now=ends + SECOND, settings=settings)
    assert deadline(db, case, "investigate").state is DeadlineState.RUNNING
