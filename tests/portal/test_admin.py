from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, CaseKeyGrant, User
from portal.services import accounts
from tests.factories import approve_pending, make_admin, make_handler, sign_in_as

LINK = re.compile(r"http://localhost/staff/activate/([A-Za-z0-9_-]+)")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found
    return found.group(1)


def post_form(client: FlaskClient, path: str, **fields: object) -> tuple[int, str, str]:
    """GET ``path`` for its CSRF token, then POST ``fields`` to it: (status, body, location)."""
    token = csrf_of(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **fields})
    return response.status_code, response.get_data(as_text=True), response.location or ""


def audit_actions(db: Session, subject: User | None = None) -> list[str]:
    query = select(AuditEntry.action).order_by(AuditEntry.id)
    if subject is not None:
        query = query.where(AuditEntry.subject_id == subject.id)
    return list(db.scalars(query))


def fresh(db: Session, user: User) -> User:
    """The account as the app left it (the app commits through its own session)."""
    db.expire_all()
    return db.get_one(User, user.id)


@pytest.fixture
def admin(client: FlaskClient, db: Session) -> User:
    user = make_admin(db)
    sign_in_as(client, db, user)
    return user


@pytest.fixture
def hanna(db: Session) -> User:
    return make_handler(db, "hanna", categories=("fraud",))


def test_an_admin_invites_a_handler_and_sees_the_link_once(
    client: FlaskClient, db: Session, admin: User
) -> None:
    status, page, _ = post_form(
        client,
        "/admin/users/new",
        username="Otto",
        display_name="Otto Berg",
        title="Compliance officer",
        level="2",
        is_handler="y",
        categories=["safety"],
    )
    assert status == 200, page
    found = LINK.search(page)
    assert found, page
    token = found.group(1)
    assert "shown only this once" in page

    user = db.scalars(select(User).where(User.username == "otto")).one()
    # Nobody receives reports on one admin's word: the handler role waits for a second person.
    assert "until a second person approves" in page
    assert (user.display_name, user.is_handler, user.is_admin) == ("Otto Berg", False, False)
    approve_pending(db, user, make_admin(db, "second"))
    user = fresh(db, user)
    assert (user.level, user.is_handler) == (2, True)
    assert accounts.user_categories(db, user.id) == ["safety"]
    assert accounts.find_invited(db, token, user.created_at) is not None
    assert "account_invited" in audit_actions(db, user)

    listing = client.get("/admin/users").get_data(as_text=True)
    assert "otto" in listing and "Otto Berg" in listing
    assert "Waiting for activation" in listing
    assert token not in listing
    assert token not in client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    # The link leads to the activation page.
    assert client.application.test_client().get(found.group(0)).status_code == 200


def test_an_invitation_with_a_taken_username_is_refused(
    client: FlaskClient, db: Session, admin: User, hanna: User
) -> None:
    status, page, _ = post_form(
        client,
        "/admin/users/new",
        username="hanna",
        display_name="Another",
        level="1",
        is_handler="y",
    )
    assert status == 400
    assert "is taken" in page
    assert not LINK.search(page)


def test_editing_changes_level_title_and_categories(
    client: FlaskClient, db: Session, admin: User, hanna: User
) -> None:
    page = client.get(f"/admin/users/{hanna.id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]* value="fraud"', page)
    assert not re.search(r'<input checked[^>]* value="safety"', page)

    status, _, location = post_form(
        client,
        f"/admin/users/{hanna.id}",
        display_name="Hanna Kurz",
        title="Head of compliance",
        level="3",
        is_handler="y",
        categories=["fraud", "safety"],
    )
    assert status == 302 and location.endswith("/admin/users")
    user = fresh(db, hanna)
    # The name and title apply at once; the wider categories and level wait for a second person.
    assert (user.display_name, user.title, user.level) == ("Hanna Kurz", "Head of compliance", 1)
    assert accounts.user_categories(db, user.id) == ["fraud"]
    approve_pending(db, user, make_handler(db, "sven", level=2))
    user = fresh(db, hanna)
    assert user.level == 3
    assert accounts.user_categories(db, user.id) == ["fraud", "safety"]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "account_updated")).one()
    assert (entry.actor_id, entry.subject_id) == (admin.id, hanna.id)
    assert "level" in entry.detail and "categories" in entry.detail
    # No category ticked means every category.
    post_form(client, f"/admin/users/{hanna.id}", display_name="Hanna", level="1", is_handler="y")
    approve_pending(db, hanna, make_admin(db, "second"))
    assert accounts.user_categories(db, hanna.id) == []
    assert "All categories" in client.get("/admin/users").get_data(as_text=True)
    assert client.get("/admin/users/999999").status_code == 404


def test_an_admin_cannot_remove_their_own_admin_flag(
    client: FlaskClient, db: Session, admin: User
) -> None:
    status, page, _ = post_form(
        client, f"/admin/users/{admin.id}", display_name="Admin", level="1", is_handler="y"
    )
    assert status == 400
    assert "own admin rights" in page
    assert fresh(db, admin).is_admin
    assert "account_updated" not in audit_actions(db)


