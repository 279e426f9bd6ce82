"""Double submit: the same intake form posted twice at once (a double click, a resent request).

Two cases for one report would split the handlers' work and give the reporter two receipts, one
of which they may lose. Each form carries a one-time token whose HMAC is unique on the case
row; when the same form races in on several connections, one commit wins and the others fall
back to the winner's pending receipt. Exactly one case opens and every post shows the same
receipt. The posts run in real threads, each request with its own database session, on SQLite
and on PostgreSQL (a schema of its own, really committed, dropped afterwards).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from portal import create_app, migrate
from portal.db import integrity_info, make_engine
from portal.models import Attachment, Case
from tests.conftest import (
    POSTGRES_URL,
    TEST_INTEGRITY_KEY,
    drop_postgres_schema,
    make_config,
    postgres_schema_engine,
)
from tests.factories import file_bytes, make_handler
from tests.portal.test_reporter_web import intake_fields, receipt_of

POSTS = 4


@pytest.fixture
def engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A database that really commits, so that separate connections race for real."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'race.sqlite3'}")
        migrate.upgrade(engine)
        yield engine
        engine.dispose()
        return
    assert POSTGRES_URL is not None
    schema = f"candor_double_{secrets.token_hex(4)}"
    engine = postgres_schema_engine(POSTGRES_URL, schema)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        drop_postgres_schema(POSTGRES_URL, schema)


@pytest.fixture
def racing_app(engine: Engine, tmp_path: Path) -> Flask:
    config = make_config(engine.url.render_as_string(hide_password=False), tmp_path)
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = sessionmaker(
        bind=engine, expire_on_commit=False, info=integrity_info(TEST_INTEGRITY_KEY)
    )
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    with Session(engine, info=integrity_info(TEST_INTEGRITY_KEY)) as db:
        make_handler(db, "hanna")
    return app


def copy_client(app: Flask, source: FlaskClient) -> FlaskClient:
    """Another connection from the same browser: the same cookie, so the same CSRF token."""
    other = app.test_client()
    cookie = source.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value, domain="localhost")
    return other


def test_the_same_form_posted_in_parallel_opens_one_case(racing_app: Flask, engine: Engine) -> None:
    browser = racing_app.test_client()
    fields = intake_fields(browser)
    clients = [copy_client(racing_app, browser) for _ in range(POSTS)]
    start = threading.Barrier(POSTS)
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def post(client: FlaskClient, index: int) -> None:
        try:
            start.wait()
            response = client.post(
                "/report",
                data={**fields, "attachments": [file_bytes(f"proof{index}.txt", b"evidence")]},
                content_type="multipart/form-data",
                follow_redirects=True,
            )
            results.append((response.status_code, response.get_data(as_text=True)))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(c, i)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert [status for status, _ in results] == [200] * POSTS, [r[1][-600:] for r in results]
    assert len({receipt_of(html) for _, html in results}) == 1
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(Case)) == 1
        # Only the winning post's file is kept; the others' uploads were discarded.
        assert db.scalar(select(func.count()).select_from(Attachment)) == 1
    stored = list(racing_app.extensions["candor.attachments"].root.iterdir())
    assert len(stored) == 1 and not stored[0].name.endswith(".part")
