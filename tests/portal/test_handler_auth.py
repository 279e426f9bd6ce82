from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import AuditEntry, StaffSession, User
from portal.services import accounts
from portal.timeutil import utcnow
from tests.factories import (
    PASSWORD,
    RECOVERY_KEYS,
    approve_pending,
    make_admin,
    make_handler,
    sign_in_as,
    totp_code,
)
from tests.portal.test_reporter_web import csrf_of


def post_sign_in(client: FlaskClient, username: str, password: str, code: str) -> object:
    html = client.get("/staff/sign-in").get_data(as_text=True)
    return client.post(
        "/staff/sign-in",
        data={
            "csrf_token": csrf_of(html),
            "username": username,
            "password": password,
            "code": code,
        },
    )


def test_sign_in_with_password_and_one_time_code(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    response = post_sign_in(client, "hanna", PASSWORD, totp_code(hanna))
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert client.get("/staff/inbox").status_code == 200
    actions = db.scalars(select(AuditEntry.action)).all()
    assert "sign_in" in actions


def test_a_used_code_is_refused(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    code = totp_code(hanna)
    assert post_sign_in(client, "hanna", PASSWORD, code).status_code == 302  # type: ignore[attr-defined]
    other = client.application.test_client()
    refused = post_sign_in(other, "hanna", PASSWORD, code)
    assert refused.status_code == 400  # type: ignore[attr-defined]


def test_failures_share_one_message_and_are_audited_without_addresses(
    client: FlaskClient, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    messages = set()
    for username, password, code in [
        ("hanna", "wrong password!!", totp_code(hanna)),
        ("hanna", PASSWORD, "000000" if totp_code(hanna) != "000000" else "111111"),
        ("nobody", PASSWORD, totp_code(hanna)),
    ]:
        response = post_sign_in(client, username, password, code)
        assert response.status_code == 400  # type: ignore[attr-defined]
        found = re.search(r'role="alert">([^<]+)<', response.get_data(as_text=True))  # type: ignore[attr-defined]
        assert found
        messages.add(found.group(1))
    assert messages == {"The username, password or one-time code is wrong."}
    failures = db.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in_failed")).all()
    assert len(failures) == 3
    assert all("127.0.0.1" not in f.detail for f in failures)


def test_one_argon2_run_per_attempt_even_for_an_unknown_username(
    client: FlaskClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    hanna = make_handler(db, "hanna")
    runs: list[str] = []
    real = crypto.derive_for_blob

    def counting(blob: bytes, secret: str) -> crypto.DerivedKeys:
        runs.append(secret)
        return real(blob, secret)

    monkeypatch.setattr(crypto, "derive_for_blob", counting)
    post_sign_in(client, "nobody-here", "some password", "123456")
    assert len(runs) == 1
    post_sign_in(client, "hanna", PASSWORD, totp_code(hanna))
    assert len(runs) == 2


def test_failures_are_throttled_per_account(client: FlaskClient, db: Session) -> None:
    make_handler(db, "hanna")
    statuses = [
        post_sign_in(client, "hanna", f"wrong {i} password", "123456").status_code
        for i in range(11)
    ]  # type: ignore[attr-defined]
    assert statuses == [400] * 10 + [429]
    paused = post_sign_in(client, "hanna", "x" * 12, "1")
    assert "Sign-in paused" in paused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Try again after" in paused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert int(paused.headers["Retry-After"]) >= 60  # type: ignore[attr-defined]


def test_session_id_changes_at_sign_in_and_sign_out_ends_it(
    client: FlaskClient, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    first = sign_in_as(client, db, hanna)
    second = sign_in_as(client, db, hanna)
    assert first.token != second.token
    page = client.get("/staff/inbox").get_data(as_text=True)
    client.post("/staff/sign-out", data={"csrf_token": csrf_of(page)})
    assert client.get("/staff/inbox").status_code == 302
    assert (
        db.get(StaffSession, __import__("hashlib").sha256(second.token.encode()).digest()) is None
    )


def test_idle_session_expires_with_a_message(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    sign_in_as(client, db, hanna)
    for row in db.scalars(select(StaffSession)):
        row.last_seen_at -= timedelta(minutes=31)
    db.commit()
    response = client.get("/staff/inbox", follow_redirects=True)
    assert "inactivity" in response.get_data(as_text=True)


def test_activation_sets_password_keys_and_second_factor(client: FlaskClient, db: Session) -> None:
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
    assert 'Welcome, <span dir="auto">Nina Ng</span>' in page
    new_password = "a brand new password"
    enrol = client.post(
        f"/staff/activate/{token}",
        data={"csrf_token": csrf_of(page), "password": new_password, "confirm": new_password},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "<svg" in enrol
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol)
    recovery = re.search(r'id="recovery-key">([^<]+)<', enrol)
    assert secret and recovery
    # Until the first code, nothing else opens.
    assert client.get("/staff/inbox").headers["Location"].endswith("/staff/enrol")
    wrong = client.post(
        "/staff/enrol", data={"csrf_token": csrf_of(enrol), "code": "000000", "stored": "y"}
    )
    assert wrong.status_code == 400 or pyotp.TOTP(secret.group(1)).now() == "000000"
    done = client.post(
        "/staff/enrol",
        data={
            "csrf_token": csrf_of(enrol),
            "code": pyotp.TOTP(secret.group(1)).now(),
            "stored": "y",
        },
    )
    assert done.status_code == 302
    # The handler role waits for a second person; until then the account reads nothing.
    assert client.get("/staff/inbox").status_code == 403
    assert "waits for approval" in client.get("/staff/", follow_redirects=True).get_data(
        as_text=True
    )
    db.expire_all()
    nina = db.scalars(select(User).where(User.username == "nina")).one()
    approve_pending(db, nina, make_admin(db, "second"))
    assert client.get("/staff/inbox").status_code == 200
    assert nina.activation_lookup is None and nina.public_key is not None
    assert nina.password_wrapped_key is not None
    key = crypto.unwrap_with_secret(
        nina.password_wrapped_key, new_password, accounts.private_key_context("nina")
    )
    assert crypto.public_key_from_private(key) == nina.public_key
    # The link works once.
    assert client.get(f"/staff/activate/{token}").status_code == 404


def test_password_change_rewraps_the_key(client: FlaskClient, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    sign_in_as(client, db, hanna)
    page = client.get("/staff/account").get_data(as_text=True)
    new = "another long password"
    response = client.post(
        "/staff/account",
        data={"csrf_token": csrf_of(page), "current": PASSWORD, "password": new, "confirm": new},
    )
    assert response.status_code == 302
    db.expire_all()
    user = db.get_one(User, hanna.id)
    assert user.password_wrapped_key is not None
    key = crypto.unwrap_with_secret(
        user.password_wrapped_key, new, accounts.private_key_context("hanna")
    )
    assert crypto.public_key_from_private(key) == user.public_key
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_with_secret(
            user.password_wrapped_key, PASSWORD, accounts.private_key_context("hanna")
        )
    # The one-time code still works with the new password.
    assert (
        post_sign_in(client.application.test_client(), "hanna", new, totp_code(user)).status_code
        == 302
    )  # type: ignore[attr-defined]


def test_recovery_key_sets_a_new_password_and_keeps_the_key(
    client: FlaskClient, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    old_public = hanna.public_key
    page = client.get("/staff/recover").get_data(as_text=True)
    new = "recovered long password"
    bad = client.post(
        "/staff/recover",
        data={
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "recovery_key": "AAAA-BBBB",
            "password": new,
            "confirm": new,
        },
    )
    assert bad.status_code == 400
    good = client.post(
        "/staff/recover",
        data={
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "recovery_key": RECOVERY_KEYS["hanna"],
            "password": new,
            "confirm": new,
        },
    )
    # The recovery key proves enough to set up a new second factor at once, in a limited session.
    assert good.headers["Location"].endswith("/staff/enrol")
    assert client.get("/staff/inbox").headers["Location"].endswith("/staff/enrol")
    enrol = client.get("/staff/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol)
    assert secret
    db.expire_all()
    user = db.get_one(User, hanna.id)
    assert user.public_key == old_public
    done = client.post(
        "/staff/enrol",
        data={"csrf_token": csrf_of(enrol), "code": pyotp.TOTP(secret.group(1)).now()},
    )
    assert done.status_code == 302
    assert client.get("/staff/inbox").status_code == 200


def test_admin_who_is_not_a_handler_reads_no_case(client: FlaskClient, db: Session) -> None:
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    assert client.get("/staff/inbox").status_code == 403
    assert client.get("/staff/cases/0123456789abcdef0123456789abcdef").status_code == 404


def activate_nina(client: FlaskClient, db: Session) -> str:
    """Invite and activate an account; return the enrol page that follows."""
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
    password = "maple orbit velvet canyon"
    return client.post(
        f"/staff/activate/{token}",
        data={"csrf_token": csrf_of(page), "password": password, "confirm": password},
        follow_redirects=True,
    ).get_data(as_text=True)


def recovery_key_on(page: str) -> str | None:
    found = re.search(r'id="recovery-key">([^<]+)<', page)
    return found.group(1) if found else None


def test_a_mistyped_code_keeps_the_recovery_key_on_the_enrol_page(
    client: FlaskClient, db: Session
) -> None:
    """Issue 16: the recovery key is shown again, with its box, until enrolment completes."""
    enrol = activate_nina(client, db)
    key = recovery_key_on(enrol)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol)
    assert key and secret
    good_code = pyotp.TOTP(secret.group(1)).now()
    wrong_code = "000000" if good_code != "000000" else "111111"
    wrong = client.post(
        "/staff/enrol", data={"csrf_token": csrf_of(enrol), "code": wrong_code, "stored": "y"}
    )
    assert wrong.status_code == 400
    again = wrong.get_data(as_text=True)
    assert recovery_key_on(again) == key
    assert 'name="stored"' in again
    assert "Nothing is lost" in again
    # A reload shows it too.
    assert recovery_key_on(client.get("/staff/enrol").get_data(as_text=True)) == key
    # The box must be ticked: a right code without it keeps the page and the key.
    unticked = client.post("/staff/enrol", data={"csrf_token": csrf_of(enrol), "code": good_code})
    assert unticked.status_code == 400
    assert recovery_key_on(unticked.get_data(as_text=True)) == key
    done = client.post(
        "/staff/enrol", data={"csrf_token": csrf_of(enrol), "code": good_code, "stored": "y"}
    )
    assert done.status_code == 302
    # Once enrolment completes, the key is gone from the session for good.
    assert client.get("/staff/enrol").status_code == 302
    rows = db.scalars(select(StaffSession)).all()
    assert all(row.pending_totp_wrapped is None for row in rows)
    assert crypto.parse_recovery_key(key)
