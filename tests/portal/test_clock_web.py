"""Both sides see the clock: the reporter's dates and automatic messages, the handler's
deadlines."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, Deadline
from portal.services import clock
from tests.factories import make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report


def test_a_case_left_alone_escalates_and_both_sides_see_it(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    sven = make_handler(db, "sven", level=2)
    code, passphrase = file_report(client)
    case = db.scalars(select(Case)).one()
    ack = db.scalars(select(Deadline).where(Deadline.clock == "acknowledge")).one()

    clock.tick(db, now=ack.due_at + timedelta(minutes=1), settings=app.extensions["candor.clock"])

    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    page = reporter.get("/case").get_data(as_text=True)
    assert "Automatic message" in page and "passed to someone more senior" in page
    assert "We will give you feedback by" in page

    staff = app.test_client()
    sign_in_as(staff, db, sven)
    inbox = staff.get("/staff/inbox?level=2").get_data(as_text=True)
    assert "1 case." in inbox
    case_page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "Acknowledge the report" in case_page
    assert "<td>2</td>" in case_page  # the level the acknowledgement clock drove the case to
    assert "escalated: acknowledge: level 1 -&gt; 2 (deadline passed)" in case_page
    sign_in_as(staff, db, hanna)
    assert "1 case." in staff.get("/staff/inbox?due_soon=0").get_data(as_text=True)
