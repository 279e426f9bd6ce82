"""The first run says what to do next: on the console, the landing page, sign-in and admin pages."""

from __future__ import annotations

import tomllib
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.services.readiness import site_readiness
from tests.factories import make_admin, make_handler, sign_in_as


def test_init_on_a_new_site_prints_the_next_steps(app: Flask, monkeypatch) -> None:
    monkeypatch.setenv("CANDOR_CONFIG", "instance/candor.toml")
    result = app.test_cli_runner().invoke(args=["candor", "init"])
    assert result.exit_code == 0, result.output
    assert "This site cannot take reports yet. Next:" in result.output
    assert (
        "1. Create the first admin (the password is read from the terminal): "
        "CANDOR_CONFIG=instance/candor.toml .venv/bin/flask --app wsgi candor create-user "
        '--role admin --username alice --display-name "Alice Example"'
    ) in result.output
    assert "2. Sign in as that admin at http://localhost/staff/sign-in" in result.output
    assert "an admin reads no case unless also a handler" in result.output


def test_init_is_quiet_once_a_handler_can_receive(app: Flask, db: Session) -> None:
    make_handler(db, "hanna")
    result = app.test_cli_runner().invoke(args=["candor", "init"])
    assert result.exit_code == 0, result.output
    assert "Next:" not in result.output


def test_init_says_when_the_served_port_is_not_the_base_url(app: Flask, monkeypatch) -> None:
    monkeypatch.setenv("CANDOR_SERVE_URL", "http://127.0.0.1:9000")
    result = app.test_cli_runner().invoke(args=["candor", "init"])
    assert "served at http://127.0.0.1:9000" in result.output
    assert "site.base_url = http://localhost" in result.output
    monkeypatch.setenv("CANDOR_SERVE_URL", "http://localhost:80")
    result = app.test_cli_runner().invoke(args=["candor", "init"])
    assert "served at" not in result.output


def test_landing_and_sign_in_say_how_to_make_the_first_admin(
    client: FlaskClient, db: Session
) -> None:
    for path in ("/", "/staff/sign-in"):
        page = client.get(path).get_data(as_text=True)
        assert "no staff account yet" in page.lower(), path
        assert "candor create-user" in page and "--role admin" in page, path
    make_admin(db)
    assert site_readiness(db).has_staff and not site_readiness(db).can_receive
    for path in ("/", "/staff/sign-in"):
        assert "no staff account yet" not in client.get(path).get_data(as_text=True).lower()


def test_admin_pages_say_why_no_report_can_be_taken_and_that_email_is_off(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    page = " ".join(client.get("/admin/users").get_data(as_text=True).split())
    assert "This site cannot take reports yet" in page
    assert "E-mail is switched off" in page
    failed = " ".join(client.get("/admin/notifications").get_data(as_text=True).split())
    assert "every notification so far was sent" not in failed
    assert "no notification is sent at all" in failed
    make_handler(db, "hanna")
    assert "This site cannot take reports yet" not in client.get("/admin/users").get_data(
        as_text=True
    )
    # Visitors are told too, in their words.
    assert client.get("/report").status_code == 200


def test_packaging_names_its_licence_as_an_spdx_string() -> None:
    # A table here makes setuptools warn on every install.
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    assert project["license"] == "AGPL-3.0-or-later"
