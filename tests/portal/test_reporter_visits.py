"""The reporter sees when their case was last opened before this visit, and how often lately, from
a record only their passphrase opens (services/reporting/visits.py)."""

from __future__ import annotations

import re
import struct
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import Case, ReporterSession
from portal.services import intake, oral, reporter_access, tokens
from portal.services.reporting import visits
from portal.services.reporting.visits import VisitFacts, VisitRecord, VisitsSeen
from tests.factories import NOW, make_handler
from tests.portal.test_reporter_web import file_report, sign_in
from tests.web_clock import WebClock, web_clock

__all__ = ["web_clock"]  # the fixed clock every view reads

IDLE = timedelta(minutes=30)
DAY = timedelta(days=1)
TODAY = NOW.date()
WARNING = "The record of your earlier visits could not be read. It may have been altered."
HINT = "someone else may know your receipt code and passphrase"


@pytest.fixture
def handlers(db: Session) -> list[int]:
    return [make_handler(db, "hanna").id]


def submit(db: Session, app: Flask, *, now: datetime = NOW, form: str = "a") -> intake.Receipt:
    config: Config = app.extensions["candor.config"]
    return intake.submit_report(
        db,
        intake.Submission(
            form_token=f"visits-form-token-{form}",
            category="fraud",
            tier=3,
            answers={"what_happened": "Something happened."},
        ),
        intake=config.intake,
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=app.extensions["candor.clock"],
        now=now,
    )


def case_of(db: Session, receipt: intake.Receipt, app: Flask) -> Case:
    pepper = app.extensions["candor.config"].security.receipt_pepper
    lookup = crypto.lookup_hmac(pepper, crypto.normalize_receipt_code(receipt.receipt_code))
    db.expire_all()
    return db.scalars(select(Case).where(Case.receipt_lookup == lookup)).one()


def visit(db: Session, app: Flask, receipt: intake.Receipt, now: datetime) -> VisitFacts | None:
    """Sign in at ``now`` and return what the session says of the earlier visits."""
    pepper = app.extensions["candor.config"].security.receipt_pepper
    login = reporter_access.sign_in(
        db,
        receipt.receipt_code,
        receipt.passphrase,
        pepper=pepper,
        profile=crypto.TEST,
        now=now,
        idle=IDLE,
    )
    return reporter_access.resume(db, login, now=now, idle=IDLE).visits


# --- the record on its own -------------------------------------------------------------------


def test_the_window_counts_the_30_days_that_end_today() -> None:
    record = VisitRecord(
        days={TODAY - 29 * DAY: 2, TODAY - 3 * DAY: 1, TODAY: 1},
        earlier=TODAY - 45 * DAY,
    )
    facts = visits.facts_of(record, TODAY)
    assert facts == VisitFacts(VisitsSeen.KNOWN, last_day=TODAY, recent=4)
    # The next day, the first of those days has left the window.
    assert visits.facts_of(record, TODAY + DAY).recent == 2


def test_days_that_leave_the_window_fold_into_the_last_earlier_day() -> None:
    record = VisitRecord(days={TODAY - 40 * DAY: 1, TODAY - 31 * DAY: 3, TODAY - DAY: 1})
    later = visits.with_visit(record, TODAY)
    assert later == VisitRecord(days={TODAY - DAY: 1, TODAY: 1}, earlier=TODAY - 31 * DAY)
    assert visits.decode(visits.encode(later)) == later


def test_a_record_never_grows_past_30_days() -> None:
    record = VisitRecord()
    for offset in range(100):
        record = visits.with_visit(record, TODAY + offset * DAY)
    assert len(record.days) == 30
    assert record.earlier == TODAY + 69 * DAY
    assert len(visits.encode(record)) <= crypto.visits.MAX_RECORD_SIZE


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02" + bytes(5),  # another version
        struct.pack(">BIB", 1, 0, 1),  # says one day, holds none
        struct.pack(">BIB", 1, 0, 31) + struct.pack(">IH", 739000, 1) * 31,  # too many days
        struct.pack(">BIB", 1, 0, 1) + struct.pack(">IH", 739000, 0),  # a day of no openings
        struct.pack(">BIB", 1, 0, 1) + struct.pack(">IH", 0, 1),  # no such day
    ],
)
def test_a_malformed_record_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        visits.decode(data)


# --- sign-in --------------------------------------------------------------------------------


def test_filing_counts_as_the_first_opening(db: Session, app: Flask, handlers: list[int]) -> None:
    receipt = submit(db, app)
    assert case_of(db, receipt, app).reporter_visits is not None
    facts = visit(db, app, receipt, NOW + DAY)
    assert facts == VisitFacts(VisitsSeen.KNOWN, last_day=TODAY, recent=1)


