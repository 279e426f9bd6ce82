"""Business calendars: durations in the organisation's time zone, weekends and public holidays.

Calendar days and months are counted on the local wall clock, so a deadline keeps its local time
across a daylight-saving change; minutes and hours are absolute. Calendar months clamp at the
month's end (30 November + 3 months = 28 or 29 February): 3 months is never 90 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

from portal.i18n import _, _n
from portal.services.errors import InvalidInputError


class Unit(Enum):
    MINUTES = "minutes"
    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    CALENDAR_MONTHS = "calendar_months"


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Duration:
        """``"15 minutes"``, ``"2 working_days"``, ``"3 calendar_months"``."""
        amount, _space, unit = text.strip().partition(" ")
        if not amount.isdigit():
            raise ValueError(f"{text!r}: a duration is a whole number and a unit")
        return cls(int(amount), Unit(unit.strip()))

    def __str__(self) -> str:
        # English, for audit entries, logs and the policy files' own notation.
        unit = self.unit.value.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"

    def words(self) -> str:
        """The duration for people, in the language of the moment ("7 calendar days"), counted
        as that language counts (one, few, many...)."""
        num = self.amount
        if self.unit is Unit.MINUTES:
            return _n("%(num)d minute", "%(num)d minutes", num)
        if self.unit is Unit.HOURS:
            return _n("%(num)d hour", "%(num)d hours", num)
        if self.unit is Unit.CALENDAR_DAYS:
            return _n("%(num)d calendar day", "%(num)d calendar days", num)
        if self.unit is Unit.WORKING_DAYS:
            return _n("%(num)d working day", "%(num)d working days", num)
        return _n("%(num)d calendar month", "%(num)d calendar months", num)

    def __neg__(self) -> Duration:
        return Duration(-self.amount, self.unit)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days for a country and region (``holidays`` package) in a time zone.

    ``closed`` holds the organisation's own closing days, which count as holidays.
    """

    timezone: str
    country: str
    subdivision: str | None = None
    closed: frozenset[date] = frozenset()
    _holidays: holidays.HolidayBase = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_holidays", holidays.country_holidays(self.country, subdiv=self.subdivision)
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        weekend = getattr(self._holidays, "weekend", {5, 6})
        return day.weekday() not in weekend and day not in self._holidays and day not in self.closed

    def add(self, start: datetime, duration: Duration) -> datetime:
        """``start`` plus ``duration`` (which may be negative), as an aware UTC datetime."""
        if duration.unit is Unit.MINUTES:
            return start + timedelta(minutes=duration.amount)
        if duration.unit is Unit.HOURS:
            return start + timedelta(hours=duration.amount)
        local = start.astimezone(self.zone).replace(tzinfo=None)
        if duration.unit is Unit.CALENDAR_DAYS:
            result = local + timedelta(days=duration.amount)
        elif duration.unit is Unit.CALENDAR_MONTHS:
            result = local + relativedelta(months=duration.amount)
        else:
            # Counting working days: each step lands on a working day; negative counts go back.
            result = local
            step = timedelta(days=1 if duration.amount >= 0 else -1)
            remaining = abs(duration.amount)
            while remaining > 0:
                result += step
                if self.is_working_day(result.date()):
                    remaining -= 1
        return self._to_utc(result)

    def roll_to_working_day(self, moment: datetime) -> datetime:
        """The same local time on the next working day, if ``moment`` is not on one."""
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        if self.is_working_day(local.date()):
            return moment
        while not self.is_working_day(local.date()):
            local += timedelta(days=1)
        return self._to_utc(local)

    def pause_length(self, start: datetime, end: datetime, unit: Unit) -> int:
        """Seconds between ``start`` and ``end`` as a clock counting in ``unit`` counts them.

        A working-day clock counts only the time that falls on working days, so a weekend or a
        holiday inside a pause is not taken from the reporter's or handler's allowance; a
        calendar-day or month clock counts on the local wall clock, so a pause across a
        daylight-saving change moves the due time by whole local days; minutes and hours are
        absolute.
        """
        if end <= start:
            return 0
        if unit in (Unit.MINUTES, Unit.HOURS):
            return int((end - start).total_seconds())
        local_start, local_end = self._local(start), self._local(end)
        if unit is not Unit.WORKING_DAYS:
            return int((local_end - local_start).total_seconds())
        counted = timedelta(0)
        cursor = local_start
        while cursor < local_end:
            stop = min(_next_midnight(cursor), local_end)
            if self.is_working_day(cursor.date()):
                counted += stop - cursor
            cursor = stop
        return int(counted.total_seconds())

    def after_pause(self, moment: datetime, seconds: int, unit: Unit) -> datetime:
        """``moment`` moved later by ``seconds`` counted as ``pause_length`` counts them.

        On a working-day clock the result always falls on a working day.
        """
        if seconds <= 0:
            return moment
        if unit in (Unit.MINUTES, Unit.HOURS):
            return moment + timedelta(seconds=seconds)
        local = self._local(moment)
        if unit is not Unit.WORKING_DAYS:
            return self._to_utc(local + timedelta(seconds=seconds))
        remaining = timedelta(seconds=seconds)
        while True:
            midnight = _next_midnight(local)
            if self.is_working_day(local.date()):
                if remaining < midnight - local:
                    return self._to_utc(local + remaining)
                remaining -= midnight - local
            local = midnight

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _to_utc(self, local: datetime) -> datetime:
        # zoneinfo resolves a wall time in a DST gap or fold by its UTC offset rules (fold=0).
        return local.replace(tzinfo=self.zone).astimezone(ZoneInfo("UTC"))


