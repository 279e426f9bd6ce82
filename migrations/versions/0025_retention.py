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

COLUMNS = ("closed_at", "held_at", "hold_reason", "retention_reminded_at", "deleted_at")


def upgrade() -> None:
    # Plain ADD COLUMNs on both SQLite and PostgreSQL: no table copy, no row rewritten.
    op.add_column("cases", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("hold_reason", sa.String(length=200), nullable=True))
    op.add_column(
        "cases", sa.Column("retention_reminded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("cases", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35 and later), never a batch copy of the table, which would
    # lose the expression indexes on SQLite.
    for column in reversed(COLUMNS):
        op.drop_column("cases", column)
