"""Faults: the database or the attachment store fails in the middle of a report.

The reporter gets their text back with a page that says to try again, nothing half-done is
kept (no case, no message, no file, pending or not), and the next request works by itself once
the part is back. The parts fail for real where they can: SQLite is made read-only on the
request's own connection or its folder taken away; PostgreSQL's backend is terminated mid-use
case or the site pointed at a closed port. The one patched call is the write to a full disk
(tests run as root, whom a read-only folder does not stop), and the rename at the commit.
"""

from __future__ import annotations

import errno
import html
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from portal import create_app, migrate
from portal.models import Attachment, Case, Message
from portal.services import attachment_store, attachments
from tests.conftest import (
    drop_postgres_schema,
    make_config,
    postgres_schema_engine,
    require_postgres,
)
from tests.factories import file_bytes, make_handler
from tests.portal.test_reporter_web import REPORT_TEXT, intake_fields, receipt_of

TRY_AGAIN = "could not reach its database just now"
STORE_REFUSED = "The files could not be stored just now"


@pytest.fixture
def handlers(db: Session) -> list[int]:
    return [make_handler(db, "hanna").id, make_handler(db, "sven", level=2).id]


def count(factory: Callable[[], Session], model: Any) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def stored_files(app: Flask) -> list[Path]:
    root: Path = app.extensions["candor.config"].storage.attachments_dir
    return sorted(root.iterdir()) if root.is_dir() else []


def post_report(client: FlaskClient, fields: dict[str, object]) -> tuple[int, str]:
    response = client.post("/report", data=fields, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def with_file(client: FlaskClient) -> dict[str, object]:
    return intake_fields(client, attachments=[file_bytes("ledger.txt", b"second ledger " * 50)])


def once_a_case_is_flushed(factory: sessionmaker[Session], act: Callable[[Session], None]) -> None:
    """Run ``act`` on the request's session right after the new case is written, once."""
    done: list[bool] = []

    def after_flush(session: Session, _context: object) -> None:
        if not done and any(isinstance(item, Case) for item in session.new):
            done.append(True)
            act(session)

    event.listen(factory, "after_flush", after_flush)


# The database fails in the middle of the use case, after the case row is written.


def test_sqlite_failing_mid_submission_keeps_nothing_and_the_site_recovers(
    app: Flask, database: tuple[str, sessionmaker[Session]], handlers: list[int]
) -> None:
    if not database[0].startswith("sqlite"):
        pytest.skip("the PostgreSQL variant terminates the backend (below)")
    factory = database[1]
    client = app.test_client()
    fields = with_file(client)

    # From the case's insert on, this connection refuses every write: the rest of the use case
    # (its grants, events, attachments, receipt) fails, as on a database that went read-only.
    once_a_case_is_flushed(
        factory, lambda session: session.connection().exec_driver_sql("PRAGMA query_only=1")
    )
    status, page = post_report(client, fields)
    assert status == 503
    assert TRY_AGAIN in page
    assert html.escape(REPORT_TEXT, quote=False) in page  # the form comes back, filled in
    assert f'value="{fields["form_token"]}"' in page  # under the same form token
    assert "files are not kept" in page  # and says the files must be chosen again
    assert count(factory, Case) == 0 and count(factory, Attachment) == 0
    assert stored_files(app) == []  # not even a pending part

    # The connection that went read-only was dropped: the very next request works.
    fields["attachments"] = [file_bytes("ledger.txt", b"second ledger " * 50)]
    response = client.post(
        "/report", data=fields, content_type="multipart/form-data", follow_redirects=True
    )
    assert response.status_code == 200
    receipt_of(response.get_data(as_text=True))
    assert count(factory, Case) == 1 and count(factory, Attachment) == 1
    assert [p.suffix for p in stored_files(app)] == [""]  # one file, committed


def test_sqlite_gone_gives_a_page_that_sends_the_text_again(
    app: Flask, database: tuple[str, sessionmaker[Session]], handlers: list[int]
) -> None:
    if not database[0].startswith("sqlite"):
        pytest.skip("the PostgreSQL variant points at a closed port (below)")
    factory = database[1]
    client = app.test_client()
    fields = with_file(client)
    # The database file is not there (a volume not mounted): a folder in its place, so that
    # SQLite cannot open it, nor make a new empty one.
    path = Path(database[0].removeprefix("sqlite:///"))
    away = path.with_name(path.name + "-away")
    engine = factory.kw["bind"]
    assert isinstance(engine, Engine)
    engine.dispose()
    path.rename(away)
    path.mkdir()
    try:
        status, page = post_report(client, fields)
    finally:
        path.rmdir()
        away.rename(path)
    assert status == 503
    assert TRY_AGAIN in page
    assert "files you chose could not be kept" in page
    # Everything typed is in the page's own form, which posts it again as it was.
    assert f">{html.escape(REPORT_TEXT, quote=False)}</textarea>" in page
    again = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    assert again["form_token"] == fields["form_token"] and again["category"] == "fraud"
    again |= dict(re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page))
    again = {k: html.unescape(v) for k, v in again.items()}

    # The database is back: the same page's button files the report, once.
    response = client.post("/report", data=again, follow_redirects=True)
    assert response.status_code == 200
    receipt_of(response.get_data(as_text=True))
    response = client.post("/report", data=again, follow_redirects=True)
    assert count(factory, Case) == 1
    assert count(factory, Attachment) == 0 and stored_files(app) == []


