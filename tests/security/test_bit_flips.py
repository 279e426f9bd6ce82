"""Bit flips in every stored ciphertext, every integrity tag and an attachment file.

Attack: change one bit of what is stored (disk corruption, or a database writer probing for a
value that still opens, or that opens to something else).

Defence: every sealed column and public key has a tag under the configuration's integrity key,
checked before anything is opened, and AES-GCM under it; files are authenticated chunk by chunk
and verified whole before a byte is sent. One flipped bit anywhere refuses the page as a whole,
with the integrity page, and shows nothing of the case.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, AuthorKind, CaseKeyGrant, Message, Note, User
from tests.factories import PASSWORD, totp_code
from tests.portal.test_handler_auth import post_sign_in
from tests.security.integrity_helpers import (
    INTEGRITY_TEXT,
    REPORT_TEXT,
    REPORTER_FILE,
    FiledCase,
    assert_refused,
    attachments_of,
    case_row,
    file_full_case,
    flip,
    handler_page,
    reporter_page,
    staff_client,
)


def _flip_column(row: object, column: str) -> None:
    value = getattr(row, column)
    assert value, f"{column} is empty in the test case"
    setattr(row, column, flip(value, bit=len(value) * 4 + 3))


CASE_COLUMNS = [
    "sealed_report",
    "sealed_report_tag",
    "sealed_preview",
    "sealed_preview_tag",
    "sealed_identity",
    "sealed_identity_tag",
    "public_key",
    "public_key_tag",
    "reporter_wrapped_key",
    "reporter_wrapped_key_tag",
]
# What the reporter's own page reads (the preview and identity are for handlers only).
REPORTER_READS = {
    "sealed_report",
    "sealed_report_tag",
    "public_key",
    "public_key_tag",
    "reporter_wrapped_key",
    "reporter_wrapped_key_tag",
}


@pytest.fixture
def filed(app: Flask, db: Session) -> FiledCase:
    return file_full_case(app, db)


@pytest.mark.parametrize("column", CASE_COLUMNS)
def test_a_flipped_bit_in_a_case_column_is_refused(
    app: Flask, db: Session, filed: FiledCase, column: str
) -> None:
    _flip_column(case_row(db, filed), column)
    db.commit()
    assert_refused(handler_page(app, db, filed))
    if column in REPORTER_READS:
        assert_refused(reporter_page(app, filed))


@pytest.mark.parametrize("column", ["sealed_case_key", "tag"])
def test_a_flipped_bit_in_a_grant_is_refused(
    app: Flask, db: Session, filed: FiledCase, column: str
) -> None:
    grant = db.get(CaseKeyGrant, (case_row(db, filed).id, filed.hanna.id))
    _flip_column(grant, column)
    db.commit()
    hanna = staff_client(app, db, filed.hanna)
    assert_refused(hanna.get(filed.url))
    inbox = hanna.get("/staff/inbox")
    assert inbox.status_code == 200
    assert "Could not be verified" in inbox.get_data(as_text=True)
    assert REPORT_TEXT[:40] not in inbox.get_data(as_text=True)
    # Sven's own grant is untouched: he still reads the case.
    assert staff_client(app, db, filed.sven).get(filed.url).status_code == 200


@pytest.mark.parametrize(
    ("model", "column", "reporter_sees"),
    [
        (Message, "sealed_body", True),
        (Message, "tag", True),
        (Note, "sealed_body", False),
        (Note, "tag", False),
        (Attachment, "sealed_meta", True),
        (Attachment, "tag", True),
    ],
)
def test_a_flipped_bit_in_a_case_row_is_refused(
    app: Flask,
    db: Session,
    filed: FiledCase,
    model: type[Message | Note | Attachment],
    column: str,
    reporter_sees: bool,
) -> None:
    row = db.scalars(
        select(model).where(model.case_id == case_row(db, filed).id).order_by(model.id)
    ).first()
    _flip_column(row, column)
    db.commit()
    assert_refused(handler_page(app, db, filed))
    if reporter_sees:
        assert_refused(reporter_page(app, filed))


@pytest.mark.parametrize("column", ["public_key", "public_key_tag"])
def test_a_flipped_bit_in_a_handler_key_refuses_their_sign_in(
    app: Flask, db: Session, filed: FiledCase, column: str
) -> None:
    _flip_column(db.get(User, filed.sven.id), column)
    db.commit()
    response = post_sign_in(app.test_client(), "sven", PASSWORD, totp_code(filed.sven))
    assert response.status_code == 500  # type: ignore[attr-defined]
    assert INTEGRITY_TEXT in response.get_data(as_text=True)  # type: ignore[attr-defined]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_flipped_bit_in_an_attachment_file_is_refused_whole(
    app: Flask, db: Session, filed: FiledCase, where: str
) -> None:
    store = app.extensions["candor.attachments"]
    report_file = next(a for a in attachments_of(db, filed) if a.author_kind is AuthorKind.REPORTER)
    path = store.path(report_file.uid)
    data = path.read_bytes()
    bit = {"first": 0, "middle": len(data) * 4, "last": len(data) * 8 - 1}[where]
    path.write_bytes(flip(data, bit))
    response = staff_client(app, db, filed.hanna).get(f"{filed.url}/attachments/{report_file.uid}")
    assert response.status_code == 500
    assert INTEGRITY_TEXT in response.get_data(as_text=True)
    assert REPORTER_FILE not in response.data
