"""TOTP race: eight sign-ins sent at the same moment with one valid code and the right password.

A check made on the loaded row alone lets every one of them see the code's time step as unused,
so each would open a session. The site takes the step with one conditional UPDATE that must
change exactly one row; the database decides, so exactly one sign-in succeeds and the others are
refused, on SQLite and on PostgreSQL. Each request runs in its own thread with its own database
connection, released together by a barrier.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import crypto
from portal import create_app, migrate
from portal.db import integrity_info, make_engine
from portal.models import StaffSession, User
from portal.services import staff_auth
from tests.conftest import (
    TEST_INTEGRITY_KEY,
    drop_postgres_schema,
    make_config,
    postgres_schema_engine,
    require_postgres,
)
from tests.factories import PASSWORD, TOTP_SECRETS, make_handler
from tests.portal.test_reporter_web import csrf_of

PARALLEL = 8
# Mid-step, so that the whole test stays inside one 30-second TOTP step.
NOW = datetime(2026, 11, 23, 9, 0, 10, tzinfo=UTC)


@pytest.fixture
def shared_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database that several connections see at once, with real commits (the
    ordinary PostgreSQL fixture keeps each test inside one rolled-back connection)."""
    if backend == "sqlite":
        path = tmp_path / "race.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    base = require_postgres()
    schema = f"candor_race_{secrets.token_hex(4)}"
    engine = postgres_schema_engine(base, schema)
    migrate.upgrade(engine)
    yield engine.url.render_as_string(hide_password=False)
    engine.dispose()
    drop_postgres_schema(base, schema)


@pytest.fixture
def sessions(shared_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(shared_url, pool_size=PARALLEL + 2, max_overflow=0)
    yield sessionmaker(bind=engine, expire_on_commit=False, info=integrity_info(TEST_INTEGRITY_KEY))
    engine.dispose()


def all_at_once(work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in PARALLEL threads released together; return results in order."""
    barrier = threading.Barrier(PARALLEL)
    results: list[object] = [None] * PARALLEL

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # a refusal is a result too
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_one_code_opens_one_session_through_the_sign_in_page(
    shared_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with sessions() as db:
        hanna = make_handler(db, "hanna")
    code = pyotp.TOTP(TOTP_SECRETS["hanna"]).at(NOW)
    monkeypatch.setattr("portal.handler.auth_views.utcnow", lambda: NOW)
    app: Flask = create_app(make_config(shared_url, tmp_path))
    app.config["TESTING"] = True
    clients = [app.test_client() for _ in range(PARALLEL)]
    tokens = [csrf_of(c.get("/staff/sign-in").get_data(as_text=True)) for c in clients]

    def sign_in(index: int) -> int:
        response = clients[index].post(
            "/staff/sign-in",
            data={
                "csrf_token": tokens[index],
                "username": "hanna",
                "password": PASSWORD,
                "code": code,
            },
        )
        return response.status_code

    statuses = all_at_once(sign_in)
    assert all(isinstance(s, int) for s in statuses), statuses
    assert sorted(statuses) == [302] + [400] * (PARALLEL - 1), statuses  # type: ignore[type-var]
    with sessions() as db:
        opened = db.scalar(
            select(func.count()).select_from(StaffSession).where(StaffSession.user_id == hanna.id)
        )
        assert opened == 1
        assert db.get_one(User, hanna.id).totp_last_step == int(NOW.timestamp()) // 30


def test_one_code_finishes_enrolment_once(sessions: sessionmaker[Session]) -> None:
    with sessions() as db:
        hanna = make_handler(db, "hanna")
        key = crypto.unwrap_with_secret(
            hanna.password_wrapped_key or b"", PASSWORD, b"candor:user:hanna:private-key"
        )
        secret = pyotp.random_base32()
        hanna.totp_last_step = None
        db.commit()
        pending = staff_auth.PendingEnrolment(secret, "")
        login = staff_auth._open_session(db, hanna, key, NOW, pending)
        db.commit()
    code = pyotp.TOTP(secret).at(NOW)

    def confirm(_index: int) -> bool:
        with sessions() as db:
            return staff_auth.confirm_second_factor(db, login, code, now=NOW)

    results = all_at_once(confirm)
    assert results.count(True) == 1, results
    assert all(result is False for result in results if result is not True), results
