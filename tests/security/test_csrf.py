"""Cross-site request forgery: another site makes a signed-in browser post to this one.

Every state change is a POST, and every POST route, taken from the application's URL map rather
than a hand-kept list, refuses a request without a valid CSRF token with the 400 page, before
the view runs: no row in any table changes and no upload stays on disk. A token taken from
another session is refused too, because the token is bound to the session it was issued to.
"""

from __future__ import annotations

import re
from base64 import b64encode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, User
from portal.services import accounts, staff_auth, training, training_records
from portal.timeutil import utcnow
from tests.factories import file_bytes, handler_private_key, make_admin, make_handler
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import URL_VALUES, FiledCase, file_case, reporter_client, row_counts


def post_routes(app: Flask) -> list[str]:
    return sorted(r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or ()))


def fill(rule: str, values: dict[str, str]) -> str:
    path = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: values.get(m.group(1), m.group(0)), rule)
    assert "<" not in path, f"{rule}: give its placeholder a value in this test"
    return path


# Fields every form might read, so that a view that skipped its CSRF check would act on them.
FIELDS: dict[str, object] = {
    "body": "Forged text",
    "kind": "reply",
    "tier": "1",
    "status": "acknowledged",
    "category": "safety",
    "assignee": "1",
    "user_id": "1",
    "reason": "forged",
    "username": "mallory",
    "display_name": "Mallory",
    "level": "1",
    "is_handler": "y",
    "is_admin": "y",
    "password": "a forged password of some length",
    "confirm": "a forged password of some length",
    "current": "correct horse battery staple",
    "code": "123456",
    "receipt_code": "0000 0000 0000 0000",
    "passphrase": "forged",
    "html": "<p>forged</p>",
    "action": "save",
    "saved": "y",
    "policies": "eu-directive",
    "form_token": "forged",
    "q_what_happened": "Forged report",
    "website": "",
    "anonymity": "anonymous",
}


@pytest.fixture
def everything(app: Flask, db: Session) -> tuple[FlaskClient, dict[str, str]]:
    """One browser signed in both as a reporter and as an admin who is also a handler on the
    case, and a value for every URL placeholder."""
    boss = make_admin(db, "boss", also_handler=True)
    hanna = make_handler(db, "hanna")
    filer = app.test_client()
    case: FiledCase = file_case(filer, db, attachments=[file_bytes("proof.txt", b"evidence")])
    client = reporter_client(app, case)
    login = staff_auth._open_session(db, boss, handler_private_key(boss), utcnow(), None)
    db.commit()
    with client.session_transaction() as session:
        session["staff"] = {"t": login.token, "k": b64encode(login.cookie_key).decode()}
    _, token = accounts.invite_user(
        db,
        boss,
        username="newcomer",
        display_name="Newcomer",
        title="",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=[],
        now=utcnow(),
    )
    attachment = db.scalars(select(Attachment.uid)).one()
    # A training requirement and a record, so the training pages' POSTs reach real rows.
    now = utcnow()
    requirement = training.add_requirement(
        db, name="Induction", who="handlers:1", months="24", actor_id=boss.id, now=now
    )
    completion = training_records.record_completion(
        db,
        hanna,
        requirement_id=requirement.id,
        completed_on=now.date(),
        note="",
        today=now.date(),
        actor_id=boss.id,
        now=now,
    )
    values = {
        **URL_VALUES,
        "requirement_id": str(requirement.id),
        "completion_id": str(completion.id),
        "uid": case.uid,
        "attachment_uid": attachment,
        "user_id": str(hanna.id),
        "token": token,
    }
    # The setup is real: this browser does reach the staff and reporter pages.
    assert client.get(f"/staff/cases/{case.uid}").status_code == 200
    assert client.get("/case").status_code == 200
    return client, values


def test_csrf_protection_is_on(app: Flask) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True


def test_there_are_post_routes_to_check(app: Flask) -> None:
    routes = post_routes(app)
    assert "/report" in routes and "/staff/cases/<uid>/notes" in routes
    assert "/admin/users/new" in routes


def assert_refused(
    client: FlaskClient,
    db: Session,
    app: Flask,
    path: str,
    fields: dict[str, object],
) -> None:
    before = row_counts(db)
    response = client.post(
        path,
        data={**fields, "attachments": [file_bytes("forged.txt", b"forged upload")]},
        content_type="multipart/form-data",
    )
    after = row_counts(db)
    text = " ".join(response.get_data(as_text=True).split())
    if path.startswith("/staff/cases/") and path.endswith(("/messages", "/notes", "/template")):
        # A handler's reply or note is never lost: it is kept sealed as a draft for the case
        # page, and nothing is sent or added. Choosing a response template posts the reply
        # form, so its typed text is kept the same way.
        assert response.status_code == 302, path
        assert after["staff_drafts"] == before["staff_drafts"] + 1, path
        after["staff_drafts"] = before["staff_drafts"]
    elif path in ("/report", "/case/messages"):
        # What the reporter typed comes back on the same form, not sent.
        assert response.status_code == 400, path
        assert "was not sent" in text, path
    else:
        assert response.status_code == 400, path
        assert "The form could not be accepted" in text, path
    assert after == before, path
    pending = [p.name for p in app.extensions["candor.attachments"].root.iterdir()]
    assert not [name for name in pending if name.endswith(".part")], path


def test_every_post_route_refuses_a_post_without_a_token(
    app: Flask, db: Session, everything: tuple[FlaskClient, dict[str, str]]
) -> None:
    client, values = everything
    for rule in post_routes(app):
        assert_refused(client, db, app, fill(rule, values), FIELDS)
    # Still signed in: the refusals ended nothing either.
    assert client.get(f"/staff/cases/{values['uid']}").status_code == 200


def test_every_post_route_refuses_a_token_from_another_session(
    app: Flask, db: Session, everything: tuple[FlaskClient, dict[str, str]]
) -> None:
    client, values = everything
    stranger = app.test_client()
    foreign = csrf_of(stranger.get("/check").get_data(as_text=True))
    own = csrf_of(client.get("/check").get_data(as_text=True))
    assert foreign != own
    for rule in post_routes(app):
        assert_refused(client, db, app, fill(rule, values), {**FIELDS, "csrf_token": foreign})
    # A control: the same browser's own token is accepted (a note is added).
    before = row_counts(db)["notes"]
    response = client.post(
        fill("/staff/cases/<uid>/notes", values), data={"csrf_token": own, "body": "Real note"}
    )
    assert response.status_code == 302
    assert row_counts(db)["notes"] == before + 1


def test_a_garbled_token_is_refused(
    app: Flask, db: Session, everything: tuple[FlaskClient, dict[str, str]]
) -> None:
    client, values = everything
    own = csrf_of(client.get("/check").get_data(as_text=True))
    for garbled in (own[:-4] + "AAAA", "", "x" * 500, own.split(".")[0]):
        assert_refused(
            client,
            db,
            app,
            fill("/staff/cases/<uid>/notes", values),
            {**FIELDS, "csrf_token": garbled},
        )
    assert db.scalar(select(User).where(User.username == "mallory")) is None
