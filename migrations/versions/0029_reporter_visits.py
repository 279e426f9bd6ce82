"""reporter visits

The record of a reporter's own visits (the days they opened their case in the last 30 days, and
the last day before), sealed under a key derived from their passphrase, at one fixed size: the
server and a copy of the database learn nothing from it. A signed-in reporter's session keeps
what that record said at sign-in, wrapped under the key in their cookie, so the case page can
show it for the whole visit. NULL on cases and sessions from before.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs on both SQLite and PostgreSQL: no table copy, no row rewritten.
    op.add_column("cases", sa.Column("reporter_visits", sa.LargeBinary(), nullable=True))
    op.add_column("reporter_sessions", sa.Column("wrapped_visits", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35 and later), not batch copies that would lose the
    # expression indexes on SQLite.
    op.drop_column("reporter_sessions", "wrapped_visits")
    op.drop_column("cases", "reporter_visits")
