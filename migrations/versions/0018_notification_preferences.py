"""notification preferences

Each handler chooses whether a new report, a reporter's message or an appeal on their cases is
told at once or listed in the daily digest: a column on ``users`` (existing accounts keep being
told at once), and ``digest_entries`` holding what waits for the next digest (a case and the kind
of event, never content). A downgrade refuses while entries wait, so none is lost.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("notify_by_digest", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "digest_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "report",
                "message",
                "appeal",
                name="digest_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_digest_entries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_digest_entries_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_entries")),
    )
    op.create_index(op.f("ix_digest_entries_user_id"), "digest_entries", ["user_id"])
    op.create_index(op.f("ix_digest_entries_case_id"), "digest_entries", ["case_id"])


def downgrade() -> None:
    count = op.get_bind().scalar(sa.text("SELECT count(*) FROM digest_entries"))
    if count:
        raise RuntimeError(
            f"Entries wait for the next daily digest ({count}); the older schema has no place "
            "for them, so nothing was changed. Let the digest go out first."
        )
    op.drop_index(op.f("ix_digest_entries_case_id"), table_name="digest_entries")
    op.drop_index(op.f("ix_digest_entries_user_id"), table_name="digest_entries")
    op.drop_table("digest_entries")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("notify_by_digest")
