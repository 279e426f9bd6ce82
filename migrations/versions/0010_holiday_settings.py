"""holiday settings

The admin's choice of country, region and the organisation's own closing days for working-day
deadlines. A new table only; without its row the configuration's ``[clock]`` keys apply as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holiday_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("subdivision", sa.String(length=16), nullable=False),
        sa.Column("closing_days", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_settings")),
    )


def downgrade() -> None:
    # The admin's choice only: after a downgrade the configuration's [clock] keys apply again.
    op.drop_table("holiday_settings")
