"""Rows of one transaction written together: one INSERT per table instead of one per row.

Inside ``batched(session)``, the audit trail, the outbox and the system messages hand their new
rows here instead of adding ORM objects; they are inserted when the block ends, as one
executemany per table in the order they were added. Nothing needs their ids back, so no RETURNING
is asked for (SQLite would otherwise insert them one at a time to match ids to rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from portal.models import Base

_KEY = "candor.row_batch"


@dataclass
class RowBatch:
    rows: dict[type[Base], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, model: type[Base], row: dict[str, Any]) -> None:
        self.rows.setdefault(model, []).append(row)

    def write(self, session: Session) -> None:
        for model, rows in self.rows.items():
            # A plain table insert: the ORM's bulk path would look at every row again.
            session.execute(insert(cast(Table, model.__table__)), rows)
        self.rows.clear()


def current(session: Session) -> RowBatch | None:
    """The batch open on this session, if any."""
    return session.info.get(_KEY)


def add(session: Session, model: type[Base], fields: dict[str, Any]) -> None:
    """A new row: kept for the open batch, or added to the session as an object."""
    rows = current(session)
    if rows is not None:
        rows.add(model, fields)
    else:
        session.add(model(**fields))


@contextmanager
def batched(session: Session) -> Iterator[RowBatch]:
    """Collect new rows for the block and insert them at its end (not if it raises)."""
    if _KEY in session.info:
        raise RuntimeError("a row batch is already open on this session")
    batch = session.info[_KEY] = RowBatch()
    try:
        yield batch
        batch.write(session)
    finally:
        session.info.pop(_KEY, None)
