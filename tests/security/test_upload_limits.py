"""Attack: filling the disk or drowning the handlers with uploads (600 files in 7 seconds).

Files are written only after the form has shown a valid CSRF token, and for follow-ups a live
reporter session, in the fields before them; otherwise nothing reaches the disk. Each message
takes at most MAX_FILES files and the configured bytes; each case has a storage quota that the
reporter's page states; posts that carry files are counted per site (requests and megabytes)
and per case, before any of the body is read, and a flood gets 429, never 500. Routes that take
no files accept only a small body. Refusals keep what the reporter typed where the page can.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal import uploads
from portal.config import Config
from portal.models import Case, Message
from portal.services.intake import MAX_FILES
from portal.uploads import SMALL_BODY
from tests.conftest import make_config
from tests.factories import make_handler
from tests.portal.test_reporter_web import REPORT_TEXT, csrf_of, intake_fields
from tests.security.upload_helpers import file_and_sign_in, follow_up_with_files, text_of

UPLOAD_SITE_LIMIT = 6


@pytest.fixture
def config(database: tuple[str, sessionmaker[Session]], tmp_path: Path) -> Config:
    return make_config(
        database[0],
        tmp_path,
        storage__case_quota_mb=1,
        ratelimit__upload_site=f"{UPLOAD_SITE_LIMIT} per hour",
        ratelimit__message_per_case="3 per hour",
    )


@pytest.fixture
def handlers(db: Session) -> list[int]:
    return [make_handler(db, "hanna").id]


class Written:
    sinks = 0
    bytes = 0


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> type[Written]:
    """Counts every encrypting sink the upload parser opens and every byte given to one."""
    Written.sinks = Written.bytes = 0

    class CountingSink(uploads.EncryptingSink):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            Written.sinks += 1
            super().__init__(*args, **kwargs)

        def write(self, data: bytes) -> int:
            Written.bytes += len(data)
            return super().write(data)

    monkeypatch.setattr(uploads, "EncryptingSink", CountingSink)
    return Written


def _stored(app: Flask) -> list[Path]:
    return [p for p in app.extensions["candor.attachments"].root.rglob("*") if p.is_file()]


def _post_report(client: FlaskClient, files: list[tuple[str, bytes]], **extra: object) -> Any:
    data = intake_fields(client, **extra)
    data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(
        "/report", data=data, content_type="multipart/form-data", follow_redirects=True
    )


def test_oversized_upload_is_refused_and_the_text_kept(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask
) -> None:
    # Here the case quota (1 MB) is below the form's limit (5 MB), so it is the one that binds.
    response = _post_report(client, [("big.bin", b"x" * (1024 * 1024 + 1))])
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "larger than 1.0 MB in all, the most one report can store" in page
    assert REPORT_TEXT in page
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert _stored(app) == []


def test_too_many_files_are_refused_with_a_clear_message(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask, written: type[Written]
) -> None:
    files = [(f"page{i}.txt", b"page %d" % i) for i in range(MAX_FILES + 5)]
    response = _post_report(client, files)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"Attach at most {MAX_FILES} files" in page and REPORT_TEXT in page
    assert written.sinks == MAX_FILES  # the extra parts were never written
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert _stored(app) == []


def test_upload_flood_gets_429_never_500(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask, written: type[Written]
) -> None:
    statuses = []
    for number in range(UPLOAD_SITE_LIMIT + 4):
        response = _post_report(client, [(f"f{number}.txt", b"flood %d" % number)])
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert "Nothing was saved" in response.get_data(as_text=True)
            assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert statuses == [200] * UPLOAD_SITE_LIMIT + [429] * 4
    assert written.sinks == UPLOAD_SITE_LIMIT  # refused before a byte of the body was read
    assert db.scalar(select(func.count()).select_from(Case)) == UPLOAD_SITE_LIMIT


def test_megabytes_across_the_site_are_bounded(
    client: FlaskClient,
    handlers: list[int],
    app: Flask,
    written: type[Written],
    database: tuple[str, sessionmaker[Session]],
    tmp_path: Path,
) -> None:
    small = make_config(database[0], tmp_path, ratelimit__upload_mb_site="3 per hour")
    app.extensions["candor.config"] = small
    two_mb = os.urandom(2 * 1024 * 1024)
    assert _post_report(client, [("a.bin", two_mb[:1024])]).status_code == 200
    assert _post_report(client, [("b.bin", two_mb)]).status_code == 429
    assert written.sinks == 1


def test_storage_quota_per_case_is_stated_and_refusal_keeps_the_draft(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask
) -> None:
    chunk = os.urandom(600 * 1024)  # incompressible, stored as it is
    page = file_and_sign_in(client, [("first.bin", chunk)])
    assert re.search(r"You have used 60\d\.\d KB of 1\.0 MB", text_of(page))
    status, page = follow_up_with_files(client, page, [("second.bin", chunk)], "Draft kept here.")
    assert status == 400
    assert "do not fit in the storage for this case: you have used 0.6 MB of 1.0 MB" in page
    assert "Draft kept here." in page
    assert db.scalar(select(func.count()).select_from(Message)) == 0
    assert len(_stored(app)) == 1


def test_messages_per_case_are_limited(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    page = file_and_sign_in(client)
    statuses = [follow_up_with_files(client, page, [], f"Message {n}")[0] for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert db.scalar(select(func.count()).select_from(Message)) == 3


BIG = b"A" * (3 * 1024 * 1024)


def test_posts_without_csrf_token_write_nothing(
    client: FlaskClient, handlers: list[int], app: Flask, written: type[Written]
) -> None:
    data = intake_fields(client)
    data.pop("csrf_token")
    data["attachments"] = [(io.BytesIO(BIG), "big.bin")]
    assert client.post("/report", data=data).status_code == 400
    data["csrf_token"] = "forged." + secrets.token_urlsafe(40)
    data["attachments"] = [(io.BytesIO(BIG), "big.bin")]
    assert client.post("/report", data=data).status_code == 400
    assert written.sinks == 0 and written.bytes == 0
    assert _stored(app) == []


def test_csrf_token_after_the_files_is_too_late(
    client: FlaskClient, handlers: list[int], app: Flask, written: type[Written]
) -> None:
    """A client that puts the file part first gets nothing written, even with a valid token."""
    token = intake_fields(client)["csrf_token"]
    boundary = "candor-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
        f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    body += BIG + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"'.encode()
    body += f"\r\n\r\n{token}\r\n--{boundary}--\r\n".encode()
    response = client.post(
        "/report", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 400
    assert written.sinks == 0 and _stored(app) == []


def test_follow_up_without_a_session_writes_nothing_and_keeps_the_draft(
    client: FlaskClient, handlers: list[int], app: Flask, written: type[Written]
) -> None:
    token = csrf_of(client.get("/check").get_data(as_text=True))
    response = client.post(
        "/case/messages",
        data={
            "csrf_token": token,
            "body": "My unsent words",
            "attachments": [(io.BytesIO(BIG), "big.bin")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 401
    assert "My unsent words" in response.get_data(as_text=True)
    assert written.sinks == 0 and written.bytes == 0


def test_handler_reply_without_a_staff_session_writes_nothing(
    client: FlaskClient, handlers: list[int], app: Flask, written: type[Written]
) -> None:
    token = csrf_of(client.get("/check").get_data(as_text=True))
    response = client.post(
        "/staff/cases/0123abcd/messages",
        data={"csrf_token": token, "body": "x", "attachments": [(io.BytesIO(BIG), "big.bin")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert written.sinks == 0


def test_routes_without_files_accept_only_a_small_body(
    client: FlaskClient, handlers: list[int], app: Flask, written: type[Written]
) -> None:
    token = csrf_of(client.get("/check").get_data(as_text=True))
    fields = {"csrf_token": token, "receipt_code": "1", "passphrase": "x"}
    response = client.post("/check", data={**fields, "draft": "d" * (SMALL_BODY + 1)})
    assert response.status_code == 413
    assert "This form sent more than this page accepts" in response.get_data(as_text=True)
    # The longest text a reporter may type still fits.
    assert client.post("/check", data={**fields, "draft": "ä" * 20_000}).status_code == 400
    # A file part sent to a route that takes none is never written.
    response = client.post(
        "/logout",
        data={"csrf_token": token, "attachments": [(io.BytesIO(b"x" * 1000), "a.bin")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert written.sinks == 0
