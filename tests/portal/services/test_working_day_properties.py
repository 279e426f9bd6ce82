"""Property: a clock that counts working days never lands on a weekend, a holiday or a closing day.

For random receipt times across several years, countries, regions, time zones and closing days,
every due time of a working-day clock, every due time moved by a pause and every time a pause
runs out falls on a working day; and a pause counts no more than the time that passed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.models import Deadline, DeadlineState
from portal.services.calendar import BusinessCalendar, Duration, Unit
from portal.services.clock.schedule import due_time, moved_by_pause, pause_ends, pause_left
from portal.services.policies import PRESETS, ClockRule, load_policy
from tests.portal.conftest import pausable

PLACES = [
    ("Europe/Berlin", "DE", "BY"),
    ("Europe/Berlin", "DE", "BE"),
    ("Europe/Paris", "FR", None),
    ("Europe/London", "GB", "SCT"),
    ("America/New_York", "US", "NY"),
    ("Europe/Lisbon", "PT", None),
]
WORKING_DAY_RULES: list[ClockRule] = [
    rule
    for name in PRESETS
    for rule in load_policy(name).clocks
    if rule.duration.unit is Unit.WORKING_DAYS
]
# A calendar-day clock that rolls to a working day must also land on one after a pause.
INVESTIGATE = pausable(load_policy("seed-membership").clock("investigate"))
ROLLING = replace(INVESTIGATE, duration=Duration(14, Unit.CALENDAR_DAYS), roll_to_working_day=True)
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2030, 12, 31, tzinfo=UTC)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone, country, subdivision = draw(st.sampled_from(PLACES))
    closed = draw(
        st.frozensets(
            st.dates(min_value=date(2026, 1, 1), max_value=date(2031, 6, 30)), max_size=40
        )
    )
    return BusinessCalendar(zone, country, subdivision, closed=closed)


moments = st.datetimes(
    min_value=START.replace(tzinfo=None), max_value=END.replace(tzinfo=None), timezones=st.just(UTC)
)


def on_working_day(calendar: BusinessCalendar, moment: datetime) -> bool:
    return calendar.is_working_day(moment.astimezone(calendar.zone).date())


def test_the_presets_have_working_day_clocks_to_check() -> None:
    assert len(WORKING_DAY_RULES) >= 2


@settings(max_examples=300, deadline=None)
@given(
    calendar=calendars(),
    received=moments,
    rule=st.sampled_from([*WORKING_DAY_RULES, ROLLING]),
    pause_start=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
    pause_length=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=60)),
)
def test_every_due_time_and_pause_result_falls_on_a_working_day(
    calendar: BusinessCalendar,
    received: datetime,
    rule: ClockRule,
    pause_start: timedelta,
    pause_length: timedelta,
) -> None:
    due = due_time(rule, received, calendar)
    assert on_working_day(calendar, due)
    assert due > received

    paused_at = received + pause_start
    resumed_at = paused_at + pause_length
    counted = calendar.pause_length(paused_at, resumed_at, rule.duration.unit)
    # Never more than the time that passed (a weekend or closing day only ever counts less).
    assert 0 <= counted <= int(pause_length.total_seconds()) + 3600
    moved = moved_by_pause(due, counted, rule, calendar)
    assert on_working_day(calendar, moved)
    assert moved >= due

    if rule.pause_cap is not None:
        deadline = Deadline(state=DeadlineState.PAUSED, paused_at=paused_at, paused_seconds=0)
        ends = pause_ends(deadline, rule, calendar)
        assert ends is not None and ends > paused_at
        if rule.duration.unit is Unit.WORKING_DAYS:
            assert on_working_day(calendar, ends)
        # The allowance is used up exactly when the pause ends, whatever the weekday it started.
        used = calendar.pause_length(paused_at, ends, rule.duration.unit)
        assert abs(used - pause_left(deadline, rule)) <= 3600
