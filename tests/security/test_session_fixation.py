"""Session fixation: an attacker plants a session cookie in a victim's browser before sign-in.

If the site kept using a session id fixed before sign-in, the attacker, who knows it, would be
signed in as the victim afterwards. Reporter and staff sign-in both clear the cookie and open a
server-side session with a new random id (and a new CSRF token); a planted cookie stays worth
nothing. Signing out deletes the server-side row, so a copy of the old cookie opens nothing.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ReporterSession, StaffSession, User
from tests.factories import PASSWORD, totp_code
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import FiledCase

PLANTED_TOKEN = "planted-by-the-attacker"
PLANTED_KEY = b64encode(b"k" * 32).decode()


def cookie_value(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def copy_of(app: Flask, value: str) -> FlaskClient:
    """Another browser holding ``value`` as its session cookie (what an attacker would keep)."""
    other = app.test_client()
    other.set_cookie("session", value, domain="localhost")
    return other


def plant(client: FlaskClient, key: str) -> str:
    """Put a session of the attacker's choosing in ``client``; return the cookie and CSRF token."""
    token = csrf_of(client.get("/check").get_data(as_text=True))
    with client.session_transaction() as session:
        session[key] = {"t": PLANTED_TOKEN, "k": PLANTED_KEY}
    return token


def session_of(client: FlaskClient) -> dict[str, object]:
    with client.session_transaction() as session:
        return dict(session)


def test_reporter_sign_in_replaces_a_planted_session(
    app: Flask, db: Session, filed: FiledCase
) -> None:
    victim = app.test_client()
    planted_csrf = plant(victim, "reporter")
    before = cookie_value(victim)
    response = victim.post(
        "/check",
        data={
            "csrf_token": planted_csrf,
            "receipt_code": filed.receipt_code,
            "passphrase": filed.passphrase,
        },
    )
    assert response.status_code == 302
    after = session_of(victim)
    reporter = after["reporter"]
    assert isinstance(reporter, dict) and reporter["t"] != PLANTED_TOKEN
    assert after.get("csrf_token") is None
    assert cookie_value(victim) != before
    # What the attacker kept opens nothing; the victim's own browser opens the case.
    assert copy_of(app, before).get("/case").status_code in {302, 401}
    assert victim.get("/case").status_code == 200
    assert csrf_of(victim.get("/case").get_data(as_text=True)) != planted_csrf


def test_reporter_sign_in_with_a_draft_replaces_the_planted_csrf_token(
    app: Flask, db: Session, filed: FiledCase
) -> None:
    victim = app.test_client()
    planted_csrf = plant(victim, "reporter")
    response = victim.post(
        "/check",
        data={
            "csrf_token": planted_csrf,
            "receipt_code": filed.receipt_code,
            "passphrase": filed.passphrase,
            "draft": "An unsent message",
        },
    )
    assert response.status_code == 200 and "An unsent message" in response.text
    assert csrf_of(response.text) != planted_csrf
    reporter = session_of(victim)["reporter"]
    assert isinstance(reporter, dict) and reporter["t"] != PLANTED_TOKEN


def test_staff_sign_in_replaces_a_planted_session(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    victim = app.test_client()
    plant(victim, "staff")
    page = victim.get("/staff/sign-in").get_data(as_text=True)
    planted_csrf = csrf_of(page)
    before = cookie_value(victim)
    response = victim.post(
        "/staff/sign-in",
        data={
            "csrf_token": planted_csrf,
            "username": "hanna",
            "password": PASSWORD,
            "code": totp_code(team["hanna"]),
        },
    )
    assert response.status_code == 302
    after = session_of(victim)
    staff = after["staff"]
    assert isinstance(staff, dict) and staff["t"] != PLANTED_TOKEN
    assert after.get("csrf_token") is None
    assert copy_of(app, before).get("/staff/inbox").status_code == 302
    assert victim.get("/staff/inbox").status_code == 200
    assert csrf_of(victim.get("/staff/account").get_data(as_text=True)) != planted_csrf


def token_hash(client: FlaskClient, key: str) -> bytes:
    raw = session_of(client)[key]
    assert isinstance(raw, dict)
    return hashlib.sha256(str(raw["t"]).encode()).digest()


def test_reporter_sign_out_deletes_the_server_side_session(
    app: Flask, db: Session, filed: FiledCase
) -> None:
    client = app.test_client()
    page = client.get("/check").get_data(as_text=True)
    client.post(
        "/check",
        data={
            "csrf_token": csrf_of(page),
            "receipt_code": filed.receipt_code,
            "passphrase": filed.passphrase,
        },
    )
    row_id = token_hash(client, "reporter")
    kept = cookie_value(client)
    assert db.get(ReporterSession, row_id) is not None
    case_page = client.get("/case").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_of(case_page)}).status_code == 200
    db.expire_all()
    assert db.get(ReporterSession, row_id) is None
    assert copy_of(app, kept).get("/case").status_code == 401


def test_staff_sign_out_deletes_the_server_side_session(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    client = app.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    client.post(
        "/staff/sign-in",
        data={
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "password": PASSWORD,
            "code": totp_code(team["hanna"]),
        },
    )
    row_id = token_hash(client, "staff")
    kept = cookie_value(client)
    assert db.get(StaffSession, row_id) is not None
    inbox = client.get("/staff/inbox").get_data(as_text=True)
    assert client.post("/staff/sign-out", data={"csrf_token": csrf_of(inbox)}).status_code == 302
    db.expire_all()
    assert db.get(StaffSession, row_id) is None
    assert db.scalars(select(StaffSession)).all() == []
    assert copy_of(app, kept).get("/staff/inbox").status_code == 302
