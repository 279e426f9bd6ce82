"""site settings

Categories, intake questions, reporter groups and the site's name, logo and colours as admins
saved them, one JSON value per section over the configuration's defaults. A new table; no row
changes. A downgrade refuses while admins' settings exist, so none is lost silently.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_settings",
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("section", name=op.f("pk_site_settings")),
    )
    op.create_index(
        op.f("ix_site_settings_updated_at"), "site_settings", ["updated_at"], unique=False
    )


def downgrade() -> None:
    count = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM site_settings WHERE value IS NOT NULL")
    )
    if count:
        raise RuntimeError(
            f"{count} sections of the site's settings were saved by admins; the older schema has "
            "no place for them, so nothing was changed. Restore the configuration's defaults first."
        )
    op.drop_index(op.f("ix_site_settings_updated_at"), table_name="site_settings")
    op.drop_table("site_settings")
