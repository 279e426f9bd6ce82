"""Posting files through the real forms, and reading back what was stored, for the upload tests."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, User
from portal.services import casework, messaging
from portal.services.messaging import AttachmentView
from tests.factories import handler_private_key
from tests.portal.test_reporter_web import csrf_of, intake_fields, receipt_of, sign_in


def report_with_files(
    client: FlaskClient, files: list[tuple[str, bytes]], **extra: object
) -> tuple[int, str]:
    """POST /report with ``files`` attached; (status, page)."""
    data = intake_fields(client, **extra)
    data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    response = client.post(
        "/report", data=data, content_type="multipart/form-data", follow_redirects=True
    )
    return response.status_code, response.get_data(as_text=True)


def follow_up_with_files(
    client: FlaskClient, page: str, files: list[tuple[str, bytes]], body: str, **extra: object
) -> tuple[int, str]:
    """POST /case/messages from the reporter's case ``page``; (status, page after redirects)."""
    data: dict[str, object] = {"csrf_token": csrf_of(page), "body": body, **extra}
    data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    response = client.post(
        "/case/messages", data=data, content_type="multipart/form-data", follow_redirects=True
    )
    return response.status_code, response.get_data(as_text=True)


def file_and_sign_in(client: FlaskClient, files: list[tuple[str, bytes]] | None = None) -> str:
    """File a report (with ``files``), sign in as its reporter; the case page."""
    status, page = report_with_files(client, files or [])
    assert status == 200, page
    code, passphrase = receipt_of(page)
    assert sign_in(client, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    return client.get("/case").get_data(as_text=True)


def stored_files(app: Flask, db: Session, handler: User) -> list[tuple[AttachmentView, bytes]]:
    """Every file of the only case, decrypted through the services as its handler would."""
    db.expire_all()
    case = db.scalars(select(Case)).one()
    access = casework.open_case(db, handler, handler_private_key(handler), case.uid)
    key = access.case_private_key
    report = messaging.read_report(db, case, key)
    thread = messaging.read_thread(db, case, key)
    views = list(report.attachments) + [a for m in thread for a in m.attachments]
    store = app.extensions["candor.attachments"]
    result = []
    for view in views:
        _, chunks = messaging.open_attachment(db, case, key, view.uid, store)
        result.append((view, b"".join(chunks)))
    return result


def csrf_from(client: FlaskClient, path: str) -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def text_of(html: str) -> str:
    """The page's text with tags and runs of white space collapsed, for phrase checks."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
