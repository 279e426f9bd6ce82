"""integrity tags

One nullable tag column beside each sealed column and each public key: an HMAC under a key from
the configuration, bound to the row (see portal/services/integrity.py). Existing rows keep their
data and get no tag; they are refused until the operator runs
``flask --app wsgi candor integrity sign-existing`` while the database is still trusted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "cases": (
        "public_key_tag",
        "reporter_wrapped_key_tag",
        "sealed_report_tag",
        "sealed_identity_tag",
        "sealed_preview_tag",
    ),
    "case_key_grants": ("tag",),
    "notes": ("tag",),
    "messages": ("tag",),
    "attachments": ("tag",),
    "users": ("public_key_tag",),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for column in columns:
            op.add_column(table, sa.Column(column, sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:
    # The tags can be made again from the data (sign-existing), so dropping them loses nothing.
    # A plain ALTER TABLE DROP COLUMN (SQLite 3.35 and later), not a batch copy of the table,
    # which would lose the expression index ix_cases_inbox on SQLite.
    for table, columns in COLUMNS.items():
        for column in reversed(columns):
            op.drop_column(table, column)
