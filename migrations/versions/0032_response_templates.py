"""response templates

Admins' own texts for the typed messages to the reporter (acknowledgement, request for
information, feedback, decision, resolution, the appeal's answer), one per kind and language, in
place of the shipped defaults. A new table; no row changes. A downgrade refuses while admins'
templates exist, so none is lost silently.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "response_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_response_templates_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_templates")),
        sa.UniqueConstraint("kind", "language", name="uq_response_templates_kind_language"),
    )


def downgrade() -> None:
    count = op.get_bind().scalar(sa.text("SELECT count(*) FROM response_templates"))
    if count:
        raise RuntimeError(
            f"{count} response templates written by admins exist; the older schema has no place "
            "for them, so nothing was changed. Reset them to the defaults first."
        )
    op.drop_table("response_templates")