@pytest.fixture
def postgres_app(tmp_path: Path) -> Iterator[tuple[Flask, sessionmaker[Session], Engine]]:
    """An app on a schema of its own, with no outer transaction: its commits are real, and its
    connections can be terminated like those of a deployed site."""
    url = require_postgres()
    schema = f"candor_fault_{secrets.token_hex(4)}"
    engine = postgres_schema_engine(url, schema)
    migrate.upgrade(engine)
    try:
        config = make_config(engine.url.render_as_string(hide_password=False), tmp_path)
        app = create_app(config)
        app.config["TESTING"] = True
        config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
        factory = app.extensions["candor.sessionmaker"]
        with factory() as session:
            make_handler(session, "hanna")
            session.commit()
        yield app, factory, engine
    finally:
        app.extensions["candor.engine"].dispose()
        engine.dispose()
        drop_postgres_schema(url, schema)


def test_postgres_backend_terminated_at_the_commit_keeps_nothing_and_recovers(
    postgres_app: tuple[Flask, sessionmaker[Session], Engine],
) -> None:
    app, factory, admin = postgres_app
    client = app.test_client()
    fields = with_file(client)

    def terminate(session: Session) -> None:
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    # The whole use case is written and flushed; the server goes away just before its commit.
    fired: list[bool] = []

    def before_commit(session: Session) -> None:
        if not fired and any(isinstance(item, Case) for item in session.identity_map.values()):
            fired.append(True)
            terminate(session)

    event.listen(factory, "before_commit", before_commit)
    status, page = post_report(client, fields)
    assert fired
    assert status == 503 and TRY_AGAIN in page
    assert html.escape(REPORT_TEXT, quote=False) in page
    assert count(factory, Case) == 0 and count(factory, Attachment) == 0
    assert stored_files(app) == []  # the files renamed for the commit went with it

    fields["attachments"] = [file_bytes("ledger.txt", b"second ledger " * 50)]
    response = client.post(
        "/report", data=fields, content_type="multipart/form-data", follow_redirects=True
    )
    assert response.status_code == 200
    receipt_of(response.get_data(as_text=True))
    assert count(factory, Case) == 1 and count(factory, Attachment) == 1
    assert len(stored_files(app)) == 1