def _next_midnight(local: datetime) -> datetime:
    return datetime.combine(local.date() + timedelta(days=1), time())


def parse_dates(text: str, *, each: str, example: str, most: int) -> tuple[date, ...]:
    """ISO dates, one per line or separated by commas or spaces; sorted, unique. The messages
    name ``each`` date ("closing day" or "meeting date") and show ``example``; more than
    ``most`` are refused."""
    days: set[date] = set()
    for word in text.replace(",", " ").split():
        try:
            days.add(date.fromisoformat(word))
        except ValueError:
            raise InvalidInputError(_not_a_date(each, word[:20], example)) from None
    if len(days) > most:
        raise InvalidInputError(_too_many(each, most))
    return tuple(sorted(days))


# Each message is a whole sentence for each kind of date, so that translators can write it.
def _not_a_date(each: str, word: str, example: str) -> str:
    if each == "closing day":
        return _(
            "“%(word)s” is not a date. Write each closing day as year-month-day, such as "
            "%(example)s. Nothing was saved.",
            word=word,
            example=example,
        )
    if each == "meeting date":
        return _(
            "“%(word)s” is not a date. Write each meeting date as year-month-day, such as "
            "%(example)s. Nothing was saved.",
            word=word,
            example=example,
        )
    return _(
        "“%(word)s” is not a date. Write each date as year-month-day, such as %(example)s. "
        "Nothing was saved.",
        word=word,
        example=example,
    )


def _too_many(each: str, most: int) -> str:
    if each == "closing day":
        return _n(
            "Give at most %(num)d closing day; remove past ones. Nothing was saved.",
            "Give at most %(num)d closing days; remove past ones. Nothing was saved.",
            most,
        )
    if each == "meeting date":
        return _n(
            "Give at most %(num)d meeting date; remove past ones. Nothing was saved.",
            "Give at most %(num)d meeting dates; remove past ones. Nothing was saved.",
            most,
        )
    return _n(
        "Give at most %(num)d date; remove past ones. Nothing was saved.",
        "Give at most %(num)d dates; remove past ones. Nothing was saved.",
        most,
    )
