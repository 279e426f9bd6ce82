"""TOTP replay: a one-time code that has opened a session is typed again, as someone who watched
it being typed, or read it from a log or a photo, would.

The site remembers the last time step it accepted and refuses that step and every older one,
whatever spaces pad the code, and whatever failed sign-ins happen in between. The clock is
fixed, so every code below belongs to one known step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import crypto
from portal.models import User
from portal.services import staff_auth
from tests.factories import PASSWORD, TOTP_SECRETS, make_handler
from tests.portal.test_handler_auth import post_sign_in

NOW = datetime(2026, 11, 23, 9, 0, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("portal.handler.auth_views.utcnow", lambda: NOW)


def code_at(user: User, at: datetime) -> str:
    return pyotp.TOTP(TOTP_SECRETS[user.username]).at(at)


def status(client: FlaskClient, code: str, password: str = PASSWORD) -> int:
    response = post_sign_in(client.application.test_client(), "hanna", password, code)
    return response.status_code  # type: ignore[attr-defined, no-any-return]


def test_a_used_code_is_refused_again(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    code = code_at(hanna, NOW)
    assert status(client, code) == 302
    assert status(client, code) == 400


@pytest.mark.parametrize("padded", ["{a} {b}", " {a}{b} ", "{a}  {b}", "\t{a}{b}"])
def test_a_used_code_padded_with_spaces_is_refused(
    client: FlaskClient, db: Session, padded: str
) -> None:
    hanna = make_handler(db, "hanna")
    code = code_at(hanna, NOW)
    assert status(client, code) == 302
    assert status(client, padded.format(a=code[:3], b=code[3:])) == 400


def test_a_padded_code_is_accepted_once(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    code = code_at(hanna, NOW)
    assert status(client, f" {code[:3]} {code[3:]} ") == 302
    assert status(client, code) == 400


def test_a_used_code_stays_refused_after_a_failed_sign_in(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    code = code_at(hanna, NOW)
    assert status(client, code) == 302
    # A failed attempt (wrong password, or a wrong code) must not reset what was used.
    assert status(client, code, password="not the password at all") == 400
    wrong = "000000" if code != "000000" else "111111"
    assert status(client, wrong) == 400
    assert status(client, code) == 400


def test_a_code_typed_in_a_failed_sign_in_still_works_once(
    client: FlaskClient, db: Session
) -> None:
    """A mistyped password does not burn the code (it cannot even be checked without the
    password, which unwraps the second factor's secret), but it opens only one session."""
    hanna = make_handler(db, "hanna")
    code = code_at(hanna, NOW)
    assert status(client, code, password="not the password at all") == 400
    assert status(client, code) == 302
    assert status(client, code) == 400


def test_an_older_step_is_refused_after_a_newer_one(db: Session) -> None:
    hanna = make_handler(db, "hanna")
    later = NOW + timedelta(seconds=30)
    login = staff_auth.sign_in(
        db, "hanna", PASSWORD, code_at(hanna, later), profile=crypto.TEST, now=later
    )
    assert login.token
    # The previous step's code is still inside the drift window, but older than the one used.
    with pytest.raises(staff_auth.SignInError):
        staff_auth.sign_in(
            db, "hanna", PASSWORD, code_at(hanna, NOW), profile=crypto.TEST, now=later
        )
    db.expire_all()
    assert db.get_one(User, hanna.id).totp_last_step == int(later.timestamp()) // 30