def test_second_visit_next_day_shows_yesterday_and_one(
    db: Session, app: Flask, handlers: list[int]
) -> None:
    receipt = submit(db, app)
    visit(db, app, receipt, NOW + DAY)
    facts = visit(db, app, receipt, NOW + 2 * DAY)
    assert facts == VisitFacts(VisitsSeen.KNOWN, last_day=TODAY + DAY, recent=2)
    # Twice on one day counts twice, still at day precision.
    facts = visit(db, app, receipt, NOW + 2 * DAY + timedelta(hours=3))
    assert facts == VisitFacts(VisitsSeen.KNOWN, last_day=TODAY + 2 * DAY, recent=3)


def test_the_30_day_window_with_the_fixed_clock(
    db: Session, app: Flask, handlers: list[int]
) -> None:
    receipt = submit(db, app)  # day 0
    visit(db, app, receipt, NOW + 5 * DAY)
    visit(db, app, receipt, NOW + 20 * DAY)
    # Day 34: the filing (day 0) is out of the window, days 5 and 20 are in it.
    assert visit(db, app, receipt, NOW + 34 * DAY) == VisitFacts(
        VisitsSeen.KNOWN, last_day=TODAY + 20 * DAY, recent=2
    )
    # Day 80: nothing in the window; the last day before it is still told.
    assert visit(db, app, receipt, NOW + 80 * DAY) == VisitFacts(
        VisitsSeen.KNOWN, last_day=TODAY + 34 * DAY, recent=0
    )


def test_a_report_recorded_by_a_handler_was_never_opened_by_its_reporter(
    db: Session, app: Flask
) -> None:
    config: Config = app.extensions["candor.config"]
    handler = make_handler(db, "hanna")
    receipt = oral.record_oral_report(
        db,
        oral.OralReport(
            form_token="oral-visits-form-token",
            channel="telephone",
            received_at=NOW - timedelta(hours=2),
            category="fraud",
            tier=3,
            minutes="The caller says the depot manager sells spare parts.",
        ),
        handler=handler,
        intake_config=config.intake,
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=app.extensions["candor.clock"],
        now=NOW,
    )
    assert visit(db, app, receipt, NOW + DAY) == VisitFacts(VisitsSeen.KNOWN, None, 0)
    assert visit(db, app, receipt, NOW + 2 * DAY) == VisitFacts(
        VisitsSeen.KNOWN, last_day=TODAY + DAY, recent=1
    )


def test_a_case_from_before_records_were_kept_starts_one(
    db: Session, app: Flask, handlers: list[int]
) -> None:
    receipt = submit(db, app)
    case_of(db, receipt, app).reporter_visits = None
    db.commit()
    assert visit(db, app, receipt, NOW + DAY) == VisitFacts(VisitsSeen.NOT_KEPT)
    assert visit(db, app, receipt, NOW + 2 * DAY) == VisitFacts(
        VisitsSeen.KNOWN, last_day=TODAY + DAY, recent=1
    )


def forged(db: Session, app: Flask, case: Case) -> bytes:
    return crypto.seal_visits(bytes(32), b"\x01" + bytes(5), b"forged")


def moved(db: Session, app: Flask, case: Case) -> bytes:
    other = case_of(db, submit(db, app, form="other"), app)
    assert other.reporter_visits is not None
    return other.reporter_visits


def truncated(db: Session, app: Flask, case: Case) -> bytes:
    assert case.reporter_visits is not None
    return case.reporter_visits[:-1]


@pytest.mark.parametrize("tamper", [forged, moved, truncated])
def test_a_record_that_does_not_open_warns_and_starts_afresh(
    db: Session, app: Flask, handlers: list[int], tamper: Any
) -> None:
    receipt = submit(db, app)
    visit(db, app, receipt, NOW + DAY)
    case = case_of(db, receipt, app)
    case.reporter_visits = tamper(db, app, case)
    db.commit()
    assert visit(db, app, receipt, NOW + 3 * DAY) == VisitFacts(VisitsSeen.UNREADABLE)
    # A fresh record began with that visit, and opens again.
    assert visit(db, app, receipt, NOW + 4 * DAY) == VisitFacts(
        VisitsSeen.KNOWN, last_day=TODAY + 3 * DAY, recent=1
    )


@pytest.mark.parametrize("wrapped", ["another session's", "flipped"])
def test_the_sessions_facts_open_only_with_their_own_cookie_key(
    db: Session, app: Flask, handlers: list[int], wrapped: str
) -> None:
    receipt = submit(db, app)
    pepper = app.extensions["candor.config"].security.receipt_pepper
    logins = [
        reporter_access.sign_in(
            db,
            receipt.receipt_code,
            receipt.passphrase,
            pepper=pepper,
            profile=crypto.TEST,
            now=NOW + DAY,
            idle=IDLE,
        )
        for _ in range(2)
    ]
    rows = [db.get_one(ReporterSession, tokens.token_hash(login.token)) for login in logins]
    blob = rows[1].wrapped_visits or b""
    if wrapped == "flipped":
        blob = (rows[0].wrapped_visits or b"")[:-1] + b"\x00"
    rows[0].wrapped_visits = blob
    db.commit()
    context = reporter_access.resume(db, logins[0], now=NOW + DAY, idle=IDLE)
    assert context.visits == VisitFacts(VisitsSeen.UNREADABLE)
    # The second sign-in of the day was told of the first.
    assert reporter_access.resume(db, logins[1], now=NOW + DAY, idle=IDLE).visits == VisitFacts(
        VisitsSeen.KNOWN, last_day=TODAY + DAY, recent=2
    )


