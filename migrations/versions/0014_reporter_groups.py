"""reporter groups

Who the reporter is (employee, customer, vendor or supplier, member of the public, other), as
they answered at intake: a policy may give each group its own escalation ladder. A nullable
column: cases filed before the question existed, and reporters who prefer not to say, have
none and follow the policy's default ladder.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both SQLite and PostgreSQL: no table copy, no row rewritten.
    op.add_column("cases", sa.Column("reporter_group", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Drops only the reporters' answers to "who are you?"; the cases and their clocks stay. A
    # plain ALTER TABLE DROP COLUMN (SQLite 3.35 and later), not a batch copy of the table,
    # which would lose the expression index ix_cases_inbox on SQLite.
    op.drop_column("cases", "reporter_group")
