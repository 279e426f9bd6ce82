"""Forged ciphertext and swapped keys, by someone who can write the database but not read the
configuration.

Attack: seal a report of one's own to a case's public key (anyone can; the key is public) and
write it into the case, so the handlers read it as the reporter's; or put one's own public key in
a case's or a handler's row and read what the server seals to it next (a reporter's follow-up, an
automatic message, a granted case key).

Defence: every sealed item and every public key carries an HMAC tag under the configuration's
integrity key, bound to its row. Pages verify before opening and refuse as a whole with the
integrity page; the server checks a key's tag before it seals anything to it, so nothing reaches
a swapped key, and sign-in refuses an account whose key was swapped.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import AuditEntry, AuthorKind, Case, CaseKeyGrant, Message, User
from portal.services import casework, clock, contexts, messaging
from portal.timeutil import utcnow
from tests.factories import PASSWORD, handler_private_key, make_handler, totp_code
from tests.portal.test_handler_auth import post_sign_in
from tests.portal.test_reporter_web import csrf_of, sign_in
from tests.security.integrity_helpers import (
    INTEGRITY_TEXT,
    assert_refused,
    case_row,
    file_full_case,
    handler_page,
    messages_of,
    reporter_page,
    staff_client,
)

FORGED = "The reporter withdraws every allegation."


def _forged_report(case: Case) -> bytes:
    report = {
        "category": "Fraud",
        "tier": 3,
        "answers": [{"label": "What happened?", "answer": FORGED}],
    }
    return crypto.seal(case.public_key, json.dumps(report).encode(), contexts.report(case.uid))


def test_a_forged_report_is_refused_with_the_integrity_page(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    case = case_row(db, filed)
    case.sealed_report = _forged_report(case)  # the genuine tag stays; it no longer matches
    db.commit()
    assert_refused(handler_page(app, db, filed), shown=(FORGED,))
    assert_refused(reporter_page(app, filed), shown=(FORGED,))


def test_a_forged_report_with_a_tag_of_its_own_making_is_refused(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    case = case_row(db, filed)
    case.sealed_report = _forged_report(case)
    # A tag under any key but the configuration's, or none at all.
    wrong_key = bytes(32)
    case.sealed_report_tag = crypto.integrity_tag(
        wrong_key, b"sealed", contexts.report(case.uid), case.sealed_report
    )
    db.commit()
    assert_refused(handler_page(app, db, filed), shown=(FORGED,))
    case = case_row(db, filed)
    case.sealed_report_tag = None
    db.commit()
    assert_refused(handler_page(app, db, filed), shown=(FORGED,))


def test_a_forged_message_inserted_into_the_thread_is_refused(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    case = case_row(db, filed)
    uid = "f" * 32
    db.add(
        Message(
            uid=uid,
            case_id=case.id,
            author_kind=AuthorKind.HANDLER,
            author_id=filed.hanna.id,
            sealed_body=crypto.seal(
                case.public_key, FORGED.encode(), contexts.message(case.uid, uid)
            ),
            created_at=utcnow(),
        )
    )
    db.commit()
    assert_refused(handler_page(app, db, filed), shown=(FORGED,))
    assert_refused(reporter_page(app, filed), shown=(FORGED,))


def test_a_swapped_case_key_gets_no_follow_up_sealed_to_it(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    reporter = app.test_client()
    assert sign_in(reporter, filed.receipt_code, filed.passphrase).status_code == 302  # type: ignore[attr-defined]
    page = reporter.get("/case").get_data(as_text=True)
    attacker = crypto.generate_keypair()
    case = case_row(db, filed)
    case.public_key = attacker.public_key
    db.commit()
    before = len(messages_of(db, filed))

    sent = reporter.post(
        "/case/messages", data={"csrf_token": csrf_of(page), "body": "Secret detail"}
    )
    assert sent.status_code == 500
    assert INTEGRITY_TEXT in sent.get_data(as_text=True)
    assert len(messages_of(db, filed)) == before  # nothing was sealed to the attacker's key
    # Handlers are refused the case too, and cannot add to it.
    assert_refused(handler_page(app, db, filed))
    access = casework.open_case(db, filed.hanna, handler_private_key(filed.hanna), filed.uid)
    for add in (
        lambda: casework.add_note(db, access, "x", now=utcnow()),
        lambda: messaging.add_message(
            db, access.case, "y", author_kind=AuthorKind.HANDLER, store=None, now=utcnow()
        ),
    ):
        try:
            add()
        except crypto.IntegrityCheckError:
            db.rollback()
        else:
            raise AssertionError("something was sealed to a swapped case key")
    assert len(messages_of(db, filed)) == before


def test_the_clock_seals_no_automatic_message_to_a_swapped_case_key(
    app: Flask, db: Session
) -> None:
    filed = file_full_case(app, db)
    before = len(messages_of(db, filed))
    case = case_row(db, filed)
    case.public_key = crypto.generate_keypair().public_key
    db.commit()
    # Far past every deadline: the clock acts, and would send the reporter automatic messages.
    clock.tick(db, now=utcnow() + timedelta(days=200), settings=app.extensions["candor.clock"])
    assert len(messages_of(db, filed)) == before
    refused = db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "message_refused_bad_key")
    )
    assert refused and refused >= 1


def _swap_handler_key(db: Session, user: User) -> crypto.KeyPair:
    attacker = crypto.generate_keypair()
    row = db.get(User, user.id)
    assert row is not None
    row.public_key = attacker.public_key
    db.commit()
    return attacker


def test_a_swapped_handler_key_gets_no_grant(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    carl = make_handler(db, "carl")
    _swap_handler_key(db, carl)
    hanna = staff_client(app, db, filed.hanna)
    page = hanna.get(filed.url).get_data(as_text=True)
    response = hanna.post(
        filed.url + "/grant", data={"csrf_token": csrf_of(page), "user_id": carl.id}
    )
    assert response.status_code == 500
    assert INTEGRITY_TEXT in response.get_data(as_text=True)
    assert db.get(CaseKeyGrant, (case_row(db, filed).id, carl.id)) is None
    # Granting every case at once is refused the same way.
    try:
        casework.bulk_grant(
            db, filed.hanna, handler_private_key(filed.hanna), carl.id, now=utcnow()
        )
    except crypto.IntegrityCheckError:
        db.rollback()
    else:
        raise AssertionError("a case key was sealed to a swapped handler key")
    assert (
        db.scalar(
            select(func.count()).select_from(CaseKeyGrant).where(CaseKeyGrant.user_id == carl.id)
        )
        == 0
    )


def test_a_handler_whose_key_was_swapped_cannot_sign_in(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    _swap_handler_key(db, filed.sven)
    client = app.test_client()
    response = post_sign_in(client, "sven", PASSWORD, totp_code(filed.sven))
    assert response.status_code == 500  # type: ignore[attr-defined]
    assert INTEGRITY_TEXT in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert client.get("/staff/inbox").status_code != 200
    assert "sign_in_refused_bad_key" in db.scalars(select(AuditEntry.action)).all()