def test_sign_in_runs_argon2id_once(
    db: Session, app: Flask, handlers: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = []
    real = crypto.kdf.hash_secret_raw

    def counted(**kwargs: Any) -> bytes:
        runs.append(1)
        return real(**kwargs)

    monkeypatch.setattr(crypto.kdf, "hash_secret_raw", counted)
    receipt = submit(db, app)
    assert len(runs) == 1
    visit(db, app, receipt, NOW + DAY)
    assert len(runs) == 2


# --- what a copy of the database holds -------------------------------------------------------


def raw_rows(db: Session, table: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608


def test_a_copy_of_the_database_shows_no_visit_days(
    db: Session, app: Flask, handlers: list[int]
) -> None:
    receipt = submit(db, app)
    lengths = {len(case_of(db, receipt, app).reporter_visits or b"")}
    days = [NOW + offset * DAY for offset in (1, 2, 5, 9)]
    for moment in days:
        visit(db, app, receipt, moment)
        lengths.add(len(case_of(db, receipt, app).reporter_visits or b""))
    assert lengths == {crypto.visits.BLOB_SIZE}
    case_row = raw_rows(db, "cases")[0]
    blob = case_of(db, receipt, app).reporter_visits
    assert blob is not None
    for moment in days:
        for written in (moment.date().isoformat(), moment.strftime("%d.%m.%Y")):
            assert written not in repr(case_row)
        assert struct.pack(">I", moment.date().toordinal()) not in blob
    # The only days of the cases row are the ones it had before (received); none is a visit's.
    assert not any(moment.date().isoformat() in repr(case_row) for moment in days)
    # The sessions keep the facts wrapped, one size whatever they say.
    wrapped = {len(w) for (w,) in db.execute(select(ReporterSession.wrapped_visits))}
    assert len(wrapped) == 1


# --- the case page ---------------------------------------------------------------------------


def visits_text(html: str) -> str:
    found = re.search(r'<section class="visits".*?</section>', html, re.S)
    assert found, html
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def test_the_case_page_tells_the_earlier_visits_for_the_whole_visit(
    client: FlaskClient, handlers: list[int], web_clock: WebClock
) -> None:
    code, passphrase = file_report(client)
    web_clock.now = NOW + DAY
    response = sign_in(client, code, passphrase)
    assert response.status_code == 302  # type: ignore[attr-defined]
    said = visits_text(client.get("/case").get_data(as_text=True))
    assert "Before this visit, your report was last opened on 23 November 2026." in said
    assert "It was opened 1 time in the last 30 days." in said
    assert HINT in said
    # Later in the same visit the page says the same, though the record now holds today.
    web_clock.now = NOW + DAY + timedelta(minutes=10)
    assert visits_text(client.get("/case").get_data(as_text=True)) == said
    # The cookie holds no day.
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert "2026" not in cookie.value
    web_clock.now = NOW + 3 * DAY
    sign_in(client, code, passphrase)
    said = visits_text(client.get("/case").get_data(as_text=True))
    assert "last opened on 24 November 2026." in said
    assert "It was opened 2 times in the last 30 days." in said


def test_the_case_page_warns_of_a_record_that_does_not_open(
    client: FlaskClient, db: Session, handlers: list[int], web_clock: WebClock
) -> None:
    code, passphrase = file_report(client)
    case = db.scalars(select(Case)).one()
    case.reporter_visits = crypto.seal_visits(bytes(32), b"", b"forged")
    db.commit()
    sign_in(client, code, passphrase)
    html = client.get("/case").get_data(as_text=True)
    said = visits_text(html)
    assert WARNING in said
    assert "tell the handlers in a message" in said
    assert "last opened" not in said
    assert 'role="alert"' in html


def test_never_opened_before_says_so(db: Session, app: Flask) -> None:
    with app.test_request_context():
        from flask import render_template

        html = render_template(
            "reporter/_visits.html", visits=VisitFacts(VisitsSeen.KNOWN, None, 0)
        )
    said = visits_text(html)
    assert "never opened: this is the first time you have come back." in said
    assert "It was not opened in the last 30 days." in said


def test_no_record_kept_before_says_so(app: Flask) -> None:
    with app.test_request_context():
        from flask import render_template

        html = render_template("reporter/_visits.html", visits=VisitFacts(VisitsSeen.NOT_KEPT))
    assert "No record of visits was kept for this report before." in visits_text(html)


def test_a_date_alone_is_never_shifted_by_the_sites_time_zone(app: Flask) -> None:
    """The record keeps UTC days; a day is shown as that day, whatever the site's zone."""
    with app.test_request_context():
        from flask import render_template

        html = render_template(
            "reporter/_visits.html", visits=VisitFacts(VisitsSeen.KNOWN, date(2026, 3, 3), 1)
        )
    assert "3 March 2026" in visits_text(html)
