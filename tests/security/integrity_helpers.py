"""A case with one of every sealed item, and the pages that must refuse it when it is altered.

Shared by the integrity tests of the catalogue (forgery, moved ciphertext, bit flips, bad
handler keys, the inbox). The case is built through the web pages and services, so every row
carries the tag the real code writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, AuthorKind, Case, Message, User
from portal.services import casework, messaging
from portal.services.attachments import write_attachment
from portal.timeutil import utcnow
from tests.factories import file_bytes, handler_private_key, make_handler, sign_in_as
from tests.portal.test_reporter_web import REPORT_TEXT, file_report, sign_in

INTEGRITY_TEXT = "failed its integrity check"
HANDLER_REPLY = "Thank you; we have started to look into it."
REPORTER_FOLLOW_UP = "The second depot does the same."
NOTE_TEXT = "Check the depot 4 inventory first."
REPORTER_FILE = b"%PDF-1.4 invoice 2026-11"
HANDLER_FILE = b"Please fill in this form."


@dataclass
class FiledCase:
    uid: str
    receipt_code: str
    passphrase: str
    hanna: User
    sven: User

    @property
    def url(self) -> str:
        return f"/staff/cases/{self.uid}"


def staff_client(app: Flask, db: Session, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, db, user)
    return client


def file_full_case(app: Flask, db: Session, *, text: str = REPORT_TEXT) -> FiledCase:
    """A confidential report with a file, a handler's reply with a file, the reporter's
    follow-up and a note: a row in every table that holds something sealed."""
    hanna = db.scalar(select(User).where(User.username == "hanna")) or make_handler(db, "hanna")
    sven = db.scalar(select(User).where(User.username == "sven")) or make_handler(
        db, "sven", level=2
    )
    reporter = app.test_client()
    code, passphrase = file_report(
        reporter,
        q_what_happened=text,
        anonymity="confidential",
        name="Alex Example",
        contact="alex@example.org",
        attachments=[file_bytes("invoice.pdf", REPORTER_FILE)],
    )
    case = db.scalars(select(Case).order_by(Case.id.desc())).first()
    assert case is not None
    store = app.extensions["candor.attachments"]
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    messaging.add_message(
        db,
        access.case,
        HANDLER_REPLY,
        author_kind=AuthorKind.HANDLER,
        author=hanna,
        uploads=[write_attachment(store, "form.txt", "text/plain", HANDLER_FILE)],
        store=store,
        now=utcnow(),
    )
    messaging.add_message(
        db,
        access.case,
        REPORTER_FOLLOW_UP,
        author_kind=AuthorKind.REPORTER,
        store=store,
        now=utcnow(),
    )
    casework.add_note(db, access, NOTE_TEXT, now=utcnow())
    return FiledCase(case.uid, code, passphrase, hanna, sven)


def case_row(db: Session, filed: FiledCase) -> Case:
    db.expire_all()
    return db.scalars(select(Case).where(Case.uid == filed.uid)).one()


def attachments_of(db: Session, filed: FiledCase) -> list[Attachment]:
    case = case_row(db, filed)
    return list(db.scalars(select(Attachment).where(Attachment.case_id == case.id)))


def messages_of(db: Session, filed: FiledCase) -> list[Message]:
    case = case_row(db, filed)
    return list(db.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id)))


def assert_refused(response: object, *, shown: tuple[str, ...] = ()) -> None:
    """The integrity page, and none of the case's content: nothing half-shown."""
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 500, html[:300]  # type: ignore[attr-defined]
    assert INTEGRITY_TEXT in html
    for text in (REPORT_TEXT, HANDLER_REPLY, REPORTER_FOLLOW_UP, NOTE_TEXT, *shown):
        assert text not in html


def handler_page(app: Flask, db: Session, filed: FiledCase) -> object:
    return staff_client(app, db, filed.hanna).get(filed.url)


def reporter_page(app: Flask, filed: FiledCase) -> object:
    """The reporter's case page, or the sign-in's own refusal when that is where it stops."""
    client = app.test_client()
    signed_in = sign_in(client, filed.receipt_code, filed.passphrase)
    if signed_in.status_code != 302:  # type: ignore[attr-defined]
        return signed_in
    return client.get("/case")


def flip(value: bytes, bit: int = 0) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)
