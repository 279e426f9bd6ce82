"""fewer deadline indexes

Two indexes on deadlines served no query: the one on case_id repeats the leading column of the
unique (case_id, policy, clock) index, and nothing looks deadlines up by due_at (the inbox sorts
and filters on cases.next_due_at). Each cost an index entry on every deadline written; the clock
worker writes one for every step it takes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_deadlines_due_at", table_name="deadlines")
    op.drop_index("ix_deadlines_case_id", table_name="deadlines")


def downgrade() -> None:
    op.create_index("ix_deadlines_case_id", "deadlines", ["case_id"], unique=False)
    op.create_index("ix_deadlines_due_at", "deadlines", ["due_at"], unique=False)
