"""policy versions

Policies an organisation makes from a preset and edits: one row per version, never changed.
A new table only; no existing row changes. Cases go on naming presets by name; a case under a
custom policy names the exact version it runs ("acme-complaints@3").

A downgrade refuses while versions exist: the cases and deadlines that name them would be left
with policies the older code cannot find.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("based_on", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_policy_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("name", "version", name="uq_policy_versions_name_version"),
    )


def downgrade() -> None:
    count = op.get_bind().scalar(sa.text("SELECT count(*) FROM policy_versions"))
    if count:
        raise RuntimeError(
            f"{count} policy versions exist, and cases may run them; the older schema has no "
            "place for them, so nothing was changed."
        )
    op.drop_table("policy_versions")
