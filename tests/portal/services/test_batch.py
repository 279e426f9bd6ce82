"""Rows written as a batch (COPY on PostgreSQL, executemany on SQLite) read back as written."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import AuditEntry, OutboxMessage, OutboxState
from portal.services import batch
from tests.factories import NOW

# What COPY's text format must escape: tab, newline, carriage return, backslash; and non-ASCII.
AWKWARD = "tab\there\nnew line\r\\N back\\slash \u00e9t\u00e9 \u2603"


def test_rows_read_back_as_written_with_defaults_filled(db: Session) -> None:
    with batch.batched(db):
        for n in range(3):
            batch.add(
                db,
                OutboxMessage,
                {
                    "to_address": f"officer{n}@example.org",
                    "subject": f"Case C-{n}",
                    "body": AWKWARD,
                    "state": OutboxState.PENDING,
                    "next_attempt_at": NOW + timedelta(minutes=n),
                    "created_at": NOW,
                },
            )
        # Bytes that COPY's text format escapes: NUL, backslash, every other value.
        batch.add(
            db,
            AuditEntry,
            {
                "at": NOW,
                "actor_kind": "clock",
                "action": "deadline_warning",
                "prev_hash": bytes(range(32)),
                "entry_hash": bytes(range(224, 256)),
            },
        )
    db.commit()
    db.expire_all()
    rows = list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.to_address, r.body, r.state) for r in rows] == [
        (f"officer{n}@example.org", AWKWARD, OutboxState.PENDING) for n in range(3)
    ]
    assert [r.next_attempt_at for r in rows] == [NOW + timedelta(minutes=n) for n in range(3)]
    # Columns the rows left out took their defaults.
    assert {(r.attempts, r.last_error, r.sent_at, r.recipient_id) for r in rows} == {
        (0, "", None, None)
    }
    entry = db.scalars(select(AuditEntry)).one()
    assert (entry.prev_hash, entry.entry_hash, entry.detail, entry.case_id) == (
        bytes(range(32)),
        bytes(range(224, 256)),
        "",
        None,
    )


def test_a_table_whose_rows_fail_its_constraint_fails_the_batch(db: Session) -> None:
    row = {"at": NOW, "actor_kind": "clock", "action": "x", "prev_hash": b"p" * 32}
    # COPY raises the driver's own error; an INSERT raises SQLAlchemy's wrapper of it.
    with pytest.raises((IntegrityError, psycopg.IntegrityError)), batch.batched(db):
        batch.add(db, AuditEntry, {**row, "entry_hash": b"e" * 32})
        batch.add(db, AuditEntry, {**row, "entry_hash": b"e" * 32})  # unique
    db.rollback()
    assert db.scalars(select(AuditEntry)).all() == []


def test_changed_objects_are_written_in_a_statement_per_set_of_changes(db: Session) -> None:
    """PostgreSQL writes them in one UPDATE per set of changed columns, then the flush has
    nothing left to write; SQLite leaves them to the flush. Both read back the same."""
    messages = [
        OutboxMessage(
            to_address=f"officer{n}@example.org",
            subject="Case",
            body="",
            state=OutboxState.PENDING,
            next_attempt_at=NOW,
            created_at=NOW,
        )
        for n in range(3)
    ]
    db.add_all(messages)
    db.commit()
    first, second, third = messages
    first.attempts, first.last_error = 1, "refused"
    second.attempts, second.last_error = 2, AWKWARD
    third.state, third.sent_at = OutboxState.SENT, NOW + timedelta(hours=1)
    updates: list[str] = []
    bind = db.get_bind()

    def listener(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE"):
            updates.append(statement)

    event.listen(bind, "before_cursor_execute", listener)
    try:
        written = batch.update_changed(db, OutboxMessage)
        written_statements = len(updates)
        db.flush()
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    if bind.dialect.name == "postgresql":
        assert (written, written_statements, len(updates)) == (3, 2, 2)
    else:
        assert (written, written_statements) == (0, 0) and len(updates) >= 2
    db.commit()
    db.expire_all()
    rows = list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.attempts, r.last_error, r.state, r.sent_at) for r in rows] == [
        (1, "refused", OutboxState.PENDING, None),
        (2, AWKWARD, OutboxState.PENDING, None),
        (0, "", OutboxState.SENT, NOW + timedelta(hours=1)),
    ]
