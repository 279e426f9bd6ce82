"""Cookie theft and cookie reading: a script, another site or a network observer gets the cookie.

The session cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's request
carries it), Path=/ and Secure when the site is served over HTTPS. Its content is signed but
readable, so it never holds a secret in the clear: a reporter's cookie holds a session reference
and the random key that unwraps the case key held on the server, never the receipt code or the
passphrase; a staff cookie never holds the password or the one-time code secret.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal import create_app
from portal.models import User
from tests.conftest import make_config
from tests.factories import PASSWORD, TOTP_SECRETS, make_handler, totp_code
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import FiledCase, file_case

COOKIE = "session"


def set_cookie_header(response: object) -> SimpleCookie:
    headers = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]  # type: ignore[attr-defined]
    assert headers, "the response set no cookie"
    jar: SimpleCookie = SimpleCookie()
    for header in headers:
        jar.load(header)
    return jar


def assert_flags(response: object, *, secure: bool) -> None:
    jar = set_cookie_header(response)
    assert COOKIE in jar
    morsel = jar[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() in {"lax", "strict"}
    assert morsel["path"] == "/"
    assert bool(morsel["secure"]) is secure


def sign_in_reporter(client: FlaskClient, case: FiledCase) -> object:
    page = client.get("/check").get_data(as_text=True)
    response = client.post(
        "/check",
        data={
            "csrf_token": csrf_of(page),
            "receipt_code": case.receipt_code,
            "passphrase": case.passphrase,
        },
    )
    assert response.status_code == 302
    return response


def sign_in_staff(client: FlaskClient, db: Session) -> object:
    hanna = db.scalar(select(User).where(User.username == "hanna")) or make_handler(db, "hanna")
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post(
        "/staff/sign-in",
        data={
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "password": PASSWORD,
            "code": totp_code(hanna),
        },
    )
    assert response.status_code == 302
    return response


def decoded_session(app: Flask, client: FlaskClient) -> tuple[str, dict[str, object]]:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return cookie.value, dict(serializer.loads(cookie.value))


def test_reporter_cookie_flags_over_http(app: Flask, db: Session, filed: FiledCase) -> None:
    client = app.test_client()
    assert_flags(sign_in_reporter(client, filed), secure=False)


def test_staff_cookie_flags_over_http(app: Flask, db: Session) -> None:
    client = app.test_client()
    assert_flags(sign_in_staff(client, db), secure=False)


@pytest.fixture
def https_app(database: tuple[str, sessionmaker[Session]], tmp_path: Path) -> Flask:
    config = make_config(database[0], tmp_path, site__base_url="https://candor.example")
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = database[1]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    return app


def https_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def test_cookies_are_secure_when_the_site_is_served_over_https(
    https_app: Flask, db: Session, team: object
) -> None:
    client = https_client(https_app)
    case = file_case(client, db)
    assert_flags(https_client(https_app).get("/check"), secure=True)
    assert_flags(sign_in_reporter(client, case), secure=True)
    staff = https_client(https_app)
    assert_flags(sign_in_staff(staff, db), secure=True)


def test_reporter_cookie_holds_a_reference_and_no_secret(
    app: Flask, db: Session, filed: FiledCase
) -> None:
    client = app.test_client()
    sign_in_reporter(client, filed)
    raw, content = decoded_session(app, client)
    assert set(content) == {"reporter"}
    reporter = content["reporter"]
    assert isinstance(reporter, dict) and set(reporter) == {"t", "k"}
    text = json.dumps(content)
    digits = filed.receipt_code.replace(" ", "")
    for secret in (filed.receipt_code, digits, filed.passphrase, *filed.passphrase.split()):
        assert secret not in text and secret not in raw
    # A control: the reference does work, so this is the cookie that opens the case.
    assert client.get("/case").status_code == 200


def test_staff_cookie_holds_a_reference_and_no_secret(app: Flask, db: Session) -> None:
    client = app.test_client()
    sign_in_staff(client, db)
    raw, content = decoded_session(app, client)
    assert "staff" in content
    staff = content["staff"]
    assert isinstance(staff, dict) and set(staff) == {"t", "k"}
    text = json.dumps(content)
    for secret in (PASSWORD, TOTP_SECRETS["hanna"]):
        assert secret not in text and secret not in raw
    assert client.get("/staff/inbox").status_code == 200
