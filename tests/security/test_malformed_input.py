"""Malformed input: NUL characters and invalid UTF-8 in form fields, query strings and paths.

PostgreSQL refuses a NUL in text, so a NUL that reached a query or a stored value would be a
500 there (and stored as is on SQLite). The site refuses any request with a NUL in its path,
query string or form fields before a view runs, with a 400 page that says what happened and
what to do; nothing is stored. Invalid UTF-8 bytes never reach a query or a row as such: the
request parser turns them into their ``%XX`` escape (urlencoded forms) or U+FFFD (multipart),
so a form is either accepted as valid text or refused with its own message, never a 500.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import Base, Case, User
from tests.factories import make_admin
from tests.portal.test_reporter_web import csrf_of, intake_fields
from tests.security.conftest import URL_VALUES, FiledCase, reporter_client, row_counts, staff_client
from tests.security.test_csrf import FIELDS, fill, post_routes

NUL_TEXT = "a NUL character, which no keyboard types"


@pytest.fixture
def browser(
    app: Flask, db: Session, filed: FiledCase, team: dict[str, User]
) -> tuple[FlaskClient, dict[str, str]]:
    """One browser signed in as the reporter and as an admin who is also a handler."""
    client = reporter_client(app, filed)
    boss = make_admin(db, "boss", also_handler=True)
    staff = staff_client(app, db, boss)
    with staff.session_transaction() as theirs:
        staff_session = dict(theirs)
    with client.session_transaction() as ours:
        ours["staff"] = staff_session["staff"]
    values = {
        **URL_VALUES,
        "uid": filed.uid,
        "attachment_uid": "0" * 32,
        "user_id": str(team["hanna"].id),
        "token": "x" * 43,
    }
    return client, values


def test_a_nul_in_any_field_of_any_form_is_refused(
    app: Flask, db: Session, browser: tuple[FlaskClient, dict[str, str]]
) -> None:
    client, values = browser
    token = csrf_of(client.get("/check").get_data(as_text=True))
    before = row_counts(db)
    for rule in post_routes(app):
        for field in FIELDS:
            data = {**FIELDS, "csrf_token": token, field: f"{FIELDS[field]}\x00"}
            response = client.post(fill(rule, values), data=data)
            assert response.status_code == 400, (rule, field)
            assert NUL_TEXT in response.get_data(as_text=True), (rule, field)
        # A NUL in a field's name, too.
        response = client.post(fill(rule, values), data={"csrf_token": token, "bo\x00dy": "x"})
        assert response.status_code == 400, rule
    assert row_counts(db) == before


def test_a_nul_in_the_intake_form_keeps_nothing(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    client = app.test_client()
    for field in ("q_what_happened", "q_when_where", "name", "contact", "category", "form_token"):
        response = client.post("/report", data=intake_fields(client, **{field: "Depot\x004"}))
        assert response.status_code == 400, field
        assert NUL_TEXT in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def get_routes(app: Flask) -> list[str]:
    return sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and r.endpoint != "static"
    )


def test_a_nul_in_a_query_string_or_path_is_refused(
    app: Flask, db: Session, browser: tuple[FlaskClient, dict[str, str]]
) -> None:
    client, values = browser
    for rule in get_routes(app):
        path = fill(rule, values)
        for query in ("category=%00", "x%00=1", "status=new%00", "key=other_ways%00"):
            response = client.get(f"{path}?{query}")
            assert response.status_code == 400, (rule, query)
            assert NUL_TEXT in response.get_data(as_text=True)
    for path in ("/staff/cases/%00", f"/staff/cases/{values['uid']}%00", "/case/attachments/%00"):
        assert client.get(path).status_code == 400, path


INVALID = ["%FF", "%C3%28", "%ED%A0%80", "%F4%90%80%80", "%C0%AF", "abc%80def"]


def raw_form(fields: dict[str, object], field: str, invalid: str) -> str:
    """An urlencoded body whose ``field`` carries bytes that are not valid UTF-8."""
    parts = [f"{quote(k)}={quote(str(v))}" for k, v in fields.items() if k != field]
    return "&".join([*parts, f"{quote(field)}=Depot{invalid}4"])


@pytest.mark.parametrize("invalid", INVALID)
def test_invalid_utf8_never_gives_a_500(
    app: Flask, db: Session, browser: tuple[FlaskClient, dict[str, str]], invalid: str
) -> None:
    client, values = browser
    token = csrf_of(client.get("/check").get_data(as_text=True))
    form = {**FIELDS, "csrf_token": token}
    for rule in post_routes(app):
        for field in ("body", "username", "display_name", "html", "receipt_code", "email"):
            response = client.post(
                fill(rule, values),
                data=raw_form(form, field, invalid),
                content_type="application/x-www-form-urlencoded",
            )
            assert response.status_code < 500, (rule, field)
    for rule in get_routes(app):
        response = client.get(f"{fill(rule, values)}?category={invalid}&status={invalid}")
        assert response.status_code < 500, rule
    # Whatever was stored is valid text: every row of every table reads back on this backend.
    db.expire_all()
    for table in Base.metadata.sorted_tables:
        for row in db.execute(table.select()).all():
            for value in row:
                if isinstance(value, str):
                    value.encode("utf-8")


def test_invalid_utf8_in_a_report_is_filed_as_valid_text(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    client = app.test_client()
    response = client.post(
        "/report",
        data=raw_form(intake_fields(client), "q_when_where", "%FF%FE"),
        content_type="application/x-www-form-urlencoded",
        follow_redirects=True,
    )
    assert response.status_code == 200
    handler = staff_client(app, db, team["hanna"])
    uid = db.scalars(select(Case.uid)).one()
    page = handler.get(f"/staff/cases/{uid}").get_data(as_text=True)
    assert "Depot%FF%FE4" in page


def test_invalid_utf8_in_a_multipart_form_is_filed_as_valid_text(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    client = app.test_client()
    boundary = "candorboundary"
    fields = intake_fields(client)
    del fields["q_when_where"]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="q_when_where"\r\n\r\n'.encode()
        + b"Depot\xff\xfe4\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/report",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        follow_redirects=True,
    )
    assert response.status_code == 200
    handler = staff_client(app, db, team["hanna"])
    uid = db.scalars(select(Case.uid)).one()
    page = handler.get(f"/staff/cases/{uid}").get_data(as_text=True)
    assert "Depot\ufffd\ufffd4" in page
