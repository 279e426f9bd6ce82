"""The public holidays that working-day deadlines skip: country, region and the organisation's
own closing days, as an admin chooses them over the configuration's default.

Every deadline computation (the worker, intake, handlers' acts) reads the choice through
``with_holidays``, so a deadline never counts a day the organisation is closed as a working day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache, lru_cache

import holidays as holiday_tables
from babel import Locale
from sqlalchemy.orm import Session

from portal import i18n
from portal.i18n import _
from portal.models import HolidaySettings
from portal.services import audit
from portal.services.calendar import BusinessCalendar, parse_dates
from portal.services.clock.schedule import ClockSettings
from portal.services.errors import InvalidInputError

ROW_ID = 1
# More closing days than a year has is a mistake, and bounds the work of every computation.
MAX_CLOSING_DAYS = 366


@dataclass(frozen=True)
class HolidayChoice:
    """What working-day deadlines skip, and whether an admin chose it or it is the default."""

    country: str
    subdivision: str
    closing_days: tuple[date, ...]
    from_config: bool

    @property
    def warning(self) -> str | None:
        return region_warning(self.country, self.subdivision)


def countries() -> dict[str, str]:
    """Every country the ``holidays`` package knows: ISO code to its name in the page's language
    (Babel's names of territories; the package's English name where Babel has none), sorted by
    name."""
    return _countries(i18n.current_language().babel_locale)


@cache
def _countries(locale: str) -> dict[str, str]:
    territories = Locale.parse(locale).territories
    names = {
        entry[1]: territories.get(entry[1]) or module.replace("_", " ").title()
        for module, entry in holiday_tables.registry.COUNTRIES.items()
    }
    return dict(sorted(names.items(), key=lambda item: item[1].casefold()))


@cache
def regions(country: str) -> dict[str, str]:
    """The regions of ``country`` with their own public holidays: code to name."""
    codes = holiday_tables.list_supported_countries().get(country, [])
    if not codes:
        return {}
    aliases = holiday_tables.country_holidays(country).get_subdivision_aliases()
    return {code: ", ".join(aliases.get(code, [])) or code for code in codes}


def region_warning(country: str, subdivision: str) -> str | None:
    """A warning when ``country`` has regional holidays and no region is set."""
    if subdivision or not regions(country):
        return None
    name = countries().get(country, country)
    return _(
        "%(country)s has regional public holidays, and no region is set: only the holidays of "
        "the whole country are skipped, so a working-day deadline may fall on a day your "
        "offices are closed. Choose the region where your offices are.",
        country=name,
    )


def current_choice(session: Session, default: BusinessCalendar) -> HolidayChoice:
    """The admin's choice, else the configuration's country and region with no closing days."""
    row = session.get(HolidaySettings, ROW_ID)
    if row is None:
        return HolidayChoice(
            country=default.country,
            subdivision=default.subdivision or "",
            closing_days=(),
            from_config=True,
        )
    return HolidayChoice(
        country=row.country,
        subdivision=row.subdivision,
        closing_days=tuple(date.fromisoformat(d) for d in row.closing_days.split()),
        from_config=False,
    )


def with_holidays(session: Session, settings: ClockSettings) -> ClockSettings:
    """``settings`` with the calendar of the admin's choice (one small read)."""
    choice = current_choice(session, settings.calendar)
    calendar = _calendar(
        settings.calendar.timezone,
        choice.country,
        choice.subdivision or None,
        frozenset(choice.closing_days),
    )
    return replace(settings, calendar=calendar)


@lru_cache(maxsize=16)
def _calendar(
    timezone: str, country: str, subdivision: str | None, closed: frozenset[date]
) -> BusinessCalendar:
    # The holiday tables fill in year by year as they are read: kept between requests.
    return BusinessCalendar(timezone, country, subdivision, closed=closed)


def parse_closing_days(text: str) -> tuple[date, ...]:
    """ISO dates (2026-12-24), one per line or separated by commas or spaces; sorted, unique."""
    return parse_dates(text, each="closing day", example="2026-12-24", most=MAX_CLOSING_DAYS)


def choose_holidays(
    session: Session,
    country: str,
    subdivision: str,
    closing_days: str,
    *,
    actor_id: int,
    now: datetime,
) -> HolidayChoice:
    """An admin sets the country, region and closing days. Audited; commits once.

    Running deadlines keep their due times; every computation from now on (new deadlines,
    warnings and escalation steps still to come, pauses, extensions) uses the new calendar.
    """
    country = country.strip().upper()
    subdivision = subdivision.strip().upper()
    if country not in countries():
        raise InvalidInputError(_("Choose a country from the list. Nothing was saved."))
    known = {code.upper(): code for code in regions(country)}
    if subdivision and subdivision not in known:
        raise InvalidInputError(
            _(
                "That region is not one of the chosen country's regions; choose one from the "
                "list or leave it empty. Nothing was saved."
            )
        )
    subdivision = known.get(subdivision, "")
    days = parse_closing_days(closing_days)
    row = session.get(HolidaySettings, ROW_ID)
    if row is None:
        before = "the configuration's default"
        row = HolidaySettings(id=ROW_ID, country=country, updated_at=now)
        session.add(row)
    else:
        before = _describe(row.country, row.subdivision, parse_closing_days(row.closing_days))
    row.country = country
    row.subdivision = subdivision
    row.closing_days = "\n".join(d.isoformat() for d in days)
    row.updated_at = now
    audit.record(
        session,
        "holidays_chosen",
        now=now,
        actor_id=actor_id,
        detail=f"{before} -> {_describe(country, subdivision, days)}",
    )
    session.commit()
    return HolidayChoice(country, subdivision, days, from_config=False)


def _describe(country: str, subdivision: str, days: tuple[date, ...]) -> str:
    # The audit detail stays short: the count and the span, or the days themselves when few.
    where = f"{country}/{subdivision or '-'}"
    if not days:
        return f"{where}; no closing days"
    if len(days) <= 5:
        return f"{where}; closing days: " + ", ".join(d.isoformat() for d in days)
    return f"{where}; {len(days)} closing days, {days[0].isoformat()} to {days[-1].isoformat()}"
