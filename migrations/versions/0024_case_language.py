"""case language

The language the reporter uses (one of the site's language codes, such as "de"): the receipt, the
clock's messages, the mediator notice and everything else the site writes to the reporter are in
it, and handlers see it. It is chosen from the site's list, so it identifies nobody; NULL on cases
from before, which read as the site's default language.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both SQLite and PostgreSQL: no table copy, no row rewritten.
    op.add_column("cases", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35 and later), not a batch copy of the table, which would
    # lose the expression indexes on SQLite. The cases keep everything else.
    op.drop_column("cases", "language")
