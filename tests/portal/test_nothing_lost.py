"""What a person typed or was shown once survives an ended session, an expired form and Back."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.models import Case, Message, StaffDraft, StaffSession, User
from portal.timeutil import utcnow
from tests.factories import PASSWORD, make_handler, totp_code
from tests.portal.test_reporter_web import csrf_of, file_report, intake_fields, receipt_of

FOLLOW_UP = "The second ledger is in the blue folder, shelf three."
REPLY = "Thank you. Could you tell us who signed the second ledger?"


@pytest.fixture
def hanna(db: Session) -> User:
    return make_handler(db, "hanna")


def sign_in_reporter(client: FlaskClient, code: str, passphrase: str, draft: str = "") -> str:
    page = client.get("/check").get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": passphrase}
    if draft:
        data["draft"] = draft
    response = client.post("/check", data=data, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_follow_up_survives_a_lost_session_cookie(app: Flask, db: Session, hanna: User) -> None:
    filer = app.test_client()
    code, passphrase = file_report(filer)
    # A browser restarted: no cookie, so neither a session nor a CSRF token.
    fresh = app.test_client()
    response = fresh.post("/case/messages", data={"body": FOLLOW_UP})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your session has ended" in page
    assert FOLLOW_UP in page  # kept in the sign-in form as the draft
    draft = re.search(r'name="draft"[^>]*>([^<]*)</textarea>', page)
    assert draft and draft.group(1) == FOLLOW_UP
    case_page = sign_in_reporter(fresh, code, passphrase, draft=draft.group(1))
    assert FOLLOW_UP in case_page
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_follow_up_survives_an_expired_form(app: Flask, db: Session, hanna: User) -> None:
    client = app.test_client()
    code, passphrase = file_report(client)
    sign_in_reporter(client, code, passphrase)
    response = client.post("/case/messages", data={"csrf_token": "expired", "body": FOLLOW_UP})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "was not sent" in page and FOLLOW_UP in page


def test_intake_form_keeps_the_answers_when_its_token_expired(
    client: FlaskClient, hanna: User
) -> None:
    fields = intake_fields(client)
    fields["csrf_token"] = "expired"
    fields["attachments"] = [(io.BytesIO(b"ledger page 12"), "ledger.txt")]
    response = client.post("/report", data=fields, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "kept below" in page
    assert "files are not kept: choose them again" in page
    assert fields["q_what_happened"] in page
    assert fields["form_token"] in page  # the same form: a second post still opens one case


def _signed_in_handler(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post(
        "/staff/sign-in",
        data={
            "csrf_token": csrf_of(page),
            "username": user.username,
            "password": PASSWORD,
            "code": totp_code(user),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_handler_reply_survives_an_ended_session_sealed(
    app: Flask, db: Session, hanna: User
) -> None:
    file_report(app.test_client())
    case = db.scalars(select(Case)).one()
    url = f"/staff/cases/{case.uid}"
    staff = _signed_in_handler(app, hanna)
    page = staff.get(url).get_data(as_text=True)
    token = csrf_of(page)
    # The session ends while the handler types (idle time, or signed out elsewhere).
    db.execute(delete(StaffSession))
    db.commit()
    response = staff.post(url + "/messages", data={"csrf_token": token, "body": REPLY})
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    kept = db.scalars(select(StaffDraft)).one()
    assert REPLY.encode() not in kept.sealed_body
    assert db.scalar(select(func.count()).select_from(Message)) == 0

    # Signing in again (the sign-in form clears the cookie) brings the text back, once.
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    response = staff.post(
        response.headers["Location"],
        data={
            "csrf_token": csrf_of(page),
            "username": hanna.username,
            "password": PASSWORD,
            # The next time step: the first code was used up by the first sign-in.
            "code": totp_code(hanna, utcnow() + timedelta(seconds=30)),
        },
    )
    assert response.status_code == 302
    case_page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your unsent message was kept" in case_page
    assert f">{REPLY}</textarea>" in case_page
    assert db.scalar(select(func.count()).select_from(StaffDraft)) == 0
    assert REPLY not in staff.get(url).get_data(as_text=True)


def test_handler_note_survives_an_expired_form(app: Flask, db: Session, hanna: User) -> None:
    file_report(app.test_client())
    case = db.scalars(select(Case)).one()
    url = f"/staff/cases/{case.uid}"
    staff = _signed_in_handler(app, hanna)
    note = "Call the depot manager on Monday."
    response = staff.post(url + "/notes", data={"csrf_token": "expired", "body": note})
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    case_page = staff.get(url).get_data(as_text=True)
    assert "Your unsent note was kept" in case_page and f">{note}</textarea>" in case_page


def test_receipt_is_a_page_that_back_forward_and_reload_show_again(
    client: FlaskClient, db: Session, hanna: User
) -> None:
    fields = intake_fields(client)
    response = client.post("/report", data=fields)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/report/receipt")
    first = client.get("/report/receipt").get_data(as_text=True)
    again = client.get("/report/receipt").get_data(as_text=True)  # Reload, or Back then Forward
    assert receipt_of(first) == receipt_of(again)
    # Posting the same form again (a resubmission) shows the same receipt, not a second case.
    assert client.post("/report", data=fields).status_code == 303
    assert receipt_of(client.get("/report/receipt").get_data(as_text=True)) == receipt_of(first)
    assert db.scalar(select(func.count()).select_from(Case)) == 1
    done = client.post(
        "/report/receipt",
        data={
            "csrf_token": csrf_of(first),
            "form_token": fields["form_token"],
            "action": "saved",
            "saved": "y",
        },
    )
    assert done.status_code == 302
    gone = client.get("/report/receipt")
    assert gone.status_code == 404
    assert "There is no receipt to show" in gone.get_data(as_text=True)
