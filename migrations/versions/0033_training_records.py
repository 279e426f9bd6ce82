"""training records

Admins define the trainings staff must have (``training_requirements``) and record who completed
which and when (``training_completions``). Two new tables; nothing existing is copied or changed.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("valid_months", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "audience IN ('handlers', 'admins', 'custodians', 'analysts', 'staff')",
            name=op.f("ck_training_requirements_audience_kind"),
        ),
        sa.CheckConstraint(
            "min_level BETWEEN 1 AND 3", name=op.f("ck_training_requirements_min_level_range")
        ),
        sa.CheckConstraint(
            "valid_months IS NULL OR valid_months BETWEEN 1 AND 600",
            name=op.f("ck_training_requirements_valid_months_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_requirements")),
    )
    op.create_table(
        "training_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requirement_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["training_requirements.id"],
            name=op.f("fk_training_completions_requirement_id_training_requirements"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_completions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_training_completions_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_completions")),
    )
    op.create_index(
        op.f("ix_training_completions_requirement_id"),
        "training_completions",
        ["requirement_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_training_completions_user_id"), "training_completions", ["user_id"], unique=False
    )


def downgrade() -> None:
    bind = op.get_bind()
    kept = bind.scalar(sa.text("SELECT count(*) FROM training_requirements"))
    if kept:
        raise RuntimeError(
            f"Training requirements ({kept}) exist; the older schema has no place for them or "
            "their completions, so nothing was changed. Remove them first."
        )
    op.drop_index(op.f("ix_training_completions_user_id"), table_name="training_completions")
    op.drop_index(op.f("ix_training_completions_requirement_id"), table_name="training_completions")
    op.drop_table("training_completions")
    op.drop_table("training_requirements")
