"""Small factories for test data, built through the services."""

from __future__ import annotations

import io
from base64 import b64encode
from datetime import UTC, datetime

import pyotp
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import crypto
from portal.models import Role, User
from portal.services import accounts, approvals, staff_auth
from portal.timeutil import utcnow

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
# Each account's TOTP secret, by username, so tests can produce one-time codes.
TOTP_SECRETS: dict[str, str] = {}
RECOVERY_KEYS: dict[str, str] = {}


def make_user(
    db: Session,
    username: str,
    *,
    role: Role = Role.HANDLER,
    level: int = 1,
    title: str = "Compliance officer",
    categories: tuple[str, ...] = (),
    also_handler: bool = False,
) -> User:
    account = accounts.create_user(
        db,
        username=username,
        display_name=username.title(),
        role=role,
        password=PASSWORD,
        level=level,
        profile=crypto.TEST,
        now=NOW,
    )
    user = account.user
    user.title = title
    if also_handler:
        user.is_handler = True
    accounts.set_categories(db, user, categories)
    db.commit()
    TOTP_SECRETS[user.username] = account.totp_secret
    RECOVERY_KEYS[user.username] = account.recovery_key
    return user


def make_handler(
    db: Session,
    username: str,
    *,
    level: int = 1,
    title: str = "Compliance officer",
    categories: tuple[str, ...] = (),
) -> User:
    return make_user(db, username, level=level, title=title, categories=categories)


def make_admin(db: Session, username: str = "admin", *, also_handler: bool = False) -> User:
    return make_user(db, username, role=Role.ADMIN, also_handler=also_handler)


def totp_code(user: User, at: datetime | None = None) -> str:
    return pyotp.TOTP(TOTP_SECRETS[user.username]).at(at or utcnow())


def sign_in_as(client: FlaskClient, db: Session, user: User) -> staff_auth.StaffLogin:
    """Open a staff session for ``user`` and put it in the client's cookie.

    Skips the sign-in form (whose own tests use real codes), so that a test may sign the same
    person in twice within one TOTP step.
    """
    login = staff_auth._open_session(db, user, handler_private_key(user), utcnow(), None)
    db.commit()
    with client.session_transaction() as session:
        session.clear()
        session["staff"] = {"t": login.token, "k": b64encode(login.cookie_key).decode()}
    return login


def handler_private_key(user: User) -> bytes:
    assert user.password_wrapped_key is not None
    return crypto.unwrap_with_secret(
        user.password_wrapped_key, PASSWORD, accounts.private_key_context(user.username)
    )


def file_bytes(name: str, data: bytes) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def approve_pending(db: Session, subject: User, approver: User) -> None:
    """Let ``approver`` (a second person) approve the change waiting for ``subject``."""
    change = approvals.find_pending(db, subject.id)
    assert change is not None, f"no change waits for {subject.username}"
    approvals.decide(db, approver, change.id, approve=True, now=NOW)
    db.expire_all()
