"""What the organisation is waiting for, or owes next: the first thing the reporter's case page
says (services/reporting/awaited.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.models import Case, CaseStatus, Deadline, DeadlineState, User
from portal.services import casework, clock
from portal.services.reporting.awaited import Awaited, Awaiting, awaited
from tests.factories import handler_private_key, make_handler
from tests.portal.services.test_clock import T0, act, file_case
from tests.portal.test_oral_reports import record
from tests.portal.test_reporter_web import csrf_of, file_report, sign_in
from tests.web_clock import WebClock, web_clock

__all__ = ["web_clock"]  # the fixture, shared with the visits tests

HOUR = timedelta(hours=1)


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    settings: clock.ClockSettings = app.extensions["candor.clock"]
    return settings


@pytest.fixture
def hanna(db: Session) -> User:
    return make_handler(db, "hanna")


def reporter_writes(db: Session, app: Flask, case: Case, now: datetime) -> None:
    clock.reporter_writes(
        db,
        case,
        "Here is the answer.",
        store=app.extensions["candor.attachments"],
        now=now,
        settings=app.extensions["candor.clock"],
    )


def test_a_new_report_waits_for_the_acknowledgement(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    assert awaited(db, case, now=T0 + HOUR) == Awaited(
        Awaiting.DUE, what="acknowledge your report", at=T0 + timedelta(days=7)
    )


def test_after_the_acknowledgement_feedback_is_due(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    act(db, hanna, case, "acknowledge", T0 + HOUR, settings, app)
    found = awaited(db, case, now=T0 + 2 * HOUR)
    assert (found.awaiting, found.what) == (Awaiting.DUE, "give you feedback")
    assert found.at is not None and found.at > T0 + timedelta(days=80)


def test_an_unanswered_question_comes_first_until_the_reporter_replies(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    asked_at = T0 + 3 * HOUR
    act(db, hanna, case, "request_info", asked_at, settings, app)
    assert awaited(db, case, now=asked_at + HOUR) == Awaited(Awaiting.QUESTION, at=asked_at)
    reporter_writes(db, app, case, asked_at + 2 * HOUR)
    assert awaited(db, case, now=asked_at + 3 * HOUR).awaiting is Awaiting.DUE


def test_a_later_message_of_the_handlers_that_asks_nothing_ends_the_question(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    act(db, hanna, case, "request_info", T0 + HOUR, settings, app)
    act(db, hanna, case, "reply", T0 + 2 * HOUR, settings, app)
    assert awaited(db, case, now=T0 + 3 * HOUR).awaiting is Awaiting.DUE
    # A second question is a question again, whatever the reporter said before it.
    reporter_writes(db, app, case, T0 + 3 * HOUR)
    act(db, hanna, case, "request_info", T0 + 4 * HOUR, settings, app)
    assert awaited(db, case, now=T0 + 5 * HOUR) == Awaited(Awaiting.QUESTION, at=T0 + 4 * HOUR)


def test_a_deadline_passed_is_said_to_be_late(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    found = awaited(db, case, now=T0 + timedelta(days=8))
    assert found == Awaited(Awaiting.LATE, "acknowledge your report", T0 + timedelta(days=7))


def test_paused_deadlines_are_owed_but_not_dated(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    db.execute(
        update(Deadline).where(Deadline.case_id == case.id).values(state=DeadlineState.PAUSED)
    )
    db.commit()
    found = awaited(db, case, now=T0 + HOUR)
    assert found.awaiting is Awaiting.PAUSED
    assert found.at is None
    assert found.what in ("acknowledge your report", "give you feedback")


def stop_every_clock(db: Session, case: Case) -> None:
    db.execute(
        update(Deadline)
        .where(Deadline.case_id == case.id)
        .values(stopped_at=T0 + HOUR, state=DeadlineState.MET)
    )
    db.commit()


def test_nothing_due_from_anyone_is_said(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    stop_every_clock(db, case)
    assert awaited(db, case, now=T0 + 2 * HOUR) == Awaited(Awaiting.NOTHING)
    case.status = CaseStatus.CLOSED
    db.commit()
    assert awaited(db, case, now=T0 + 2 * HOUR) == Awaited(Awaiting.CLOSED)


def test_closing_the_case_leaves_nothing_due(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.update_case(
        db,
        access,
        tier=case.tier,
        category=case.category,
        status=CaseStatus.CLOSED,
        outcome="withdrawn",
        intake=app.extensions["candor.config"].intake,
        settings=settings,
        now=T0 + HOUR,
    )
    assert awaited(db, case, now=T0 + 2 * HOUR) == Awaited(Awaiting.CLOSED)


def test_minutes_awaiting_the_reporter_come_before_the_deadlines(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = record(db, app, settings, hanna, received=T0 - HOUR, now=T0)
    assert case.minutes_state == "awaiting"
    assert awaited(db, case, now=T0 + HOUR) == Awaited(Awaiting.MINUTES)


# --- the case page --------------------------------------------------------------------------


def awaited_text(html: str) -> str:
    found = re.search(r'<p class="notice awaited".*?</p>', html, re.S)
    assert found, html
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def test_the_case_page_says_first_what_is_awaited(
    client: FlaskClient, db: Session, app: Flask, hanna: User, web_clock: WebClock
) -> None:
    code, passphrase = file_report(client)
    sign_in(client, code, passphrase)
    html = client.get("/case").get_data(as_text=True)
    said = awaited_text(html)
    assert said.startswith("Nothing is needed from you now. Next, we will acknowledge your report")
    assert html.index('class="notice awaited"') < html.index('class="status"')
    case = db.scalars(select(Case)).one()
    settings: clock.ClockSettings = app.extensions["candor.clock"]
    asked_at = datetime(2027, 3, 3, 10, 0, tzinfo=case.received_at.tzinfo)
    web_clock.now = asked_at + HOUR
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=asked_at)
    casework.add_note(db, access, "Escalate this to the board quietly.", now=asked_at)
    act(db, hanna, case, "request_info", asked_at, settings, app)
    sign_in(client, code, passphrase)
    html = client.get("/case").get_data(as_text=True)
    said = awaited_text(html)
    assert said == "The handlers asked you a question on 3 March 2027. Reply below."
    assert 'id="reply"' in html
    # Nothing of the staff side: not who handles it, not the note.
    assert "hanna" not in said.lower() and "board" not in html
    # The reporter answers: then the organisation's next deadline is said again.
    client.post(
        "/case/messages",
        data={"csrf_token": csrf_of(html), "body": "The depot is number 4."},
    )
    assert awaited_text(client.get("/case").get_data(as_text=True)).startswith(
        "Nothing is needed from you now."
    )
