"""message kinds

Each message of the thread keeps what it is (acknowledgement, feedback, decision, request for
information, automatic message, reporter, ...), so both the handlers' and the reporter's pages
can say it. Older rows are filled in where that is certain: the author says "reporter" and
"automatic message"; a handler's acknowledgement, feedback, decision or resolution, the Company
Secretary's answer and the committee's decision were each recorded with a typed case event at the
very same time, in the same transaction. A reply and a request for information left no event, so
those rows stay empty and show as "Message". The downgrade drops only this column.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The event recorded with a message, and the message kind it tells; by author.
HANDLER_EVENTS = {
    "acknowledged": "acknowledgement",
    "feedback_sent": "feedback",
    "decision_sent": "decision",
    "resolution_sent": "resolution",
    "secretary_answered": "secretary_answer",
}
SYSTEM_EVENTS = {"committee_decided": "committee_decision"}


def _from_events(author_kind: str, events: dict[str, str]) -> None:
    for event, kind in events.items():
        op.execute(
            sa.text(
                "UPDATE messages SET kind = :kind WHERE author_kind = :author_kind "
                "AND kind IS NULL AND EXISTS (SELECT 1 FROM case_events e "
                "WHERE e.case_id = messages.case_id AND e.occurred_at = messages.created_at "
                "AND e.kind = :event)"
            ).bindparams(kind=kind, author_kind=author_kind, event=event)
        )


def upgrade() -> None:
    op.add_column("messages", sa.Column("kind", sa.String(length=24), nullable=True))
    op.execute(sa.text("UPDATE messages SET kind = 'reporter' WHERE author_kind = 'reporter'"))
    _from_events("handler", HANDLER_EVENTS)
    _from_events("system", SYSTEM_EVENTS)
    op.execute(
        sa.text(
            "UPDATE messages SET kind = 'automatic' WHERE author_kind = 'system' AND kind IS NULL"
        )
    )


def downgrade() -> None:
    # A plain ALTER TABLE DROP COLUMN (SQLite 3.35 and later), as in 0014: the messages stay.
    op.drop_column("messages", "kind")
