"""Broken access control: reading or changing a case one may not see (IDOR).

Every case page, attachment download and case action opens the case key from the signed-in
handler's own grant. A handler of another category, a handler the reporter excluded, a handler
who recused, and an admin who is not a handler hold no grant and get 404, the same answer as for
a case that does not exist (403 would confirm that it exists), and nothing changes. A reporter's
pages take no case id: the session names the case, so the reporter of case A cannot reach case
B's files or messages. Attachment ids are 128-bit random and looked up within the case only, so a
guessed or borrowed id gets 404. Staff pages, signed out, lead to the sign-in page.
"""

from __future__ import annotations

import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import Attachment, Case, Message, User
from portal.services import casework
from portal.timeutil import utcnow
from tests.factories import file_bytes, handler_private_key, make_admin, make_handler
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import (
    URL_VALUES,
    FiledCase,
    file_case,
    reporter_client,
    row_counts,
    staff_client,
)
from tests.security.test_csrf import FIELDS, fill


def attachment_of(db: Session, case: FiledCase) -> str:
    case_id = db.scalar(select(Case.id).where(Case.uid == case.uid))
    return db.scalars(select(Attachment.uid).where(Attachment.case_id == case_id)).first() or ""


@pytest.fixture
def outsiders(
    app: Flask, db: Session, team: dict[str, User]
) -> tuple[FiledCase, dict[str, FlaskClient]]:
    """A case held by hanna, and one browser for each kind of staff who must not see it."""
    erik = make_handler(db, "erik")
    case = file_case(
        app.test_client(),
        db,
        excluded=[str(erik.id)],
        attachments=[file_bytes("ledger.csv", b"a;b\n1;2\n")],
    )
    sven = team["sven"]
    access = casework.open_case(db, sven, handler_private_key(sven), case.uid)
    casework.recuse(db, access, now=utcnow())
    return case, {
        "handler of another category": staff_client(app, db, team["olga"]),
        "excluded handler": staff_client(app, db, erik),
        "recused handler": staff_client(app, db, sven),
        "admin who is not a handler": staff_client(app, db, make_admin(db)),
    }


def case_rules(app: Flask, method: str) -> list[str]:
    return sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/staff/cases/") and method in (r.methods or ())
    )


def test_staff_without_a_grant_get_404_everywhere_on_the_case(
    app: Flask,
    db: Session,
    team: dict[str, User],
    outsiders: tuple[FiledCase, dict[str, FlaskClient]],
) -> None:
    case, clients = outsiders
    values = {
        **URL_VALUES,
        "uid": case.uid,
        "attachment_uid": attachment_of(db, case),
    }
    # A control: the handler who holds the case gets every page.
    hanna = staff_client(app, db, team["hanna"])
    assert hanna.get(case.url).status_code == 200
    assert hanna.get(fill("/staff/cases/<uid>/attachments/<attachment_uid>", values)).data == (
        b"a;b\n1;2\n"
    )
    assert len(case_rules(app, "POST")) >= 9
    for who, client in clients.items():
        token = csrf_of(client.get("/staff/account").get_data(as_text=True))
        for rule in case_rules(app, "GET"):
            response = client.get(fill(rule, values))
            assert response.status_code == 404, (who, rule)
            assert "ledger.csv" not in response.get_data(as_text=True)
        before = row_counts(db)
        for rule in case_rules(app, "POST"):
            response = client.post(
                fill(rule, values),
                data={**FIELDS, "csrf_token": token, "user_id": str(team["olga"].id)},
            )
            assert response.status_code == 404, (who, rule)
        assert row_counts(db) == before, who
        # The same answer as for a case that does not exist.
        missing = client.get(f"/staff/cases/{secrets.token_hex(16)}")
        assert (missing.status_code, missing.data) == (404, client.get(case.url).data)


