"""Open redirect: a link to this site that sends the visitor on to a site of the attacker's.

A sign-in link carrying ``next=https://evil.example`` would lend this site's name to a phishing
page that asks for the password again. The only redirect target taken from a request is the
staff sign-in's ``next``, and it is followed only when it is a path under ``/staff/`` or
``/admin/`` of this site; anything else (another host, a scheme-relative ``//host``, a
backslash trick, ``javascript:``, a line break that would add a header) leads to the staff home
page. Every other redirect is built with ``url_for``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.models import User
from tests.factories import PASSWORD, totp_code
from tests.portal.test_reporter_web import csrf_of

HOSTILE = [
    "https://evil.example/staff/",
    "http://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)//staff/",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\t//evil.example",
    "https:evil.example",
    "/staff/\r\nSet-Cookie: planted=1",
    "/staff/%0d%0aSet-Cookie: planted=1",
    "/staff\\..\\..\\evil.example",
    "evil.example",
]


def sign_in(client: FlaskClient, user: User, target: str) -> object:
    page = client.get("/staff/sign-in").get_data(as_text=True)
    return client.post(
        "/staff/sign-in",
        query_string={"next": target},
        data={
            "csrf_token": csrf_of(page),
            "username": user.username,
            "password": PASSWORD,
            "code": totp_code(user),
        },
    )


def assert_stays_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in {"", "http"} and parts.netloc in {"", "localhost"}, location
    assert parts.path.startswith(("/staff/", "/admin/")), location
    assert not parts.path.startswith(("//", "/\\")), location
    assert "\\" not in location and "\r" not in location and "\n" not in location


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_never_redirects_off_site(
    app: Flask, db: Session, team: dict[str, User], target: str
) -> None:
    # One user per probe, so that each sign-in has an unused one-time code.
    response = sign_in(app.test_client(), team["hanna"], target)
    assert response.status_code == 302  # type: ignore[attr-defined]
    location = response.headers["Location"]  # type: ignore[attr-defined]
    assert_stays_on_site(location)
    assert "evil" not in location
    assert "planted" not in response.headers.get("Set-Cookie", "")  # type: ignore[attr-defined]


def test_a_path_on_this_site_is_followed(app: Flask, db: Session, team: dict[str, User]) -> None:
    response = sign_in(app.test_client(), team["hanna"], "/staff/account")
    assert response.headers["Location"] == "/staff/account"  # type: ignore[attr-defined]


def test_the_sign_in_gate_sends_back_to_the_page_asked_for(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    client = app.test_client()
    gate = client.get("/staff/inbox")
    assert gate.status_code == 302
    assert gate.headers["Location"] == "/staff/sign-in?next=/staff/inbox"
    response = sign_in(client, team["hanna"], "/staff/inbox")
    assert response.headers["Location"] == "/staff/inbox"  # type: ignore[attr-defined]
