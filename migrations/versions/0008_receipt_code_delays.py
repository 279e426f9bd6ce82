"""receipt code delays

Failed check-backs counted per receipt code (under an HMAC of the canonical code), with the
earliest time of the next attempt: a growing delay per code replaces the per-code lockout and the
site-wide lockout that lived in the rate limiter's counters.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipt_code_delays",
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_receipt_code_delays")),
    )
    op.create_index(
        op.f("ix_receipt_code_delays_last_failure_at"),
        "receipt_code_delays",
        ["last_failure_at"],
        unique=False,
    )


def downgrade() -> None:
    # Only counts of failed attempts, which expire within a day anyway: nothing of value is lost.
    op.drop_index(op.f("ix_receipt_code_delays_last_failure_at"), table_name="receipt_code_delays")
    op.drop_table("receipt_code_delays")
