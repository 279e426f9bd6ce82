"""Enumeration: learning whether a case, an account or a link exists from how the site answers.

An attacker who can tell "no such receipt code" from "wrong passphrase", or "no such user" from
"wrong password", learns which cases and accounts exist and can aim at them. The site gives the
same status and the same page in both cases, and does the same expensive work: an unknown receipt
code or username costs one Argon2id run against a decoy, exactly like a known one with a wrong
secret. Activation links and the recovery form answer the same way for an unknown and a known
account. Work is counted with a wrapper around the Argon2id derivation, not timed with a clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import crypto
import crypto.wrapping
from portal.models import User
from portal.services import accounts, tokens
from portal.timeutil import utcnow
from tests.factories import PASSWORD, make_admin, make_handler, totp_code
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import FiledCase, without_csrf


@pytest.fixture
def kdf_runs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every Argon2id derivation the site runs, in order."""
    # The decoy is built once per process; build it now so that it is not counted below.
    tokens.decoy_blob(crypto.TEST)
    runs: list[str] = []
    real = crypto.wrapping.derive_keys

    def counting(secret: str, salt: bytes, profile: crypto.Argon2Profile) -> crypto.DerivedKeys:
        runs.append("argon2id")
        return real(secret, salt, profile)

    monkeypatch.setattr(crypto.wrapping, "derive_keys", counting)
    yield runs


def echoed(html: str, field: str) -> str:
    """The page with the value the visitor typed into ``field`` blanked."""
    return re.sub(rf'(name="{field}"[^>]*value=")[^"]*(")', r"\1\2", without_csrf(html))


def check_back(client: FlaskClient, code: str, passphrase: str) -> tuple[int, str]:
    page = client.get("/check").get_data(as_text=True)
    response = client.post(
        "/check",
        data={"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": passphrase},
    )
    return response.status_code, echoed(response.get_data(as_text=True), "receipt_code")


def unknown_receipt_code(known: str) -> str:
    while True:
        code = crypto.generate_receipt_code()
        if code != known:
            return code


def test_unknown_receipt_code_and_wrong_passphrase_look_and_cost_the_same(
    app: Flask, filed: FiledCase, kdf_runs: list[str]
) -> None:
    client = app.test_client()
    wrong = "seven wrong words that open nothing at all"
    before = len(kdf_runs)
    unknown = check_back(client, unknown_receipt_code(filed.receipt_code), wrong)
    unknown_runs = len(kdf_runs) - before
    before = len(kdf_runs)
    known = check_back(client, filed.receipt_code, wrong)
    known_runs = len(kdf_runs) - before
    assert unknown[0] == known[0] == 400
    assert unknown[1] == known[1]
    assert "do not match a report" in known[1]
    assert unknown_runs == known_runs == 1
    # A code that is not even well formed gets the same answer, and no Argon2id run: its check
    # digit is public arithmetic, so refusing it at once tells nothing about any case.
    before = len(kdf_runs)
    malformed = check_back(client, "1234", wrong)
    assert malformed == known
    assert len(kdf_runs) - before == 0


def staff_sign_in(client: FlaskClient, username: str, password: str, code: str) -> tuple[int, str]:
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post(
        "/staff/sign-in",
        data={
            "csrf_token": csrf_of(page),
            "username": username,
            "password": password,
            "code": code,
        },
    )
    return response.status_code, echoed(response.get_data(as_text=True), "username")


@pytest.mark.parametrize("wrong", ["password", "code"])
def test_unknown_username_and_wrong_secret_look_and_cost_the_same(
    app: Flask, db: Session, kdf_runs: list[str], wrong: str
) -> None:
    hanna = make_handler(db, "hanna")
    client = app.test_client()
    code = totp_code(hanna)
    password = PASSWORD
    if wrong == "password":
        password = "not the right password at all"
    else:
        code = "000000" if code != "000000" else "111111"
    before = len(kdf_runs)
    unknown = staff_sign_in(client, "nobody", password, code)
    unknown_runs = len(kdf_runs) - before
    before = len(kdf_runs)
    known = staff_sign_in(client, "hanna", password, code)
    known_runs = len(kdf_runs) - before
    assert unknown[0] == known[0] == 400
    assert unknown[1] == known[1]
    assert unknown_runs == known_runs == 1


def invite(db: Session, username: str) -> str:
    admin = db.query(User).filter(User.username == "admin").one_or_none() or make_admin(db)
    _, token = accounts.invite_user(
        db,
        admin,
        username=username,
        display_name=username.title(),
        title="Compliance officer",
        email="",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=[],
        now=utcnow(),
    )
    return token


def test_unknown_used_and_expired_activation_links_look_the_same(
    app: Flask, db: Session, kdf_runs: list[str]
) -> None:
    used = invite(db, "hanna")
    expired = invite(db, "sven")
    accounts.activate(
        db, used, PASSWORD, profile=crypto.TEST, issuer="Test Organisation", now=utcnow()
    )
    sven = db.query(User).filter(User.username == "sven").one()
    assert sven.activation_expires_at is not None
    sven.activation_expires_at = utcnow().replace(year=2000)
    db.commit()
    client = app.test_client()
    before = len(kdf_runs)
    pages = {
        (r.status_code, r.get_data(as_text=True))
        for r in (
            client.get(f"/staff/activate/{token}")
            for token in ("x" * 43, used, expired, "nonsense")
        )
    }
    assert len(pages) == 1
    ((status, html),) = pages
    assert status == 404 and "not valid any more" in html
    # A refused link posts nothing to Argon2id either: there is nothing to derive.
    assert len(kdf_runs) == before


def recover(client: FlaskClient, username: str, recovery_key: str) -> tuple[int, str]:
    page = client.get("/staff/recover").get_data(as_text=True)
    response = client.post(
        "/staff/recover",
        data={
            "csrf_token": csrf_of(page),
            "username": username,
            "recovery_key": recovery_key,
            "password": "a new password that is long enough",
            "confirm": "a new password that is long enough",
        },
    )
    return response.status_code, echoed(response.get_data(as_text=True), "username")


def test_recovery_for_an_unknown_and_a_known_account_looks_and_costs_the_same(
    app: Flask, db: Session, kdf_runs: list[str]
) -> None:
    make_handler(db, "hanna")
    client = app.test_client()
    wrong_key, _ = crypto.generate_recovery_key()
    before = len(kdf_runs)
    unknown = recover(client, "nobody", wrong_key)
    unknown_runs = len(kdf_runs) - before
    before = len(kdf_runs)
    known = recover(client, "hanna", wrong_key)
    known_runs = len(kdf_runs) - before
    assert unknown[0] == known[0] == 400
    assert unknown[1] == known[1]
    assert "username or recovery key is wrong" in known[1]
    # A recovery key is random (no work factor needed), so neither answer runs Argon2id.
    assert unknown_runs == known_runs == 0
