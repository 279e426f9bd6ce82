from __future__ import annotations

import re

import pyotp
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import Role, User
from portal.services import accounts


def test_create_user_prints_recovery_key_and_totp_uri_once(app: Flask, db: Session) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "candor",
            "create-user",
            "--role",
            "handler",
            "--username",
            "Hanna",
            "--display-name",
            "Hanna Berg",
            "--level",
            "2",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.scalars(select(User)).one()
    assert (user.username, user.role, user.level) == ("hanna", Role.HANDLER, 2)
    recovery = re.search(r"recovery key: (\S+)", result.output)
    uri = re.search(r"(otpauth://totp/\S+)", result.output)
    assert recovery and uri
    private_key = crypto.unwrap_with_secret(
        user.password_wrapped_key, "a long enough password", accounts.private_key_context("hanna")
    )
    assert crypto.public_key_from_private(private_key) == user.public_key
    by_recovery = crypto.unwrap_with_key(
        user.recovery_wrapped_key,
        crypto.parse_recovery_key(recovery.group(1)),
        accounts.private_key_context("hanna"),
    )
    assert by_recovery == private_key
    keys = crypto.derive_for_blob(user.password_wrapped_key, "a long enough password")
    assert crypto.verifier_matches(user.password_verifier, keys.verifier)
    secret = crypto.unwrap_with_key(
        user.totp_wrapped_secret, keys.wrapping_key, accounts.totp_context("hanna")
    ).decode()
    assert pyotp.parse_uri(uri.group(1)).secret == secret
    assert "a long enough password" not in result.output


def test_create_user_refuses_a_short_password_and_a_taken_name(app: Flask, db: Session) -> None:
    runner = app.test_cli_runner()
    args = [
        "candor",
        "create-user",
        "--role",
        "admin",
        "--username",
        "root",
        "--display-name",
        "Admin",
    ]
    short = runner.invoke(args=args, input="short\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert runner.invoke(args=args, input="a long enough password\n").exit_code == 0
    taken = runner.invoke(args=args, input="a long enough password\n")
    assert taken.exit_code != 0 and "taken" in taken.output
    assert len(db.scalars(select(User)).all()) == 1


def test_init_upgrades_and_creates_the_attachment_folder(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["candor", "init"])
    assert result.exit_code == 0, result.output
    assert "newest schema" in result.output
    assert app.extensions["candor.config"].storage.attachments_dir.is_dir()


def test_clock_tick_and_a_bounded_run(app: Flask, db: Session) -> None:
    runner = app.test_cli_runner()
    tick = runner.invoke(args=["candor", "clock", "tick"])
    assert tick.exit_code == 0, tick.output
    assert "deadlines acted on: 0 of 0 due" in tick.output
    run = runner.invoke(args=["candor", "clock", "run", "--passes", "2"])
    assert run.exit_code == 0, run.output
    assert run.output == ""  # quiet passes print nothing