def test_postgres_on_a_closed_port_gives_a_page_that_keeps_the_text(tmp_path: Path) -> None:
    require_postgres()
    config = make_config("postgresql+psycopg://postgres@127.0.0.1:1/test", tmp_path)
    app = create_app(config)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    response = app.test_client().post(
        "/report",
        data={"form_token": "t" * 32, "category": "fraud", "q_what_happened": REPORT_TEXT},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert TRY_AGAIN in page
    assert html.escape(REPORT_TEXT, quote=False) in page
    assert '<input type="hidden" name="form_token" value="' + "t" * 32 + '">' in page
    # Any other page says the same without a 500.
    response = app.test_client().get("/")
    assert response.status_code == 503 and TRY_AGAIN in response.get_data(as_text=True)


# The attachment store fails.


def test_a_store_that_is_not_a_folder_keeps_the_text_and_no_case(
    app: Flask, database: tuple[str, sessionmaker[Session]], handlers: list[int]
) -> None:
    client = app.test_client()
    fields = with_file(client)
    # A file where the store's folder should be: refused even to root, unlike a chmod.
    root: Path = app.extensions["candor.config"].storage.attachments_dir
    shutil.rmtree(root)
    root.write_bytes(b"")
    status, page = post_report(client, fields)
    assert status == 503
    assert STORE_REFUSED in page
    assert html.escape(REPORT_TEXT, quote=False) in page
    assert f'value="{fields["form_token"]}"' in page
    assert count(database[1], Case) == 0
    assert root.read_bytes() == b""


class FullDisk:
    """The file handle of a pending upload on a disk that fills after the first bytes."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.closed = False

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self) -> None:
        self.closed = True
        self.handle.close()


def test_a_full_store_keeps_the_text_and_leaves_no_pending_file(
    app: Flask,
    database: tuple[str, sessionmaker[Session]],
    handlers: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = attachments.EncryptingSink.__init__

    def on_a_full_disk(self: attachments.EncryptingSink, *args: Any, **kwargs: Any) -> None:
        built(self, *args, **kwargs)
        self._handle = FullDisk(self._handle)  # type: ignore[assignment]

    client = app.test_client()
    fields = with_file(client)
    monkeypatch.setattr(attachments.EncryptingSink, "__init__", on_a_full_disk)
    status, page = post_report(client, fields)
    assert status == 503
    assert STORE_REFUSED in page
    assert html.escape(REPORT_TEXT, quote=False) in page
    assert count(database[1], Case) == 0
    assert stored_files(app) == []


def test_a_store_refusing_the_commit_leaves_no_case_and_no_file(
    app: Flask,
    database: tuple[str, sessionmaker[Session]],
    handlers: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = app.test_client()
    fields = with_file(client)

    def read_only(_source: object, _target: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(attachment_store.os, "replace", read_only)
    status, page = post_report(client, fields)
    assert status == 503
    assert STORE_REFUSED in page
    assert html.escape(REPORT_TEXT, quote=False) in page
    assert count(database[1], Case) == 0 and count(database[1], Message) == 0
    assert stored_files(app) == []


def test_a_follow_up_whose_file_the_store_refuses_is_kept_as_a_draft(
    app: Flask,
    database: tuple[str, sessionmaker[Session]],
    handlers: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.portal.test_nothing_lost import FOLLOW_UP, sign_in_reporter
    from tests.portal.test_reporter_web import csrf_of, file_report

    client = app.test_client()
    code, passphrase = file_report(client)
    page = sign_in_reporter(client, code, passphrase)

    def read_only(_source: object, _target: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(attachment_store.os, "replace", read_only)
    response = client.post(
        "/case/messages",
        data={
            "csrf_token": csrf_of(page),
            "body": FOLLOW_UP,
            "attachments": [file_bytes("ledger.txt", b"second ledger")],
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert STORE_REFUSED in page
    assert FOLLOW_UP in page
    assert count(database[1], Message) == 0
    assert stored_files(app) == []


def test_a_follow_up_when_the_database_fails_comes_back_as_a_draft(
    app: Flask, database: tuple[str, sessionmaker[Session]], handlers: list[int]
) -> None:
    if not database[0].startswith("sqlite"):
        pytest.skip("SQLite's query_only makes the request's own connection refuse writes")
    from tests.portal.test_nothing_lost import FOLLOW_UP, sign_in_reporter
    from tests.portal.test_reporter_web import csrf_of, file_report

    factory = database[1]
    client = app.test_client()
    code, passphrase = file_report(client)
    page = sign_in_reporter(client, code, passphrase)
    done: list[bool] = []

    # Before the message is written: the flush that would write it fails.
    def before_flush(session: Session, _context: object, _instances: object) -> None:
        if not done and any(isinstance(item, Message) for item in session.new):
            done.append(True)
            session.connection().exec_driver_sql("PRAGMA query_only=1")

    event.listen(factory, "before_flush", before_flush)
    data = {"csrf_token": csrf_of(page), "body": FOLLOW_UP}
    response = client.post("/case/messages", data=data)
    page = response.get_data(as_text=True)
    assert done and response.status_code == 503
    assert TRY_AGAIN in page
    assert f">{html.escape(FOLLOW_UP, quote=False)}</textarea>" in page
    assert count(factory, Message) == 0

    # Back: the page's own button sends it, once.
    response = client.post("/case/messages", data=data)
    assert response.status_code == 302 and "#thread" in response.headers["Location"]
    assert count(factory, Message) == 1
