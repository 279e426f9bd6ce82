"""Password spray: one common password tried once against each of many usernames, so that no
single account ever reaches its own limit.

Besides the limit per username (keyed on the username as the service looks it up, never on an
address), failed staff sign-ins and recovery attempts share one budget for the whole site
(``ratelimit.staff_sign_in_site``). Once it is spent, every further attempt gets a 429 page that
says what happened and when to try again; a client's address plays no part in either key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from portal import create_app
from portal.config import ConfigError
from tests.conftest import make_config
from tests.factories import PASSWORD, make_handler, totp_code
from tests.portal.test_reporter_web import csrf_of

SITE_LIMIT = 20
USERNAMES = [f"user{i:02d}" for i in range(25)]


@pytest.fixture
def spray_app(database: tuple[str, sessionmaker[Session]], tmp_path: Path) -> Flask:
    config = make_config(
        database[0], tmp_path, ratelimit__staff_sign_in_site=f"{SITE_LIMIT} per 15 minutes"
    )
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = database[1]
    return app


def attempt(client: FlaskClient, path: str, username: str, address: str) -> int:
    """One failed attempt, sent as if from ``address``."""
    page = client.get(path).get_data(as_text=True)
    fields = {"csrf_token": csrf_of(page), "username": username}
    if path.endswith("sign-in"):
        fields |= {"password": "Summer2026!", "code": "123456"}
    else:
        fields |= {"recovery_key": "AAAA-BBBB", "password": PASSWORD, "confirm": PASSWORD}
    response = client.post(path, data=fields, environ_base={"REMOTE_ADDR": address})
    return response.status_code


def test_a_spray_over_25_usernames_is_stopped(spray_app: Flask) -> None:
    client = spray_app.test_client()
    statuses = [
        attempt(client, "/staff/sign-in", name, f"198.51.100.{i}")
        for i, name in enumerate(USERNAMES)
    ]
    assert statuses == [400] * SITE_LIMIT + [429] * (len(USERNAMES) - SITE_LIMIT)


def test_the_429_page_says_what_happened_and_when_to_try_again(spray_app: Flask) -> None:
    client = spray_app.test_client()
    for name in USERNAMES[:SITE_LIMIT]:
        attempt(client, "/staff/sign-in", name, "198.51.100.1")
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post(
        "/staff/sign-in",
        data={"csrf_token": csrf_of(page), "username": "x", "password": "y", "code": "1"},
    )
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "Sign-in paused" in text
    assert "Nothing was changed" in text
    assert "Try again after" in text
    assert "Too Many Requests" not in text
    assert 60 <= int(response.headers["Retry-After"]) <= 16 * 60


def test_sign_in_and_recovery_share_the_site_budget(spray_app: Flask) -> None:
    client = spray_app.test_client()
    half = SITE_LIMIT // 2
    for name in USERNAMES[:half]:
        assert attempt(client, "/staff/sign-in", name, "198.51.100.1") == 400
    for name in USERNAMES[half:SITE_LIMIT]:
        assert attempt(client, "/staff/recover", name, "198.51.100.2") == 400
    assert attempt(client, "/staff/recover", "someone", "198.51.100.3") == 429
    assert attempt(client, "/staff/sign-in", "someone", "198.51.100.4") == 429


def test_successful_sign_ins_do_not_spend_the_budget(spray_app: Flask, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    client = spray_app.test_client()
    for name in USERNAMES[: SITE_LIMIT - 1]:
        attempt(client, "/staff/sign-in", name, "198.51.100.1")
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post(
        "/staff/sign-in",
        data={
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "password": PASSWORD,
            "code": totp_code(hanna),
        },
    )
    assert response.status_code == 302
    other = spray_app.test_client()
    assert attempt(other, "/staff/sign-in", "last-one", "198.51.100.9") == 400
    assert attempt(other, "/staff/sign-in", "one-more", "198.51.100.9") == 429


def test_the_per_account_limit_counts_every_spelling_of_a_username(spray_app: Flask) -> None:
    client = spray_app.test_client()
    spellings = ["hanna", "Hanna", " HANNA ", "\uff48\uff41\uff4e\uff4e\uff41"]  # last: full-width
    statuses = [
        attempt(client, "/staff/sign-in", spellings[i % len(spellings)], f"203.0.113.{i}")
        for i in range(11)
    ]
    assert statuses == [400] * 10 + [429]


def test_the_site_limit_is_validated_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="staff_sign_in_site"):
        make_config("sqlite://", tmp_path, ratelimit__staff_sign_in_site="lots")
