"""policy reviews

When each policy was last reviewed and by whom, and which due date the admins were last
reminded of. A new table only; no existing row changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_reviews",
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("counted_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reminded_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_policy_reviews_reviewed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("policy", name=op.f("pk_policy_reviews")),
    )


def downgrade() -> None:
    # Review dates only; the audit trail keeps every "policy_reviewed" entry after a downgrade.
    op.drop_table("policy_reviews")
