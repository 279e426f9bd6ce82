"""After a whole reporter journey, nothing identifying is stored or logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuthorKind, Case
from portal.services import messaging
from tests.factories import NOW, file_bytes, make_handler
from tests.portal.test_reporter_web import REPORT_TEXT, csrf_of, intake_fields, receipt_of

REPORTER_ADDRESS = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (CandorProbe; rv:128.0) Gecko/20100101 Firefox/128.0"
FOLLOW_UP = "The second depot does the same with copper cable."
FILE_CONTENT = b"Invoice 4711: spare parts sold for cash"


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database file itself is read, byte for byte: SQLite only."""
    name: str = request.param
    return name


def test_journey_leaves_no_identifying_trace(
    app: Flask, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    make_handler(db, "hanna")
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=REPORTER_ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    filed = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("evidence.txt", FILE_CONTENT)]),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    code, passphrase = receipt_of(filed.get_data(as_text=True))
    case = db.scalars(select(Case)).one()
    store = app.extensions["candor.attachments"]
    messaging.add_message(
        db, case, "We are looking into it.", author_kind=AuthorKind.HANDLER, store=store, now=NOW
    )
    check = client.get("/check").get_data(as_text=True)
    client.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    page = client.get("/case").get_data(as_text=True)
    assert REPORT_TEXT in page
    client.post(
        "/case/messages",
        data={
            "csrf_token": csrf_of(page),
            "body": FOLLOW_UP,
            "attachments": [file_bytes("more.txt", FILE_CONTENT)],
        },
        content_type="multipart/form-data",
    )
    assert FOLLOW_UP in client.get("/case").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    db.close()
    app.extensions["candor.engine"].dispose()

    database_file = Path(app.extensions["candor.config"].database.url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database_file.parent.glob(database_file.name + "*"))
    # A control: the policy name is kept in the clear, so this really is the database's content.
    assert b"eu-directive" in stored
    attachments = b"".join(p.read_bytes() for p in store.root.iterdir())
    assert len(list(store.root.iterdir())) == 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    secrets_ = {
        "receipt code": code,
        "receipt code digits": code.replace(" ", ""),
        "passphrase": passphrase,
        "report text": REPORT_TEXT,
        "follow-up": FOLLOW_UP,
        "file content": FILE_CONTENT.decode(),
        "file name": "evidence.txt",
        "IP address": REPORTER_ADDRESS,
        "user agent": "CandorProbe",
    }
    for what, value in secrets_.items():
        for where, haystack in (("database", stored), ("attachments", attachments)):
            assert value.encode() not in haystack, f"{what} found in the {where}"
            assert value.encode("utf-16-le") not in haystack, f"{what} found in the {where}"
        assert value not in logged, f"{what} found in the logs"