def test_deactivation_needs_confirmation_and_ends_the_sessions(
    client: FlaskClient, app: Flask, db: Session, admin: User, hanna: User
) -> None:
    hanna_client = app.test_client()
    sign_in_as(hanna_client, db, hanna)
    assert hanna_client.get("/staff/account").status_code == 200

    page = client.get(f"/admin/users/{hanna.id}/deactivate").get_data(as_text=True)
    assert "can no longer sign in" in page
    assert fresh(db, hanna).active
    # The POST does nothing without the confirmation field that the page sends.
    token = csrf_of(page)
    refused = client.post(f"/admin/users/{hanna.id}/deactivate", data={"csrf_token": token})
    assert refused.status_code == 400
    assert fresh(db, hanna).active

    confirmed = client.post(
        f"/admin/users/{hanna.id}/deactivate", data={"csrf_token": token, "confirm": "yes"}
    )
    assert confirmed.status_code == 302
    assert not fresh(db, hanna).active
    assert "account_deactivated" in audit_actions(db, hanna)
    after = hanna_client.get("/staff/account")
    assert after.status_code == 302
    assert "/staff/sign-in" in (after.location or "")
    assert "Deactivated" in client.get("/admin/users").get_data(as_text=True)


def test_an_admin_cannot_deactivate_themselves(
    client: FlaskClient, db: Session, admin: User
) -> None:
    status, page, _ = post_form(client, f"/admin/users/{admin.id}/deactivate", confirm="yes")
    assert status == 400
    assert "your own account" in page
    assert fresh(db, admin).active


def test_resetting_the_second_factor_clears_the_secret(
    client: FlaskClient, db: Session, admin: User, hanna: User
) -> None:
    assert hanna.totp_wrapped_secret is not None
    status, page, _ = post_form(
        client, f"/admin/users/{hanna.id}/reset-second-factor", confirm="yes"
    )
    assert status == 200
    assert re.search(r"http://localhost/staff/re-enrol/[A-Za-z0-9_-]+", page)
    user = fresh(db, hanna)
    assert user.totp_wrapped_secret is None
    assert user.activation_lookup is not None
    assert user.password_wrapped_key is not None
    assert "second_factor_reset" in audit_actions(db, hanna)


def file_report(app: Flask, category: str = "fraud") -> None:
    """File a report as a reporter would, so that the handlers hold grants to its case key."""
    reporter = app.test_client()
    page = reporter.get("/report").get_data(as_text=True)
    form_token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert form_token
    response = reporter.post(
        "/report",
        data={
            "csrf_token": csrf_of(page),
            "form_token": form_token.group(1),
            "category": category,
            "tier": "3",
            "anonymity": "anonymous",
            "q_what_happened": "Invoices are paid twice.",
            "website": "",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)


def test_reset_without_recovery_warns_first_then_drops_the_grants(
    client: FlaskClient, app: Flask, db: Session, admin: User, hanna: User
) -> None:
    file_report(app)
    grants = select(func.count()).select_from(CaseKeyGrant).where(CaseKeyGrant.user_id == hanna.id)
    assert db.scalar(grants) == 1

    page = client.get(f"/admin/users/{hanna.id}/reset-without-recovery").get_data(as_text=True)
    assert "loses access to every existing case until a colleague" in page
    assert db.scalar(grants) == 1

    status, done, _ = post_form(
        client, f"/admin/users/{hanna.id}/reset-without-recovery", confirm="yes"
    )
    assert status == 200
    assert LINK.search(done)
    db.expire_all()
    assert db.scalar(grants) == 0
    user = fresh(db, hanna)
    assert not user.activated and user.public_key is None
    assert "account_reset" in audit_actions(db, hanna)
    assert "Waiting for activation" in client.get("/admin/users").get_data(as_text=True)


def test_a_handler_who_is_not_an_admin_is_refused(
    client: FlaskClient, db: Session, hanna: User
) -> None:
    sign_in_as(client, db, hanna)
    for path in ("/admin/users", "/admin/users/new", "/admin/texts", "/admin/categories"):
        assert client.get(path).status_code == 403, path


def test_nobody_signed_in_is_sent_to_the_sign_in_page(client: FlaskClient, db: Session) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/staff/sign-in" in (response.location or "")


def test_a_post_without_a_csrf_token_is_refused(
    client: FlaskClient, db: Session, admin: User
) -> None:
    response = client.post(
        "/admin/users/new",
        data={"username": "mallory", "display_name": "M", "level": "1", "is_handler": "y"},
    )
    assert response.status_code == 400
    assert db.scalar(select(User).where(User.username == "mallory")) is None


def test_site_text_is_sanitised_and_shows_on_the_start_page(
    client: FlaskClient, db: Session, admin: User
) -> None:
    html = (
        '<p>Call the <a href="https://authority.example/report">national authority</a>.</p>'
        '<script>alert("x")</script><img src=x onerror="alert(1)">'
    )
    page = client.get("/admin/texts").get_data(as_text=True)
    assert "Only simple formatting is kept" in page

    status, preview, _ = post_form(client, "/admin/texts", html=html, action="preview")
    assert status == 200
    assert '<a href="https://authority.example/report">national authority</a>' in preview
    assert "Preview (not saved yet)" in preview
    assert "site_text_changed" not in audit_actions(db)

    status, _, _ = post_form(client, "/admin/texts", html=html, action="save")
    assert status == 302
    landing = client.get("/").get_data(as_text=True)
    assert '<a href="https://authority.example/report">national authority</a>' in landing
    assert "<script" not in landing and "<img" not in landing and "onerror" not in landing
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "site_text_changed")).one()
    assert (entry.actor_id, entry.detail) == (admin.id, "other_ways")


def test_the_categories_page_lists_who_receives_each_category(
    client: FlaskClient, db: Session, admin: User, hanna: User
) -> None:
    make_handler(db, "sven", level=2)
    page = client.get("/admin/categories").get_data(as_text=True)
    fraud, safety = page.split("<td>Safety", 1)
    assert "Hanna" in fraud and "Sven" in fraud
    assert "Hanna" not in safety and "Sven" in safety
    assert "eu-directive" in page
