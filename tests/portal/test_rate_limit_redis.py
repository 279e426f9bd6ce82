"""Rate-limit counters in Redis are shared by every instance of the site; receipt codes never
reach Redis, and their delays are shared through the database."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
import redis
from flask import Flask

import crypto
from portal import create_app
from tests.conftest import make_config
from tests.factories import make_handler
from tests.portal.test_reporter_web import csrf_of, file_report

REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def instances(database: tuple[str, object], tmp_path: Path) -> list[Flask]:
    """Two processes of one site, sharing the database and Redis (and nothing else)."""
    if not redis_answers():
        pytest.skip("Redis does not answer at 127.0.0.1:6379")
    # Database 15 belongs to these tests: counters left by an earlier run must not count.
    redis.Redis.from_url(REDIS_URL).flushdb()
    config = make_config(database[0], tmp_path, ratelimit__storage_url=REDIS_URL)
    apps = []
    for _ in range(2):
        app = create_app(config)
        app.config["TESTING"] = True
        apps.append(app)
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    with apps[0].app_context():
        make_handler(apps[0].extensions["candor.sessionmaker"](), "hanna")
    return apps


def test_staff_sign_in_counters_in_redis_are_shared_between_instances(
    instances: list[Flask],
) -> None:
    def attempt(app: Flask, n: int) -> int:
        client = app.test_client()
        page = client.get("/staff/sign-in").get_data(as_text=True)
        data = {
            "csrf_token": csrf_of(page),
            "username": "hanna",
            "password": f"wrong password {n}",
            "code": "123456",
        }
        return int(client.post("/staff/sign-in", data=data).status_code)

    first, second = instances
    assert [attempt(first, n) for n in range(10)] == [400] * 10
    assert attempt(second, 10) == 429
    assert redis.Redis.from_url(REDIS_URL).keys()  # the counters are in Redis, not in memory


def test_receipt_code_delays_are_shared_and_no_code_reaches_redis(
    instances: list[Flask],
) -> None:
    first, second = instances
    code, _ = file_report(first.test_client())

    def guess(app: Flask, n: int) -> int:
        client = app.test_client()
        page = client.get("/check").get_data(as_text=True)
        data = {"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": f"guess {n}"}
        return int(client.post("/check", data=data).status_code)

    # Six failures spread over both instances add up to one count, as they would on the
    # database both instances share.
    assert [guess(app, n) for n, app in enumerate([first, second] * 3)] == [400] * 6
    assert guess(second, 6) == 429
    assert guess(first, 7) == 429
    canonical = crypto.normalize_receipt_code(code)
    stored = b" ".join(redis.Redis.from_url(REDIS_URL).keys())
    for form in (canonical, code, canonical[:8]):
        assert form.encode() not in stored
    assert not re.search(rb"\d{16}", stored)
