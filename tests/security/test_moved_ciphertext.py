"""Ciphertext moved to another row or another case.

Attack: with write access to the database, take a genuine sealed item (or an attachment file)
together with its genuine integrity tag and put it where it does not belong: another case, another
message, another author, another handler's grant, another account's public key.

Defence: each item is sealed with associated data naming its case and row, and its tag is bound
to the same place and to who wrote it; attachment files are bound to their attachment's id and
key. Anything moved fails its check and the page refuses as a whole.
"""

from __future__ import annotations

import shutil

from flask import Flask
from sqlalchemy.orm import Session

from portal.models import AuthorKind, CaseKeyGrant, Message, User
from portal.timeutil import utcnow
from tests.factories import PASSWORD, totp_code
from tests.portal.test_handler_auth import post_sign_in
from tests.security.integrity_helpers import (
    HANDLER_FILE,
    HANDLER_REPLY,
    INTEGRITY_TEXT,
    REPORTER_FILE,
    assert_refused,
    attachments_of,
    case_row,
    file_full_case,
    handler_page,
    messages_of,
    reporter_page,
    staff_client,
)

OTHER_TEXT = "A second, unrelated report about the canteen."


def test_a_message_moved_to_another_case_is_refused_there(app: Flask, db: Session) -> None:
    first = file_full_case(app, db)
    second = file_full_case(app, db, text=OTHER_TEXT)
    reply = messages_of(db, first)[0]
    reply.case_id = case_row(db, second).id
    db.commit()
    assert_refused(handler_page(app, db, second), shown=(OTHER_TEXT,))
    assert_refused(reporter_page(app, second), shown=(OTHER_TEXT,))


def test_a_copy_of_a_message_with_its_tag_in_another_case_is_refused(
    app: Flask, db: Session
) -> None:
    first = file_full_case(app, db)
    second = file_full_case(app, db, text=OTHER_TEXT)
    reply = messages_of(db, first)[0]
    db.add(
        Message(
            uid=reply.uid[::-1],
            case_id=case_row(db, second).id,
            author_kind=reply.author_kind,
            author_id=reply.author_id,
            sealed_body=reply.sealed_body,
            tag=reply.tag,
            created_at=utcnow(),
        )
    )
    db.commit()
    assert_refused(handler_page(app, db, second), shown=(OTHER_TEXT,))
    # The case it came from is untouched.
    assert handler_page(app, db, first).status_code == 200  # type: ignore[attr-defined]


def test_bodies_swapped_between_two_messages_are_refused(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    reply, follow_up = messages_of(db, filed)
    reply.sealed_body, follow_up.sealed_body = follow_up.sealed_body, reply.sealed_body
    reply.tag, follow_up.tag = follow_up.tag, reply.tag
    db.commit()
    assert_refused(handler_page(app, db, filed))


def test_a_message_given_another_author_is_refused(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    reply = messages_of(db, filed)[0]
    assert reply.author_kind is AuthorKind.HANDLER
    # Made to look as if the reporter had written the handler's words.
    reply.author_kind = AuthorKind.REPORTER
    reply.author_id = None
    db.commit()
    assert_refused(handler_page(app, db, filed))
    assert_refused(reporter_page(app, filed))


def test_an_attachment_moved_to_another_message_or_case_is_refused(app: Flask, db: Session) -> None:
    first = file_full_case(app, db)
    second = file_full_case(app, db, text=OTHER_TEXT)
    report_file = next(a for a in attachments_of(db, first) if a.message_id is None)
    report_file.message_id = messages_of(db, first)[0].id
    db.commit()
    assert_refused(handler_page(app, db, first))
    report_file = next(a for a in attachments_of(db, first) if a.author_kind is AuthorKind.REPORTER)
    report_file.message_id = None
    report_file.case_id = case_row(db, second).id
    db.commit()
    assert handler_page(app, db, first).status_code == 200  # type: ignore[attr-defined]
    assert_refused(handler_page(app, db, second), shown=(OTHER_TEXT,))


def test_an_attachment_file_moved_onto_another_is_refused_whole(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    store = app.extensions["candor.attachments"]
    files = attachments_of(db, filed)
    report_file = next(a for a in files if a.author_kind is AuthorKind.REPORTER)
    reply_file = next(a for a in files if a.author_kind is AuthorKind.HANDLER)
    shutil.copyfile(store.path(report_file.uid), store.path(reply_file.uid))
    hanna = staff_client(app, db, filed.hanna)
    response = hanna.get(f"{filed.url}/attachments/{reply_file.uid}")
    assert response.status_code == 500
    assert INTEGRITY_TEXT in response.get_data(as_text=True)
    assert REPORTER_FILE not in response.data and HANDLER_FILE not in response.data
    # The file that was not overwritten still opens.
    assert hanna.get(f"{filed.url}/attachments/{report_file.uid}").data == REPORTER_FILE


def test_a_grant_moved_to_another_handler_is_refused(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    case = case_row(db, filed)
    hanna_grant = db.get(CaseKeyGrant, (case.id, filed.hanna.id))
    sven_grant = db.get(CaseKeyGrant, (case.id, filed.sven.id))
    assert hanna_grant is not None and sven_grant is not None
    sven_grant.sealed_case_key, sven_grant.tag = hanna_grant.sealed_case_key, hanna_grant.tag
    db.commit()
    sven = staff_client(app, db, filed.sven)
    assert_refused(sven.get(filed.url))
    assert HANDLER_REPLY not in sven.get("/staff/inbox").get_data(as_text=True)


def test_a_public_key_moved_with_its_tag_to_another_account_is_refused(
    app: Flask, db: Session
) -> None:
    filed = file_full_case(app, db)
    hanna = db.get(User, filed.hanna.id)
    sven = db.get(User, filed.sven.id)
    assert hanna is not None and sven is not None
    sven.public_key, sven.public_key_tag = hanna.public_key, hanna.public_key_tag
    db.commit()
    response = post_sign_in(app.test_client(), "sven", PASSWORD, totp_code(filed.sven))
    assert response.status_code == 500  # type: ignore[attr-defined]
    assert INTEGRITY_TEXT in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_case_key_moved_with_its_tag_to_another_case_is_refused(app: Flask, db: Session) -> None:
    first = file_full_case(app, db)
    second = file_full_case(app, db, text=OTHER_TEXT)
    source, target = case_row(db, first), case_row(db, second)
    target.public_key, target.public_key_tag = source.public_key, source.public_key_tag
    db.commit()
    assert_refused(handler_page(app, db, second), shown=(OTHER_TEXT,))
    before = len(messages_of(db, second))
    assert_refused(reporter_page(app, second), shown=(OTHER_TEXT,))
    assert len(messages_of(db, second)) == before
