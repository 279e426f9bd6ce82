"""redactions

Parts of a case (a report answer, a message, a note, an attachment's name) masked for
colleagues granted the case later, for exports and for the statistics. What is masked and why
are sealed to the case key; the clear columns name the item, who and when. Grants gain
``with_originals``; every existing grant holds the originals, as its holder did before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "case_key_grants",
        sa.Column("with_originals", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.create_table(
        "redactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("item_kind", sa.String(length=16), nullable=False),
        sa.Column("item_uid", sa.String(length=32), nullable=False),
        sa.Column("made_by", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=32), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.Column("sealed_removal", sa.LargeBinary(), nullable=True),
        sa.Column("removal_tag", sa.LargeBinary(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_redactions_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["made_by"], ["users.id"], name=op.f("fk_redactions_made_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by"], ["users.id"], name=op.f("fk_redactions_removed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redactions")),
        sa.UniqueConstraint("uid", name=op.f("uq_redactions_uid")),
    )
    op.create_index("ix_redactions_case", "redactions", ["case_id", "made_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_redactions_case", table_name="redactions")
    op.drop_table("redactions")
    op.drop_column("case_key_grants", "with_originals")