def test_a_reporter_cannot_reach_another_case(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    case_a = file_case(app.test_client(), db, attachments=[file_bytes("a.txt", b"case A file")])
    case_b = file_case(app.test_client(), db, attachments=[file_bytes("b.txt", b"case B file")])
    reporter_a = reporter_client(app, case_a)
    assert reporter_a.get(f"/case/attachments/{attachment_of(db, case_a)}").data == b"case A file"
    response = reporter_a.get(f"/case/attachments/{attachment_of(db, case_b)}")
    assert response.status_code == 404
    assert b"case B file" not in response.data
    # Naming case B in a form changes nothing: the session alone says which case it is.
    page = reporter_a.get("/case").get_data(as_text=True)
    reporter_a.post(
        "/case/messages",
        data={
            "csrf_token": csrf_of(page),
            "body": "For case A",
            "uid": case_b.uid,
            "case": case_b.uid,
        },
    )
    case_b_id = db.scalar(select(Case.id).where(Case.uid == case_b.uid))
    db.expire_all()
    assert db.scalar(select(func.count()).where(Message.case_id == case_b_id)) == 0
    assert "For case A" not in reporter_client(app, case_b).get("/case").get_data(as_text=True)
    assert "For case A" in reporter_a.get("/case").get_data(as_text=True)


@pytest.mark.parametrize(
    "guess",
    [
        "0" * 32,
        "ffffffffffffffffffffffffffffffff",
        "deadbeef",
        "..%2F..%2Fetc%2Fpasswd",
        "..",
        "x.part",
        "a" * 5000,
    ],
)
def test_guessed_attachment_ids_get_404(
    app: Flask, db: Session, team: dict[str, User], guess: str
) -> None:
    case = file_case(app.test_client(), db, attachments=[file_bytes("a.txt", b"secret file")])
    reporter = reporter_client(app, case)
    handler = staff_client(app, db, team["hanna"])
    for client, url in (
        (reporter, f"/case/attachments/{guess}"),
        (handler, f"{case.url}/attachments/{guess}"),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"secret file" not in response.data


def test_a_nul_in_an_attachment_id_is_refused(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    case = file_case(app.test_client(), db, attachments=[file_bytes("a.txt", b"secret file")])
    reporter = reporter_client(app, case)
    handler = staff_client(app, db, team["hanna"])
    for client, url in (
        (reporter, "/case/attachments/%00"),
        (handler, f"{case.url}/attachments/{attachment_of(db, case)}%00"),
        (handler, "/staff/cases/%00"),
    ):
        response = client.get(url)
        # PostgreSQL would refuse the NUL in the query with a 500; the site refuses it first.
        assert response.status_code == 400, url
        assert b"secret file" not in response.data


def test_an_attachment_is_reached_only_through_its_own_case(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    case_a = file_case(app.test_client(), db, attachments=[file_bytes("a.txt", b"case A file")])
    case_b = file_case(app.test_client(), db)
    hanna = staff_client(app, db, team["hanna"])
    assert hanna.get(case_b.url).status_code == 200
    response = hanna.get(f"{case_b.url}/attachments/{attachment_of(db, case_a)}")
    assert response.status_code == 404
    assert b"case A file" not in response.data


def staff_rules(app: Flask) -> list[tuple[str, str]]:
    public = {
        "/staff/sign-in",
        "/staff/recover",
        "/staff/activate/<token>",
        "/staff/re-enrol/<token>",
    }
    return sorted(
        (r.rule, method)
        for r in app.url_map.iter_rules()
        if r.rule.startswith(("/staff", "/admin")) and r.rule not in public
        for method in (r.methods or ())
        if method in {"GET", "POST"}
    )


def test_staff_pages_signed_out_lead_to_the_sign_in_page(
    app: Flask, db: Session, filed: FiledCase, team: dict[str, User]
) -> None:
    values = {
        **URL_VALUES,
        "uid": filed.uid,
        "attachment_uid": "0" * 32,
        "user_id": str(team["hanna"].id),
        "token": "x" * 43,
    }
    client = app.test_client()
    token = csrf_of(client.get("/staff/sign-in").get_data(as_text=True))
    rules = staff_rules(app)
    assert len(rules) > 30
    before = row_counts(db)
    for rule, method in rules:
        if method == "GET":
            response = client.get(fill(rule, values))
        else:
            response = client.post(fill(rule, values), data={**FIELDS, "csrf_token": token})
        assert response.status_code == 302, (method, rule)
        assert (response.location or "").startswith("/staff/sign-in"), (method, rule)
    assert row_counts(db) == before
