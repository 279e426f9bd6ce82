"""A handler with a bad public key must not stop intake for everyone else.

Attack: break one handler's public key in the database (malformed, swapped for an attacker's
key, stripped of its tag, or a low-order point), so that every new report either fails with a
server error or has its case key sealed to a key the attacker holds.

Defence: when a report is filed, each receiving handler's key is checked against its integrity
tag before anything is sealed to it. A handler whose key fails gets no grant; the report is filed
for everyone else, and the admins are told, in an audit entry and an e-mail to each admin with an
address, without any case content.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import AuditEntry, Case, CaseKeyGrant, OutboxMessage, User
from portal.services import contexts
from tests.conftest import TEST_INTEGRITY_KEY
from tests.factories import make_admin, make_handler
from tests.portal.test_reporter_web import REPORT_TEXT, file_report, intake_fields
from tests.security.integrity_helpers import staff_client

# A point of order 8 on Curve25519: an exchange with it gives the all-zero secret.
LOW_ORDER_POINT = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


def _break(user: User, how: str) -> None:
    if how == "malformed":
        user.public_key, user.public_key_tag = b"\x01\x02\x03", None
    elif how == "swapped":
        user.public_key = crypto.generate_keypair().public_key
    elif how == "untagged":
        user.public_key_tag = None
    else:  # a low-order key that even carries a valid tag: sealing to it is still refused
        user.public_key = LOW_ORDER_POINT
        user.public_key_tag = crypto.integrity_tag(
            TEST_INTEGRITY_KEY, b"public-key", contexts.user_public_key(user.id), LOW_ORDER_POINT
        )


@pytest.mark.parametrize("how", ["malformed", "swapped", "untagged", "low-order"])
def test_intake_skips_the_handler_and_tells_the_admins(app: Flask, db: Session, how: str) -> None:
    hanna = make_handler(db, "hanna")
    sven = make_handler(db, "sven", level=2)
    admin = make_admin(db)
    admin.email = "admin@example.org"
    silent_admin = make_admin(db, "admin2")  # no address: told only through the audit trail
    _break(sven, how)
    db.commit()

    file_report(app.test_client())

    case = db.scalars(select(Case)).one()
    holders = set(db.scalars(select(CaseKeyGrant.user_id).where(CaseKeyGrant.case_id == case.id)))
    assert holders == {hanna.id}
    hanna_client = staff_client(app, db, hanna)
    assert REPORT_TEXT in hanna_client.get(f"/staff/cases/{case.uid}").get_data(as_text=True)

    skipped = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "grant_skipped_bad_key")
    ).all()
    assert [(e.case_id, e.subject_id) for e in skipped] == [(case.id, sven.id)]
    mail = db.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id.is_not(None))).all()
    to_admins = [m for m in mail if m.recipient_id in (admin.id, silent_admin.id)]
    assert [m.to_address for m in to_admins] == ["admin@example.org"]
    message = to_admins[0]
    assert "sven" in message.body and "integrity check" in message.body
    assert REPORT_TEXT not in message.body and REPORT_TEXT not in message.subject
    assert "Last week, depot 4" not in message.body


def test_a_second_report_still_reaches_everyone_with_a_good_key(app: Flask, db: Session) -> None:
    hanna = make_handler(db, "hanna")
    sven = make_handler(db, "sven", level=2)
    _break(sven, "swapped")
    db.commit()
    for _ in range(2):
        file_report(app.test_client())
    grants = db.scalars(select(CaseKeyGrant.user_id)).all()
    assert sorted(grants) == [hanna.id, hanna.id]


def test_when_no_handler_has_a_good_key_nothing_is_filed_and_the_reporter_is_told(
    app: Flask, db: Session
) -> None:
    sven = make_handler(db, "sven")
    make_admin(db).email = "admin@example.org"
    _break(sven, "swapped")
    db.commit()
    client = app.test_client()
    response = client.post("/report", data=intake_fields(client))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "could not be filed" in html and "nothing was saved" in html
    assert REPORT_TEXT in html  # what they wrote is still in the form
    assert db.scalars(select(Case)).all() == []
    assert db.scalars(select(CaseKeyGrant)).all() == []
    refused = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "report_refused_bad_keys")
    ).all()
    assert [e.subject_id for e in refused] == [sven.id]
    mail = db.scalars(select(OutboxMessage)).all()
    assert [m.to_address for m in mail] == ["admin@example.org"]
    assert "could not be filed" in mail[0].subject and REPORT_TEXT not in mail[0].body
