"""Rate-limit counters in Redis are shared by every instance of the site."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis
from flask import Flask

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


def test_guesses_counted_in_redis_are_shared_between_instances(
    database: tuple[str, object], db: object, tmp_path: Path
) -> None:
    if not redis_answers():
        pytest.skip("Redis does not answer at 127.0.0.1:6379")
    # Database 15 belongs to this test: counters left by an earlier run must not count.
    redis.Redis.from_url(REDIS_URL).flushdb()
    url = database[0]
    config = make_config(url, tmp_path, ratelimit__storage_url=REDIS_URL)

    def instance() -> Flask:
        app = create_app(config)
        app.config["TESTING"] = True
        config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
        return app

    first = instance()
    with first.app_context():
        make_handler(first.extensions["candor.sessionmaker"](), "hanna")
    client = first.test_client()
    code, _ = file_report(client)

    def guess(app: Flask, n: int) -> int:
        c = app.test_client()
        html = c.get("/check").get_data(as_text=True)
        data = {"csrf_token": csrf_of(html), "receipt_code": code, "passphrase": f"guess {n}"}
        return int(c.post("/check", data=data).status_code)

    assert [guess(first, n) for n in range(5)] == [400] * 5
    second = instance()  # another process of the same site, sharing only Redis
    assert guess(second, 5) == 429
