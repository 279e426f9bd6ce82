"""Canary search: does any plaintext a reporter or handler gave end up where a copy can read it?

A copied database, attachment folder, temp folder or log file must not hold report content,
names, file names, file contents, receipt codes or passphrases. A unique canary goes into every
field, file name and file content of a full journey (file a report with a file, check back,
send a follow-up with a file, a handler's reply with a file and a note, both sides download);
then every row of every table, the SQLite file itself, the attachment folder, the temp folder
and the captured logs are searched (UTF-8 and UTF-16). Uploads are encrypted as they arrive, so
nothing is spooled to a temp file in the clear. The IP address and user agent check lives in
``tests/portal/test_nothing_identifying.py``.
"""

from __future__ import annotations

import logging
import re
import secrets
import tempfile
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Base, Case, User
from tests.factories import file_bytes
from tests.portal.test_reporter_web import csrf_of, intake_fields, receipt_of
from tests.security.conftest import FiledCase, reporter_client, staff_client

FIELDS = [
    "answer",
    "second-answer",
    "name",
    "contact",
    "file-name",
    "file-content",
    "follow-up",
    "follow-up-file-name",
    "follow-up-file-content",
    "reply",
    "reply-file-name",
    "reply-file-content",
    "note",
]


def haystacks(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


def test_canaries_are_nowhere_after_a_full_journey(
    app: Flask,
    db: Session,
    team: dict[str, User],
    backend: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    canary = {field: f"canary-{field}-{secrets.token_hex(6)}" for field in FIELDS}

    filer = app.test_client()
    filed = filer.post(
        "/report",
        data=intake_fields(
            filer,
            q_what_happened=canary["answer"],
            q_when_where=canary["second-answer"],
            anonymity="confidential",
            name=canary["name"],
            contact=canary["contact"],
            attachments=[file_bytes(canary["file-name"], canary["file-content"].encode())],
        ),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    code, passphrase = receipt_of(filed.get_data(as_text=True))
    db.expire_all()
    case = FiledCase(db.scalars(select(Case.uid)).one(), code, passphrase)

    reporter = reporter_client(app, case)
    page = reporter.get("/case").get_data(as_text=True)
    assert canary["answer"] in page
    reporter.post(
        "/case/messages",
        data={
            "csrf_token": csrf_of(page),
            "body": canary["follow-up"],
            "attachments": [
                file_bytes(canary["follow-up-file-name"], canary["follow-up-file-content"].encode())
            ],
        },
        content_type="multipart/form-data",
    )
    handler = staff_client(app, db, team["hanna"])
    token = csrf_of(handler.get(case.url).get_data(as_text=True))
    handler.post(
        f"{case.url}/messages",
        data={
            "csrf_token": token,
            "kind": "reply",
            "body": canary["reply"],
            "attachments": [
                file_bytes(canary["reply-file-name"], canary["reply-file-content"].encode())
            ],
        },
        content_type="multipart/form-data",
    )
    handler.post(f"{case.url}/notes", data={"csrf_token": token, "body": canary["note"]})
    handler.post(f"{case.url}/identity", data={"csrf_token": token})
    handler_page = handler.get(case.url).get_data(as_text=True)
    reporter_page = reporter.get("/case").get_data(as_text=True)
    # A control: everything went in and is readable to those who may read it.
    for field in ("answer", "follow-up", "reply", "note", "reply-file-name", "file-name"):
        assert canary[field] in handler_page, field
    assert canary["reply"] in reporter_page
    downloads = [
        client.get(link).data
        for client, html, kind in (
            (handler, handler_page, "/staff/cases/"),
            (reporter, reporter_page, "/case/attachments/"),
        )
        for link in _links(html, kind)
    ]
    assert canary["file-content"].encode() in downloads
    assert canary["reply-file-content"].encode() in downloads
    reporter.post("/logout", data={"csrf_token": csrf_of(reporter_page)})

    secrets_ = {**canary, "receipt code": code.replace(" ", ""), "passphrase": passphrase}
    db.expire_all()
    rows = repr(
        [
            tuple(row)
            for table in Base.metadata.sorted_tables
            for row in db.execute(table.select()).all()
        ]
    )
    places: dict[str, bytes] = {
        "a table row": rows.encode(),
        "the attachment folder": haystacks(app.extensions["candor.attachments"].root),
        "the temp folder": haystacks(temp),
        "the logs": "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records).encode(),
    }
    if backend == "sqlite":
        db.close()
        app.extensions["candor.engine"].dispose()
        database = Path(app.extensions["candor.config"].database.url.removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert b"eu-directive" in stored  # a control: this is the database's content
        places["the database file"] = stored
    assert len(list(app.extensions["candor.attachments"].root.iterdir())) == 3
    for what, value in secrets_.items():
        for where, haystack in places.items():
            for encoding in ("utf-8", "utf-16-le"):
                assert value.encode(encoding) not in haystack, f"{what} found in {where}"


def _links(html: str, kind: str) -> list[str]:
    return re.findall(rf'href="({re.escape(kind)}[^"]*attachments/[0-9a-f]+)"', html)
