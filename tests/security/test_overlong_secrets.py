"""Attack: overlong secrets, sent to make the server hash megabytes or to slip past a limit.

Every secret field (the reporter's receipt code and passphrase; a staff member's password, new
password, current password, recovery key and one-time code) has a maximum length, generous but
bounded. The form refuses a longer value with a plain message, and the service checks again, so
a direct call cannot skip it; either way no Argon2id work is done for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import crypto
from portal.models import Role
from portal.services import accounts, reporter_access, staff_auth
from portal.services.errors import InvalidInputError
from portal.services.lengths import (
    MAX_ONE_TIME_CODE_LENGTH,
    MAX_PASSPHRASE_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_RECEIPT_CODE_LENGTH,
    MAX_RECOVERY_KEY_LENGTH,
)
from portal.timeutil import utcnow
from tests.factories import (
    NOW,
    PASSWORD,
    RECOVERY_KEYS,
    handler_private_key,
    make_admin,
    make_handler,
    sign_in_as,
)
from tests.portal.test_reporter_web import csrf_of, file_report
from tests.security.guessing_support import check_back, count_argon2_runs

TOO_LONG = "longer than this site accepts"
LONG_PASSWORD = "p" * (MAX_PASSWORD_LENGTH + 1)
GOOD_PASSWORD = "a new and rather long password"


@pytest.fixture
def argon2_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_argon2_runs(monkeypatch)


def post(client: FlaskClient, path: str, **fields: str) -> Any:
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_of(page), **fields})


def refused_plainly(response: Any, runs: list[int], before: int) -> None:
    assert response.status_code == 400
    assert TOO_LONG in response.get_data(as_text=True)
    assert len(runs) == before


# --- reporter -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "passphrase"),
    [
        (None, "word " * 60),  # 300 characters
        ("1234 " * 13, None),  # 65 characters of a plausible code
    ],
    ids=["passphrase", "receipt code"],
)
def test_check_back_refuses_overlong_input_before_argon2(
    client: FlaskClient,
    db: Session,
    argon2_runs: list[int],
    code: str | None,
    passphrase: str | None,
) -> None:
    make_handler(db, "hanna")
    real_code, real_passphrase = file_report(client)
    before = len(argon2_runs)
    response = check_back(client, code or real_code, passphrase or real_passphrase)
    refused_plainly(response, argon2_runs, before)


def test_a_passphrase_at_the_bound_is_still_checked(
    client: FlaskClient, db: Session, argon2_runs: list[int]
) -> None:
    make_handler(db, "hanna")
    code, _ = file_report(client)
    before = len(argon2_runs)
    response = check_back(client, code, "x" * MAX_PASSPHRASE_LENGTH)
    assert response.status_code == 400
    assert TOO_LONG not in response.get_data(as_text=True)
    assert len(argon2_runs) == before + 1


def test_the_reporter_service_checks_too(db: Session, argon2_runs: list[int]) -> None:
    kwargs: dict[str, Any] = {
        "pepper": bytes(32),
        "profile": crypto.TEST,
        "now": NOW,
        "idle": timedelta(minutes=30),
    }
    for code, passphrase in [
        ("1" * (MAX_RECEIPT_CODE_LENGTH + 1), "seven little words"),
        ("1234 5678 9012 3456", "w" * (MAX_PASSPHRASE_LENGTH + 1)),
    ]:
        with pytest.raises(InvalidInputError, match=TOO_LONG):
            reporter_access.sign_in(db, code, passphrase, **kwargs)
    assert argon2_runs == []


# --- staff --------------------------------------------------------------------------------------


def invite(db: Session) -> str:
    admin = make_admin(db)
    _, token = accounts.invite_user(
        db,
        admin,
        username="ivo",
        display_name="Ivo",
        title="",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=(),
        now=utcnow(),
    )
    return token


def test_staff_forms_refuse_overlong_secrets_before_argon2(
    app: Flask, db: Session, argon2_runs: list[int]
) -> None:
    hanna = make_handler(db, "hanna")
    token = invite(db)
    signed_in = app.test_client()
    sign_in_as(signed_in, db, hanna)
    attempts: dict[str, Callable[[], Any]] = {
        "sign-in password": lambda: post(
            app.test_client(), "/staff/sign-in", username="hanna", password=LONG_PASSWORD, code="1"
        ),
        "sign-in code": lambda: post(
            app.test_client(),
            "/staff/sign-in",
            username="hanna",
            password=PASSWORD,
            code="1" * (MAX_ONE_TIME_CODE_LENGTH + 1),
        ),
        "activation password": lambda: post(
            app.test_client(),
            f"/staff/activate/{token}",
            password=LONG_PASSWORD,
            confirm=LONG_PASSWORD,
        ),
        "recovery key": lambda: post(
            app.test_client(),
            "/staff/recover",
            username="hanna",
            recovery_key=RECOVERY_KEYS["hanna"] + "-0000" * 5,
            password=GOOD_PASSWORD,
            confirm=GOOD_PASSWORD,
        ),
        "recovery new password": lambda: post(
            app.test_client(),
            "/staff/recover",
            username="hanna",
            recovery_key=RECOVERY_KEYS["hanna"],
            password=LONG_PASSWORD,
            confirm=LONG_PASSWORD,
        ),
        "current password": lambda: post(
            signed_in,
            "/staff/account",
            current=LONG_PASSWORD,
            password=GOOD_PASSWORD,
            confirm=GOOD_PASSWORD,
        ),
        "new password": lambda: post(
            signed_in,
            "/staff/account",
            current=PASSWORD,
            password=LONG_PASSWORD,
            confirm=LONG_PASSWORD,
        ),
    }
    assert len(RECOVERY_KEYS["hanna"] + "-0000" * 5) > MAX_RECOVERY_KEY_LENGTH
    for name, attempt in attempts.items():
        before = len(argon2_runs)
        response = attempt()
        assert response.status_code == 400, name
        assert TOO_LONG in response.get_data(as_text=True), name
        assert len(argon2_runs) == before, name


def test_enrolment_refuses_an_overlong_code(app: Flask, db: Session) -> None:
    token = invite(db)
    client = app.test_client()
    post(client, f"/staff/activate/{token}", password=GOOD_PASSWORD, confirm=GOOD_PASSWORD)
    response = post(client, "/staff/enrol", code="1" * (MAX_ONE_TIME_CODE_LENGTH + 1))
    assert response.status_code == 400
    assert TOO_LONG in response.get_data(as_text=True)


def test_the_staff_services_check_too(db: Session, argon2_runs: list[int]) -> None:
    hanna = make_handler(db, "hanna")
    token = invite(db)
    before = len(argon2_runs)
    context = staff_auth.StaffContext(hanna, handler_private_key(hanna), True, "token")
    assert len(argon2_runs) == before + 1  # the test's own unwrap of hanna's key
    before = len(argon2_runs)
    calls: list[Callable[[], object]] = [
        lambda: staff_auth.sign_in(
            db, "hanna", LONG_PASSWORD, "123456", profile=crypto.TEST, now=NOW
        ),
        lambda: staff_auth.sign_in(db, "hanna", PASSWORD, "1" * 17, profile=crypto.TEST, now=NOW),
        lambda: accounts.activate(
            db, token, LONG_PASSWORD, profile=crypto.TEST, issuer="Candor", now=utcnow()
        ),
        lambda: staff_auth.recover(
            db, "hanna", "0" * 65, GOOD_PASSWORD, profile=crypto.TEST, now=NOW
        ),
        lambda: staff_auth.recover(
            db, "hanna", RECOVERY_KEYS["hanna"], LONG_PASSWORD, profile=crypto.TEST, now=NOW
        ),
        lambda: staff_auth.change_password(
            db, context, LONG_PASSWORD, GOOD_PASSWORD, profile=crypto.TEST, now=NOW
        ),
        lambda: staff_auth.change_password(
            db, context, PASSWORD, LONG_PASSWORD, profile=crypto.TEST, now=NOW
        ),
        lambda: accounts.create_user(
            db,
            username="olga",
            display_name="Olga",
            role=Role.HANDLER,
            password=LONG_PASSWORD,
            level=1,
            profile=crypto.TEST,
            now=NOW,
        ),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match=TOO_LONG):
            call()
    assert len(argon2_runs) == before


def test_secret_inputs_carry_no_maxlength(client: FlaskClient) -> None:
    # A browser silently cuts a pasted secret at maxlength, so the person would never learn why it
    # did not match; the server's own limit answers with a message instead.
    for path, names in (
        ("/check", ("receipt_code", "passphrase")),
        ("/staff/sign-in", ("password", "code")),
        ("/staff/recover", ("recovery_key", "password")),
    ):
        page = client.get(path).get_data(as_text=True)
        for name in names:
            field = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
            assert field, (path, name)
            assert "maxlength" not in field.group(0), (path, name)
