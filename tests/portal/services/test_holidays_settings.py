"""Holidays chosen by an admin: country, region and the organisation's own closing days.

The configuration's ``[clock] country/subdivision`` (DE/BY in the tests) is the default; an
admin's choice, stored in the database and audited, replaces it for every deadline computation.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import i18n
from portal.models import AuditEntry, DeadlineState, HolidaySettings, User
from portal.services import casework, clock
from portal.services.calendar import Duration, Unit
from portal.services.clock import holidays
from portal.services.errors import InvalidInputError
from portal.web import clock_settings
from tests.factories import handler_private_key, make_admin, make_handler, sign_in_as
from tests.portal.services.test_clock import act, deadline, file_case

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.fromisoformat("2026-11-23T09:00:00+00:00")  # a Monday
SECOND = timedelta(seconds=1)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC"))


@pytest.fixture
def base(app: Flask) -> clock.ClockSettings:
    settings: clock.ClockSettings = app.extensions["candor.clock"]
    return settings


@pytest.fixture
def admin(db: Session) -> User:
    user = make_admin(db)
    db.commit()
    return user


def test_without_a_choice_the_configuration_applies(db: Session, base: clock.ClockSettings) -> None:
    choice = clock.current_choice(db, base.calendar)
    assert (choice.country, choice.subdivision, choice.closing_days) == ("DE", "BY", ())
    assert choice.from_config is True
    assert choice.warning is None
    calendar = clock.with_holidays(db, base).calendar
    assert not calendar.is_working_day(date(2027, 1, 6))  # Epiphany, a holiday in Bavaria


def test_an_admin_chooses_country_region_and_closing_days(
    db: Session, base: clock.ClockSettings, admin: User
) -> None:
    choice = clock.choose_holidays(
        db, "de", "be", "2026-12-24\n2026-12-31, 2026-12-24", actor_id=admin.id, now=NOW
    )
    assert (choice.country, choice.subdivision) == ("DE", "BE")
    assert choice.closing_days == (date(2026, 12, 24), date(2026, 12, 31))
    db.expire_all()
    stored = clock.current_choice(db, base.calendar)
    assert stored == replace(choice, from_config=False)
    calendar = clock.with_holidays(db, base).calendar
    assert calendar.is_working_day(date(2027, 1, 6))  # no Epiphany in Berlin
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert not calendar.is_working_day(date(2026, 12, 31))
    assert calendar.is_working_day(date(2026, 12, 30))
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "holidays_chosen")).one()
    assert entry.actor_id == admin.id
    assert entry.detail == (
        "the configuration's default -> DE/BE; closing days: 2026-12-24, 2026-12-31"
    )
    days = "\n".join((date(2027, 1, 1) + timedelta(days=n)).isoformat() for n in range(10))
    clock.choose_holidays(db, "DE", "", days, actor_id=admin.id, now=NOW + SECOND)
    last = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "holidays_chosen").order_by(AuditEntry.id)
    ).all()[-1]
    assert last.detail == (
        "DE/BE; closing days: 2026-12-24, 2026-12-31 -> "
        "DE/-; 10 closing days, 2027-01-01 to 2027-01-10"
    )


def test_extra_closing_dates_are_skipped_by_working_day_deadlines(
    db: Session, base: clock.ClockSettings, admin: User
) -> None:
    start = local("2026-12-21T10:00")  # a Monday
    default_due = clock.with_holidays(db, base).calendar.add(start, Duration(3, Unit.WORKING_DAYS))
    assert default_due == local("2026-12-24T10:00")  # 24 December is no public holiday
    clock.choose_holidays(db, "DE", "BY", "2026-12-24", actor_id=admin.id, now=NOW)
    calendar = clock.with_holidays(db, base).calendar
    # 24 December closed, 25 and 26 December holidays, then the weekend: Monday 28 December.
    assert calendar.add(start, Duration(3, Unit.WORKING_DAYS)) == local("2026-12-28T10:00")


@pytest.mark.parametrize(
    ("country", "subdivision", "closing", "problem"),
    [
        ("XX", "", "", "Choose a country"),
        ("DE", "ZZ", "", "not one of the chosen country's regions"),
        ("DE", "BY", "24.12.2026", "is not a date"),
        ("DE", "BY", "2026-02-30", "is not a date"),
    ],
)
def test_a_wrong_choice_is_refused_and_nothing_is_saved(
    db: Session, admin: User, country: str, subdivision: str, closing: str, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem) as raised:
        clock.choose_holidays(db, country, subdivision, closing, actor_id=admin.id, now=NOW)
    assert "Nothing was saved" in str(raised.value)
    db.rollback()
    assert db.get(HolidaySettings, holidays.ROW_ID) is None


def test_too_many_closing_days_are_refused(db: Session, admin: User) -> None:
    days = "\n".join((date(2027, 1, 1) + timedelta(days=n)).isoformat() for n in range(367))
    with pytest.raises(InvalidInputError, match="at most 366"):
        clock.choose_holidays(db, "DE", "BY", days, actor_id=admin.id, now=NOW)


def test_the_region_warning_appears_only_where_regions_have_holidays() -> None:
    warning = holidays.region_warning("DE", "")
    assert warning is not None and warning.startswith("Germany has regional public holidays")
    assert holidays.region_warning("DE", "BY") is None
    assert holidays.region_warning("IS", "") is None  # Iceland: no regional holidays
    assert "BY" in holidays.regions("DE")
    assert holidays.countries()["DE"] == "Germany"


@pytest.mark.usefixtures("pausable_investigation")
def test_a_running_deadline_uses_the_choice_for_what_is_still_to_come(
    db: Session, app: Flask, base: clock.ClockSettings, admin: User
) -> None:
    hanna = make_handler(db, "hanna")
    db.commit()
    received = local("2026-12-14T10:00")  # a Monday
    settings = clock.with_holidays(db, base)
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=received)
    act(db, hanna, case, "acknowledge", received, settings, app)
    # A pause from Wednesday 23 to Tuesday 29 December counts 23, 24 (and 28) December as
    # working days by default; with 24 and 28 December closed only the 23rd and the 29th count.
    clock.pause(
        db, case, "seed-membership", "investigate", "Waiting", actor=hanna,
        now=local("2026-12-23T10:00"), settings=settings,
    )  # fmt: skip
    clock.choose_holidays(db, "DE", "BY", "2026-12-24\n2026-12-28", actor_id=admin.id, now=NOW)
    chosen = clock.with_holidays(db, base)
    clock.resume(
        db, case, "seed-membership", "investigate", actor=hanna,
        now=local("2026-12-29T10:00"), settings=chosen,
    )  # fmt: skip
    resumed = deadline(db, case, "investigate")
    assert resumed.state is DeadlineState.RUNNING
    assert resumed.paused_seconds == 86400  # 23 December 10:00 to 24:00, 29 December to 10:00


def test_the_request_reads_the_admins_choice(db: Session, app: Flask, admin: User) -> None:
    clock.choose_holidays(db, "DE", "HH", "2027-01-04", actor_id=admin.id, now=NOW)
    with app.test_request_context("/"):
        calendar = clock_settings().calendar
    assert (calendar.country, calendar.subdivision) == ("DE", "HH")
    assert calendar.closed == frozenset({date(2027, 1, 4)})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_admin_page_saves_the_choice_and_warns_without_a_region(
    client: FlaskClient, db: Session, admin: User
) -> None:
    sign_in_as(client, db, admin)
    page = client.get("/admin/holidays").get_data(as_text=True)
    assert "the configuration file" in page and "No region is set" not in page
    assert '<option selected value="DE">Germany (DE)</option>' in page
    token = csrf_of(page)
    refused = client.post("/admin/holidays", data={"country": "DE", "subdivision": ""})
    assert refused.status_code == 400
    assert db.get(HolidaySettings, holidays.ROW_ID) is None
    saved = client.post(
        "/admin/holidays",
        data={
            "csrf_token": token,
            "country": "DE",
            "subdivision": "",
            "closing_days": "2026-12-24",
        },
    )
    assert saved.status_code == 302
    page = client.get("/admin/holidays").get_data(as_text=True)
    assert "No region is set" in page and "Germany has regional public holidays" in page
    assert "2026-12-24" in page
    wrong = client.post(
        "/admin/holidays",
        data={"csrf_token": token, "country": "DE", "subdivision": "BY", "closing_days": "soon"},
    )
    assert wrong.status_code == 400
    assert "is not a date" in wrong.get_data(as_text=True)
    db.expire_all()
    row = db.get_one(HolidaySettings, holidays.ROW_ID)
    assert (row.country, row.subdivision, row.closing_days) == ("DE", "", "2026-12-24")


def test_a_handler_cannot_choose_holidays(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    sign_in_as(client, db, hanna)
    assert client.get("/admin/holidays").status_code in (302, 403, 404)


def test_countries_are_named_in_the_page_language(app: Flask) -> None:
    with app.test_request_context("/admin/holidays?lang=de"):
        i18n.remember_choice()
        names = holidays.countries()
    assert names["DE"] == "Deutschland" and names["AT"] == "Österreich"
    # Sorted by the names as they are written in that language.
    assert list(names.values()) == sorted(names.values(), key=str.casefold)
