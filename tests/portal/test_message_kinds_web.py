"""Both the handler's and the reporter's case page say what each message is."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case
from tests.factories import make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report


def kinds(page: str) -> list[str]:
    return re.findall(r'<span class="message-kind">([^<]+)</span>', page)


def test_the_case_pages_say_what_each_message_is(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    code, passphrase = file_report(client)
    case = db.scalars(select(Case)).one()

    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    for kind in ("acknowledge", "request_info", "decision"):
        page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
        response = staff.post(
            f"/staff/cases/{case.uid}/messages",
            data={"csrf_token": csrf_of(page), "kind": kind, "body": f"About {kind}."},
        )
        assert response.status_code in (302, 303)
    page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    said = ["Acknowledgement", "Request for information", "Decision"]
    assert kinds(page) == said
    assert '<details class="audit-trail" id="audit-trail">' in page  # folded: no "open"

    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    reporter.post(
        "/case/messages",
        data={"csrf_token": csrf_of(reporter.get("/case").get_data(as_text=True)), "body": "More."},
    )
    page = reporter.get("/case").get_data(as_text=True)
    assert kinds(page) == said
    # The reporter's own message says so by its author, without a second label.
    assert re.search(r'data-kind="reporter">\s*<header>\s*<strong>You</strong>', page)
