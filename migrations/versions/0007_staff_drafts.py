"""staff drafts

A handler's reply or note that arrives after the staff session ended is kept, sealed to the case
public key, until the handler signs in again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_drafts",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sealed_body", sa.LargeBinary(), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_staff_drafts_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_drafts")),
        sa.UniqueConstraint("uid", name=op.f("uq_staff_drafts_uid")),
    )
    op.create_index(op.f("ix_staff_drafts_case_id"), "staff_drafts", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_staff_drafts_created_at"), "staff_drafts", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_drafts_created_at"), table_name="staff_drafts")
    op.drop_index(op.f("ix_staff_drafts_case_id"), table_name="staff_drafts")
    op.drop_table("staff_drafts")
