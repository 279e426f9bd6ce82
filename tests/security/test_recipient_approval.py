"""Attack: one person makes themselves (or a friend) a recipient of new reports.

An admin, or whoever took over an admin's session, ticks "handler" on their own account, or
widens a handler's categories or level, and from then on every new report is sealed to them.
What the site does: such a change is held as a pending recipient change and nothing of it is in
effect (intake, escalation and grants read only the approved state) until a second person
approves it: another admin, or an active handler at level 2 or above, never the person who asked
and never the account itself. The approver sees before and after in words; request and decision
are both in the audit trail; a rejection leaves everything as it was.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, CaseKeyGrant, RecipientChange, RecipientChangeState, User
from portal.services import accounts, approvals, intake
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_admin import csrf_of, fresh, post_form


def file_report(app: Flask, category: str) -> None:
    """File a report as a reporter would."""
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


def grants_of(db: Session, user: User) -> int:
    db.expire_all()
    query = select(func.count()).select_from(CaseKeyGrant).where(CaseKeyGrant.user_id == user.id)
    return db.scalar(query) or 0


def signed_in(app: Flask, db: Session, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, db, user)
    return client


def pending_change(db: Session, user: User) -> RecipientChange:
    db.expire_all()
    change = approvals.find_pending(db, user.id)
    assert change is not None
    return change


def decide(client: FlaskClient, change: RecipientChange, decision: str) -> tuple[int, str]:
    """POST the confirmation, with a valid CSRF token even for someone who sees no form."""
    token = csrf_of(client.get("/staff/account").get_data(as_text=True))
    response = client.post(
        f"/staff/approvals/{change.id}/{decision}", data={"csrf_token": token, "confirm": "yes"}
    )
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def admin(db: Session) -> User:
    return make_admin(db, "alice")


@pytest.fixture
def alice(app: Flask, db: Session, admin: User) -> FlaskClient:
    return signed_in(app, db, admin)


def test_an_admin_who_makes_itself_a_handler_receives_nothing_until_approved(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    make_handler(db, "hanna")
    status, _, _ = post_form(
        alice,
        f"/admin/users/{admin.id}",
        display_name="Alice",
        level="1",
        is_handler="y",
        is_admin="y",
    )
    assert status == 302
    assert not fresh(db, admin).is_handler
    assert admin.id not in {r.id for r in intake.list_recipients(db, "fraud")}
    file_report(app, "fraud")
    assert grants_of(db, admin) == 0
    # Not even a handler's pages open for the requester meanwhile.
    assert alice.get("/staff/inbox").status_code == 403

    bob = signed_in(app, db, make_admin(db, "bob"))
    assert decide(bob, pending_change(db, admin), "approve")[0] == 302
    assert fresh(db, admin).is_handler
    file_report(app, "fraud")
    assert grants_of(db, admin) == 1


def test_the_same_person_cannot_approve_their_own_request(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    hanna = make_handler(db, "hanna", categories=("fraud",))
    post_form(
        alice,
        f"/admin/users/{hanna.id}",
        display_name="Hanna",
        level="1",
        is_handler="y",
        categories=["fraud", "safety"],
    )
    change = pending_change(db, hanna)
    page = alice.get(f"/staff/approvals/{change.id}/approve")
    assert page.status_code == 403
    assert "You asked for this change" in page.get_data(as_text=True)
    # A forged POST with a valid token from another page is refused just the same.
    token = csrf_of(alice.get(f"/admin/users/{hanna.id}").get_data(as_text=True))
    forged = alice.post(
        f"/staff/approvals/{change.id}/approve", data={"csrf_token": token, "confirm": "yes"}
    )
    assert forged.status_code == 403
    assert pending_change(db, hanna).state is RecipientChangeState.PENDING
    assert accounts.user_categories(db, hanna.id) == ["fraud"]


def test_the_account_being_changed_cannot_approve_its_own_change(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    sven = make_handler(db, "sven", level=2, categories=("fraud",))
    post_form(
        alice,
        f"/admin/users/{sven.id}",
        display_name="Sven",
        level="3",
        is_handler="y",
        categories=["fraud"],
    )
    change = pending_change(db, sven)
    status, page = decide(signed_in(app, db, sven), change, "approve")
    assert status == 403
    assert "your own account" in page
    assert fresh(db, sven).level == 2


def test_a_level_1_handler_cannot_approve(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    hanna = make_handler(db, "hanna", categories=("fraud",))
    post_form(
        alice,
        f"/admin/users/{hanna.id}",
        display_name="Hanna",
        level="1",
        is_handler="y",
        categories=["fraud", "safety"],
    )
    change = pending_change(db, hanna)
    otto = signed_in(app, db, make_handler(db, "otto"))
    assert otto.get("/staff/approvals").status_code == 403
    assert otto.get(f"/staff/approvals/{change.id}/approve").status_code == 403
    token = csrf_of(otto.get("/staff/account").get_data(as_text=True))
    refused = otto.post(
        f"/staff/approvals/{change.id}/approve", data={"csrf_token": token, "confirm": "yes"}
    )
    assert refused.status_code == 403
    assert "Approvals" not in otto.get("/staff/inbox").get_data(as_text=True)
    assert pending_change(db, hanna).state is RecipientChangeState.PENDING


def test_a_handler_gaining_a_category_gets_its_reports_only_after_approval(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    hanna = make_handler(db, "hanna", categories=("fraud",))
    make_handler(db, "sam", categories=("safety",))
    post_form(
        alice,
        f"/admin/users/{hanna.id}",
        display_name="Hanna",
        level="1",
        is_handler="y",
        categories=["fraud", "safety"],
    )
    file_report(app, "safety")
    assert grants_of(db, hanna) == 0

    # A supervisor approves from the staff navigation.
    sven = signed_in(app, db, make_handler(db, "sven", level=2))
    assert 'href="/staff/approvals"' in sven.get("/staff/inbox").get_data(as_text=True)
    assert decide(sven, pending_change(db, hanna), "approve")[0] == 302
    file_report(app, "safety")
    assert grants_of(db, hanna) == 1


def test_rejection_leaves_things_as_they_were(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    hanna = make_handler(db, "hanna", categories=("fraud",))
    make_handler(db, "sam", categories=("safety",))
    post_form(
        alice,
        f"/admin/users/{hanna.id}",
        display_name="Hanna",
        level="2",
        is_handler="y",
    )
    change = pending_change(db, hanna)
    bob = signed_in(app, db, make_admin(db, "bob"))
    assert "Reject this change" in bob.get(f"/staff/approvals/{change.id}/reject").get_data(
        as_text=True
    )
    assert decide(bob, change, "reject")[0] == 302
    user = fresh(db, hanna)
    assert (user.is_handler, user.level) == (True, 1)
    assert accounts.user_categories(db, hanna.id) == ["fraud"]
    assert approvals.find_pending(db, hanna.id) is None
    file_report(app, "safety")
    assert grants_of(db, hanna) == 0
    # A decided change cannot be decided again.
    status, _ = decide(bob, change, "approve")
    assert status == 302
    assert fresh(db, hanna).level == 1


def test_request_and_decision_are_in_the_audit_trail(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    hanna = make_handler(db, "hanna", categories=("fraud",))
    post_form(
        alice,
        f"/admin/users/{hanna.id}",
        display_name="Hanna",
        level="1",
        is_handler="y",
        categories=["fraud", "safety"],
    )
    bob_user = make_admin(db, "bob")
    decide(signed_in(app, db, bob_user), pending_change(db, hanna), "approve")
    db.expire_all()
    entries = {
        e.action: e for e in db.scalars(select(AuditEntry).where(AuditEntry.subject_id == hanna.id))
    }
    requested = entries["recipient_change_requested"]
    approved = entries["recipient_change_approved"]
    assert (requested.actor_id, approved.actor_id) == (admin.id, bob_user.id)
    assert requested.at is not None and approved.at is not None
    assert "fraud -> " in requested.detail and "fraud, safety" in requested.detail
    for entry in (requested, approved):
        assert "127.0.0.1" not in entry.detail


def test_the_approval_page_shows_before_and_after(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    hanna = make_handler(db, "hanna", categories=("fraud",))
    post_form(
        alice,
        f"/admin/users/{hanna.id}",
        display_name="Hanna",
        level="2",
        is_handler="y",
        categories=["fraud", "safety"],
    )
    bob = signed_in(app, db, make_admin(db, "bob"))
    page = bob.get("/staff/approvals").get_data(as_text=True)
    assert "Waiting for approval by a second person" in page
    rows = re.sub(r"\s+", " ", page)
    assert '<th scope="row">Categories received</th><td>Fraud</td><td>Fraud, Safety</td>' in rows
    assert '<th scope="row">Escalation level</th><td>1</td><td>2</td>' in rows
    assert "Hanna will start receiving new reports in: Safety." in page
    assert "Hanna will join escalation at level 2 (supervisor)." in page
    change = pending_change(db, hanna)
    confirm = bob.get(f"/staff/approvals/{change.id}/approve").get_data(as_text=True)
    assert "Hanna will start receiving new reports in: Safety." in confirm
    assert 'name="confirm"' in confirm
    # The admin pages say the change is not in effect yet.
    listing = alice.get("/admin/users").get_data(as_text=True)
    assert "waiting for approval by a second person" in listing
    assert "Changes waiting for approval</a>" in listing
    # The account form shows what was asked, so saving it again does not withdraw the request.
    form = alice.get(f"/admin/users/{hanna.id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]* value="safety"', form)
    assert "Waiting for approval by a second person" in form
    # A decision without the form's CSRF token does nothing.
    bare = bob.post(f"/staff/approvals/{change.id}/approve", data={"confirm": "yes"})
    assert bare.status_code == 400
    assert pending_change(db, hanna).state is RecipientChangeState.PENDING


def test_a_single_admin_is_told_who_can_approve_and_how_to_get_one(
    app: Flask, db: Session, admin: User, alice: FlaskClient
) -> None:
    response = alice.post(
        f"/admin/users/{admin.id}",
        data={
            "csrf_token": csrf_of(alice.get(f"/admin/users/{admin.id}").get_data(as_text=True)),
            "display_name": "Alice",
            "level": "1",
            "is_handler": "y",
            "is_admin": "y",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Nobody on this site can approve it yet" in page
    assert "candor create-user --role handler --level 2" in page
    assert not fresh(db, admin).is_handler


def test_the_operator_bootstraps_a_handler_in_effect_at_once(app: Flask, db: Session) -> None:
    runner = app.test_cli_runner()
    assert "in effect at once" in runner.invoke(args=["candor", "create-user", "--help"]).output
    result = runner.invoke(
        args=[
            "candor",
            "create-user",
            "--role",
            "handler",
            "--username",
            "sven",
            "--display-name",
            "Sven",
            "--level",
            "2",
        ],
        input="violet harbour tangerine quokka 7\n",
    )
    assert result.exit_code == 0, result.output
    sven = db.scalars(select(User).where(User.username == "sven")).one()
    assert approvals.find_pending(db, sven.id) is None
    assert [r.id for r in intake.list_recipients(db, "safety")] == [sven.id]
    assert approvals.may_approve(sven)
