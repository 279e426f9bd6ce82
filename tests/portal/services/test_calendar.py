from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.services.calendar import BusinessCalendar, Duration, Unit

BERLIN = BusinessCalendar("Europe/Berlin", "DE", "BE")
BAVARIA = BusinessCalendar("Europe/Berlin", "DE", "BY")
FRANCE = BusinessCalendar("Europe/Paris", "FR")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (utc(2026, 11, 30, 9), 3, utc(2027, 2, 28, 9)),  # clamps at February's end
        (utc(2027, 11, 30, 9), 3, utc(2028, 2, 29, 9)),  # a leap year
        (utc(2026, 1, 31, 9), 1, utc(2026, 2, 28, 9)),
        (utc(2026, 8, 31, 8), 1, utc(2026, 9, 30, 8)),
    ],
)
def test_calendar_months_clamp_at_the_month_end(
    start: datetime, months: int, due: datetime
) -> None:
    assert BERLIN.add(start, Duration(months, Unit.CALENDAR_MONTHS)) == due


def test_three_months_is_not_ninety_days() -> None:
    start = utc(2026, 5, 31, 9)
    assert BERLIN.add(start, Duration(3, Unit.CALENDAR_MONTHS)) == utc(2026, 8, 31, 9)
    assert BERLIN.add(start, Duration(90, Unit.CALENDAR_DAYS)) == utc(2026, 8, 29, 9)


def test_bavarian_holidays_are_not_working_days() -> None:
    # 6 January (Epiphany) is a public holiday in Bavaria, not in Berlin.
    assert not BAVARIA.is_working_day(date(2026, 1, 6))
    assert BERLIN.is_working_day(date(2026, 1, 6))
    monday = utc(2026, 1, 5, 9)
    assert BAVARIA.add(monday, Duration(1, Unit.WORKING_DAYS)).date() == date(2026, 1, 7)
    assert BERLIN.add(monday, Duration(1, Unit.WORKING_DAYS)).date() == date(2026, 1, 6)
    # Corpus Christi (4 June 2026) too.
    assert not BAVARIA.is_working_day(date(2026, 6, 4))


def test_working_days_in_france_skip_weekends_and_public_holidays() -> None:
    thursday = utc(2026, 4, 30, 8)  # 1 May (Friday) is Labour Day
    assert FRANCE.add(thursday, Duration(1, Unit.WORKING_DAYS)).date() == date(2026, 5, 4)
    # Ten working days from Monday 4 May: 8 May and 14 May (Ascension) are holidays.
    assert FRANCE.add(utc(2026, 5, 4, 8), Duration(10, Unit.WORKING_DAYS)).date() == date(
        2026, 5, 20
    )
    assert FRANCE.add(utc(2026, 5, 20, 8), Duration(-10, Unit.WORKING_DAYS)).date() == date(
        2026, 5, 4
    )


def test_calendar_days_keep_local_time_across_daylight_saving() -> None:
    # Clocks go forward in Europe/Berlin on 29 March 2026: 10:00 CET is 09:00 UTC, 10:00 CEST 08:00.
    friday = utc(2026, 3, 27, 9)
    assert BERLIN.add(friday, Duration(7, Unit.CALENDAR_DAYS)) == utc(2026, 4, 3, 8)
    # Hours are absolute: 48 hours later the local time reads 11:00.
    assert BERLIN.add(friday, Duration(48, Unit.HOURS)) == utc(2026, 3, 29, 9)
    # And back in October: 25 October 2026.
    assert BERLIN.add(utc(2026, 10, 23, 8), Duration(7, Unit.CALENDAR_DAYS)) == utc(2026, 10, 30, 9)


def test_roll_to_the_next_working_day_keeps_the_local_time() -> None:
    saturday = utc(2026, 11, 28, 14)
    assert BAVARIA.roll_to_working_day(saturday) == utc(2026, 11, 30, 14)
    tuesday = utc(2026, 12, 1, 14)
    assert BAVARIA.roll_to_working_day(tuesday) == tuesday
    christmas_eve_thursday = utc(2026, 12, 24, 14)  # 25 and 26 December are holidays
    rolled = BAVARIA.roll_to_working_day(
        BAVARIA.add(christmas_eve_thursday, Duration(1, Unit.CALENDAR_DAYS))
    )
    assert rolled == utc(2026, 12, 28, 14)


@pytest.mark.parametrize("text", ["", "three days", "3", "3 fortnights", "-2 hours"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Duration.parse(text)


def test_durations_read_in_words() -> None:
    assert str(Duration.parse("1 working_days")) == "1 working day"
    assert str(Duration.parse("3 calendar_months")) == "3 calendar months"
