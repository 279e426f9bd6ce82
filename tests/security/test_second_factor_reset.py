"""Second-factor takeover after a reset: an admin resets a handler's second factor (a lost
phone), and whoever knows the handler's password signs in first and enrols their own app.

A password alone never enrols. The reset issues a one-time link (its hash stored, with an
expiry), shown once to the admin and e-mailed to the account's address through the outbox; the
link asks for the password and then sets up a new authenticator. It dies when used or expired,
and both acts are in the audit trail.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import AuditEntry, OutboxMessage, StaffSession, User
from portal.services import accounts, staff_auth
from portal.services.errors import InvalidInputError, NotFoundError
from portal.timeutil import utcnow
from tests.factories import PASSWORD, make_admin, make_handler, sign_in_as, totp_code
from tests.portal.test_handler_auth import post_sign_in
from tests.portal.test_reporter_web import csrf_of

LINK = re.compile(r"http://localhost(/staff/re-enrol/[A-Za-z0-9_-]+)")


def reset_by_admin(client: FlaskClient, db: Session, hanna: User) -> str:
    """The admin's reset through the admin pages; returns the link's path."""
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    path = f"/admin/users/{hanna.id}/reset-second-factor"
    page = client.get(path).get_data(as_text=True)
    assert "their password alone does not" in page
    done = client.post(path, data={"csrf_token": csrf_of(page), "confirm": "yes"})
    assert done.status_code == 200
    found = LINK.search(done.get_data(as_text=True))
    assert found
    return found.group(1)


def sessions_of(db: Session, user: User) -> int:
    query = select(func.count()).select_from(StaffSession).where(StaffSession.user_id == user.id)
    return db.scalar(query) or 0


def audit_actions(db: Session, user: User) -> list[str]:
    query = select(AuditEntry.action).where(AuditEntry.subject_id == user.id)
    return list(db.scalars(query.order_by(AuditEntry.id)))


def test_a_password_alone_does_not_enrol(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    old_code = totp_code(hanna)
    reset_by_admin(client, db, hanna)
    attacker = client.application.test_client()
    for code in ("-", "000000", old_code):
        response = post_sign_in(attacker, "hanna", PASSWORD, code)
        assert response.status_code == 400  # type: ignore[attr-defined]
    assert attacker.get("/staff/enrol").status_code == 302
    db.expire_all()
    assert db.get_one(User, hanna.id).totp_wrapped_secret is None
    assert sessions_of(db, hanna) == 0


def test_the_link_enrols_once(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    path = reset_by_admin(client, db, hanna)
    holder = client.application.test_client()
    page = holder.get(path).get_data(as_text=True)
    assert "Set up your second factor again" in page
    wrong = holder.post(path, data={"csrf_token": csrf_of(page), "password": "not my password"})
    assert wrong.status_code == 400
    assert "The password is wrong" in wrong.get_data(as_text=True)
    # A wrong password does not spend the link.
    right = holder.post(path, data={"csrf_token": csrf_of(page), "password": PASSWORD})
    assert right.status_code == 302 and right.headers["Location"].endswith("/staff/enrol")
    assert holder.get("/staff/inbox").headers["Location"].endswith("/staff/enrol")
    enrol = holder.get("/staff/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol)
    assert secret
    done = holder.post(
        "/staff/enrol",
        data={"csrf_token": csrf_of(enrol), "code": pyotp.TOTP(secret.group(1)).now()},
    )
    assert done.status_code == 302
    assert holder.get("/staff/inbox").status_code == 200
    # The link is dead now, for the holder and for anyone who saw it.
    again = client.application.test_client().get(path)
    assert again.status_code == 404
    assert "used, or it expired" in again.get_data(as_text=True)
    actions = audit_actions(db, hanna)
    for action in ("second_factor_reset", "re_enrolment_failed", "second_factor_link_used"):
        assert action in actions
    assert actions[-1] == "second_factor_enrolled"
    # The new second factor signs in with the password; the key pair never changed.
    db.expire_all()
    user = db.get_one(User, hanna.id)
    assert user.activation_lookup is None and user.totp_wrapped_secret is not None
    later = utcnow() + timedelta(seconds=30)
    login = staff_auth.sign_in(
        db,
        "hanna",
        PASSWORD,
        pyotp.TOTP(secret.group(1)).at(later),
        profile=crypto.TEST,
        now=later,
    )
    assert login.token


def test_the_link_is_e_mailed_when_the_account_has_an_address(
    client: FlaskClient, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    hanna.email = "hanna@example.org"
    db.commit()
    path = reset_by_admin(client, db, hanna)
    mail = db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "hanna@example.org"))
    message = mail.one()
    assert path in message.body
    assert "second factor" in message.subject


def test_the_link_expires(db: Session) -> None:
    hanna = make_handler(db, "hanna")
    admin = make_admin(db)
    now = utcnow()
    token = accounts.reset_second_factor(
        db, admin, hanna, now, base_url="http://localhost", site_name="Test"
    )
    late = now + accounts.ACTIVATION_LIFETIME + timedelta(seconds=1)
    assert accounts.find_re_enrolment(db, token, now) is not None
    assert accounts.find_re_enrolment(db, token, late) is None
    with pytest.raises(NotFoundError):
        staff_auth.re_enrol(db, token, PASSWORD, profile=crypto.TEST, now=late)


def test_a_re_enrolment_link_is_no_activation_link(client: FlaskClient, db: Session) -> None:
    """Activation issues a new key pair; the re-enrolment link must never reach it."""
    hanna = make_handler(db, "hanna")
    public_key = hanna.public_key
    path = reset_by_admin(client, db, hanna)
    token = path.rsplit("/", 1)[1]
    assert client.application.test_client().get(f"/staff/activate/{token}").status_code == 404
    db.expire_all()
    assert db.get_one(User, hanna.id).public_key == public_key


def test_an_activation_link_is_no_re_enrolment_link(client: FlaskClient, db: Session) -> None:
    admin = make_admin(db)
    _, token = accounts.invite_user(
        db,
        admin,
        username="nina",
        display_name="Nina Ng",
        title="Compliance officer",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=(),
        now=utcnow(),
    )
    assert client.get(f"/staff/re-enrol/{token}").status_code == 404


def test_an_account_waiting_for_activation_keeps_its_activation_link(db: Session) -> None:
    admin = make_admin(db)
    nina, token = accounts.invite_user(
        db,
        admin,
        username="nina",
        display_name="Nina Ng",
        title="Compliance officer",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=(),
        now=utcnow(),
    )
    with pytest.raises(InvalidInputError, match="not activated yet"):
        accounts.reset_second_factor(
            db, admin, nina, utcnow(), base_url="http://localhost", site_name="Test"
        )
    db.rollback()
    assert accounts.find_invited(db, token, utcnow()) is not None
