"""Weak staff passwords: a password such as ``aaaaaaaaaaaa`` or one built from the account's own
name passes a length rule, and an attacker with a copy of the database tries exactly those
first against the handler's wrapped private key.

Wherever a staff password is set (activation, password change, recovery, ``flask candor
create-user``) the service asks zxcvbn how guessable it is, with the username and display name as
words an attacker knows, and refuses a score below 3 with zxcvbn's own warning and suggestions.
The 12-character minimum stays.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import Role, User
from portal.services import accounts
from portal.services.errors import InvalidInputError
from portal.timeutil import utcnow
from tests.factories import PASSWORD, RECOVERY_KEYS, make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of

WEAK = "aaaaaaaaaaaa"
STRONG = "maple orbit velvet canyon"


def test_repeated_characters_are_refused_with_zxcvbn_feedback() -> None:
    with pytest.raises(InvalidInputError) as refused:
        accounts.check_password(WEAK)
    message = str(refused.value)
    assert "too easy to guess" in message
    assert 'Repeats like "aaa" are easy to guess.' in message
    assert "Nothing was saved" in message


def test_a_password_made_of_the_account_name_is_refused() -> None:
    password = "hanna.berg.2026"
    # Without the account's names it would pass; with them it is an easy guess.
    accounts.check_password(password)
    with pytest.raises(InvalidInputError, match="too easy to guess"):
        accounts.check_password(password, accounts.user_inputs("hanna.berg", "Hanna Berg"))


def test_the_length_minimum_stays() -> None:
    with pytest.raises(InvalidInputError, match="at least 12 characters"):
        accounts.check_password("Xq7#vLp2!mZ")  # strong, but 11 characters


def test_a_strong_password_is_accepted() -> None:
    accounts.check_password(STRONG, accounts.user_inputs("hanna", "Hanna Berg"))
    accounts.check_password(PASSWORD)


def test_an_overlong_password_is_scored_quickly() -> None:
    # zxcvbn scores the first 72 characters (it refuses more); a long strong password, up to
    # the 256 characters any secret field takes, passes.
    accounts.check_password((STRONG * 200)[:256])


def test_activation_refuses_a_weak_password(client: FlaskClient, db: Session) -> None:
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
    page = client.get(f"/staff/activate/{token}").get_data(as_text=True)
    response = client.post(
        f"/staff/activate/{token}",
        data={"csrf_token": csrf_of(page), "password": WEAK, "confirm": WEAK},
    )
    assert response.status_code == 400
    assert "too easy to guess" in response.get_data(as_text=True)
    db.expire_all()
    nina = db.scalars(select(User).where(User.username == "nina")).one()
    assert nina.password_wrapped_key is None and nina.activation_lookup is not None


def test_password_change_refuses_a_weak_password(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    before = hanna.password_wrapped_key
    sign_in_as(client, db, hanna)
    page = client.get("/staff/account").get_data(as_text=True)
    response = client.post(
        "/staff/account",
        data={"csrf_token": csrf_of(page), "current": PASSWORD, "password": WEAK, "confirm": WEAK},
    )
    assert response.status_code == 400
    assert "too easy to guess" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get_one(User, hanna.id).password_wrapped_key == before


def test_recovery_refuses_a_weak_password(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    before = hanna.password_wrapped_key
    page = client.get("/staff/recover").get_data(as_text=True)
    response = client.post(
        "/staff/recover",
        data={
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "recovery_key": RECOVERY_KEYS["hanna"],
            "password": "hannahannahanna",
            "confirm": "hannahannahanna",
        },
    )
    assert response.status_code == 400
    assert "too easy to guess" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get_one(User, hanna.id).password_wrapped_key == before


def test_create_user_refuses_a_weak_password(app: Flask, db: Session) -> None:
    args = ["candor", "create-user", "--role", "admin", "--username", "root"]
    result = app.test_cli_runner().invoke(
        args=[*args, "--display-name", "Admin"], input=f"{WEAK}\n"
    )
    assert result.exit_code != 0
    assert "too easy to guess" in result.output
    assert db.scalars(select(User)).all() == []


def test_create_user_accepts_a_strong_password(db: Session) -> None:
    account = accounts.create_user(
        db,
        username="root",
        display_name="Admin",
        role=Role.ADMIN,
        password=STRONG,
        level=1,
        profile=crypto.TEST,
        now=utcnow(),
    )
    assert account.user.password_wrapped_key is not None
