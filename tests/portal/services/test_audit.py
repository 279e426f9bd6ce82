from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.models import AuditEntry
from portal.services import audit, batch
from tests.factories import NOW


def _trail(db: Session, count: int = 5) -> list[AuditEntry]:
    for i in range(count):
        audit.record(db, "sign_in", now=NOW + timedelta(minutes=i), detail=f"attempt {i}")
    db.commit()
    return list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_intact_trail_verifies(db: Session) -> None:
    _trail(db)
    assert audit.verify(db) == audit.VerifyResult(True, 5)


def test_entries_written_as_a_batch_chain_like_single_ones(db: Session) -> None:
    _trail(db, 2)
    with batch.batched(db):
        for i in range(3):
            audit.record(db, "deadline_warning", now=NOW, actor_kind="clock", detail=f"w{i}")
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == 2  # not yet written
    audit.record(db, "sign_out", now=NOW)
    db.commit()
    assert audit.verify(db) == audit.VerifyResult(True, 6)
    details = list(db.scalars(select(AuditEntry.detail).order_by(AuditEntry.id)))
    assert details == ["attempt 0", "attempt 1", "w0", "w1", "w2", ""]


def test_a_batch_that_raises_writes_nothing(db: Session) -> None:
    try:
        with batch.batched(db):
            audit.record(db, "deadline_warning", now=NOW, actor_kind="clock")
            raise RuntimeError("an action failed")
    except RuntimeError:
        db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert batch.current(db) is None


def test_changed_entry_is_reported(db: Session) -> None:
    entries = _trail(db)
    db.execute(update(AuditEntry).where(AuditEntry.id == entries[2].id).values(detail="edited"))
    db.commit()
    result = audit.verify(db)
    assert not result.ok and result.problem == f"entry {entries[2].id} was changed"


def test_removed_entry_is_reported(db: Session) -> None:
    entries = _trail(db)
    db.delete(db.get(AuditEntry, entries[1].id))
    db.commit()
    result = audit.verify(db)
    assert not result.ok
    assert result.problem.startswith(f"entry {entries[2].id} does not follow entry {entries[0].id}")


def test_removed_last_entry_is_reported(db: Session) -> None:
    entries = _trail(db)
    db.delete(db.get(AuditEntry, entries[-1].id))
    db.commit()
    result = audit.verify(db)
    assert not result.ok and "were removed" in result.problem


def test_inserted_entry_is_reported(db: Session) -> None:
    entries = _trail(db, 3)
    forged = AuditEntry(
        at=NOW,
        actor_kind="staff",
        action="forged",
        detail="",
        prev_hash=entries[0].entry_hash,
        entry_hash=b"x" * 32,
    )
    db.add(forged)
    db.commit()
    # Re-chain the forged entry properly: the next genuine entry still points past it.
    forged.entry_hash = audit.entry_hash(forged)
    db.commit()
    result = audit.verify(db)
    assert not result.ok
    assert f"entry {forged.id}" in result.problem


def test_cli_verify(app: Flask, db: Session) -> None:
    entries = _trail(db)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["candor", "audit", "verify"])
    assert ok.exit_code == 0 and "intact: 5 entries" in ok.output
    db.execute(update(AuditEntry).where(AuditEntry.id == entries[0].id).values(action="other"))
    db.commit()
    broken = runner.invoke(args=["candor", "audit", "verify"])
    assert broken.exit_code != 0
    assert f"entry {entries[0].id} was changed" in broken.output
    assert db.scalar(select(AuditEntry.action).where(AuditEntry.id == entries[0].id)) == "other"
