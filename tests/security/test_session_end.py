"""Sessions that outlive a change of trust: a stolen or forgotten staff session keeps working
after the password was changed, or after an admin acted on the account.

A password change ends every other session of the account (the one that changed it stays); an
admin's reset of the second factor, a deactivation and a reset without the recovery key end
every session of the account at once, and so does a recovery with the recovery key.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import StaffSession, User
from tests.factories import PASSWORD, RECOVERY_KEYS, make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of

NEW_PASSWORD = "maple orbit velvet canyon"


def sessions_of(db: Session, user: User) -> int:
    query = select(func.count()).select_from(StaffSession).where(StaffSession.user_id == user.id)
    return db.scalar(query) or 0


def signed_in(client: FlaskClient) -> bool:
    return client.get("/staff/inbox").status_code == 200


def admin_act(client: FlaskClient, db: Session, path: str) -> None:
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_of(page), "confirm": "yes"})
    assert response.status_code in (200, 302)


def test_password_change_ends_the_other_sessions(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    elsewhere = client.application.test_client()
    sign_in_as(elsewhere, db, hanna)
    sign_in_as(client, db, hanna)
    assert signed_in(elsewhere) and signed_in(client)
    page = client.get("/staff/account").get_data(as_text=True)
    response = client.post(
        "/staff/account",
        data={
            "csrf_token": csrf_of(page),
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not signed_in(elsewhere)
    assert signed_in(client)
    assert sessions_of(db, hanna) == 1


@pytest.mark.parametrize("act", ["reset-second-factor", "deactivate", "reset-without-recovery"])
def test_an_admin_act_ends_every_session(client: FlaskClient, db: Session, act: str) -> None:
    hanna = make_handler(db, "hanna")
    victim = client.application.test_client()
    sign_in_as(victim, db, hanna)
    sign_in_as(client.application.test_client(), db, hanna)
    assert signed_in(victim) and sessions_of(db, hanna) == 2
    admin_act(client, db, f"/admin/users/{hanna.id}/{act}")
    assert not signed_in(victim)
    db.expire_all()
    assert sessions_of(db, hanna) == 0


def test_recovery_ends_every_earlier_session(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    earlier = client.application.test_client()
    sign_in_as(earlier, db, hanna)
    assert signed_in(earlier)
    page = client.get("/staff/recover").get_data(as_text=True)
    response = client.post(
        "/staff/recover",
        data={
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "recovery_key": RECOVERY_KEYS["hanna"],
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not signed_in(earlier)
    # Only the new, limited session is left, and it opens nothing until a new second factor.
    assert sessions_of(db, hanna) == 1
    assert client.get("/staff/inbox").headers["Location"].endswith("/staff/enrol")
