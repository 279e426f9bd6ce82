"""retention and legal hold

When a case was closed (its retention runs from then), a legal hold (since when, and the handler's
stated reason, which suspends deletion), when the handlers were reminded of its deletion, and when
it was deleted (crypto-shredded: the keys and every ciphertext gone, the row kept for the facts
the organisation must be able to show). All NULL on cases from before: a case closed before this
revision starts its retention at the worker's first pass after the upgrade.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "closed_at",
    "held_at",
    "hold_reason",
    "retention_reminded_at",
    "deleted_at",
    "shredding_at",
)


def upgrade() -> None:
    # Plain ADD COLUMNs on both SQLite and PostgreSQL: no table copy, no row rewritten.
    op.add_column("cases", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("hold_reason", sa.String(length=200), nullable=True))
    op.add_column(
        "cases", sa.Column("retention_reminded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("cases", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("shredding_at", sa.DateTime(timezone=True), nullable=True))
    # Each worker pass reads the closed cases whose time has come, and the deletions whose
    # files are still being discarded: both from an index, not a scan of every case.
    op.create_index("ix_cases_closed_at", "cases", ["closed_at"])
    op.create_index("ix_cases_shredding_at", "cases", ["shredding_at"])


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35 and later), never a batch copy of the table, which would
    # lose the expression indexes on SQLite.
    op.drop_index("ix_cases_shredding_at", table_name="cases")
    op.drop_index("ix_cases_closed_at", table_name="cases")
    for column in reversed(COLUMNS):
        op.drop_column("cases", column)
