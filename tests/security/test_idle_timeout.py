"""Idle sessions: a browser left open on a shared or seized computer still holds a session.

Reporter and staff sessions end on the server after the configured idle time (30 minutes in
the tests); the next request is refused and says why. A reporter who was typing a follow-up
when the session ended does not lose it: the sign-in page shows the typed text, and signing in
again puts it back into the message form. Time is driven by a fixed clock, never by sleeping.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import Message, ReporterSession, StaffSession, User
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import (
    FiledCase,
    WebClock,
    file_case,
    reporter_client,
    staff_client,
)

IDLE = timedelta(minutes=30)
DRAFT = "The shredder ran all night on Friday; I kept one folder."


def test_reporter_session_ends_after_the_idle_time_and_keeps_the_draft(
    app: Flask, db: Session, team: dict[str, User], web_clock: WebClock
) -> None:
    case: FiledCase = file_case(app.test_client(), db)
    client = reporter_client(app, case)
    web_clock.advance(IDLE - timedelta(minutes=1))
    page = client.get("/case")
    assert page.status_code == 200  # activity renews the session
    web_clock.advance(IDLE + timedelta(seconds=1))
    messages = db.scalar(select(func.count()).select_from(Message))
    response = client.post(
        "/case/messages", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "body": DRAFT}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "inactivity" in html
    assert DRAFT in html and 'name="draft"' in html
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Message)) == messages
    assert db.scalars(select(ReporterSession)).all() == []
    # Signing in again with the draft shows the case with the message still in the form.
    again = client.post(
        "/check",
        data={
            "csrf_token": csrf_of(html),
            "receipt_code": case.receipt_code,
            "passphrase": case.passphrase,
            "draft": DRAFT,
        },
    )
    assert again.status_code == 200, again.get_data(as_text=True)
    assert re.search(
        rf'<textarea[^>]*\bid="body"[^>]*>\s*{re.escape(DRAFT)}</textarea>', again.text
    )


def test_reporter_session_ends_for_reading_too(
    app: Flask, db: Session, filed: FiledCase, web_clock: WebClock
) -> None:
    client = reporter_client(app, filed)
    web_clock.advance(IDLE + timedelta(seconds=1))
    response = client.get("/case")
    assert response.status_code == 401
    assert "inactivity" in response.get_data(as_text=True)
    assert client.get("/case").status_code == 302  # the cookie was cleared too


def test_staff_session_ends_after_the_idle_time(
    app: Flask, db: Session, team: dict[str, User], web_clock: WebClock
) -> None:
    client = staff_client(app, db, team["hanna"])
    web_clock.advance(IDLE - timedelta(minutes=1))
    assert client.get("/staff/inbox").status_code == 200
    web_clock.advance(IDLE - timedelta(minutes=1))
    assert client.get("/staff/inbox").status_code == 200
    web_clock.advance(IDLE + timedelta(seconds=1))
    response = client.get("/staff/inbox", follow_redirects=True)
    assert "/staff/sign-in" in response.request.path
    assert "inactivity" in response.get_data(as_text=True)
    db.expire_all()
    assert db.scalars(select(StaffSession)).all() == []
