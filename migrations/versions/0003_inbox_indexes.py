"""inbox indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOX_COLUMNS = [
    sa.text("(next_due_at IS NULL)"),
    "next_due_at",
    "received_at",
    "id",
    "status",
    "tier",
    "category",
    "assignee_id",
    "escalation_level",
]


def upgrade() -> None:
    op.create_index("ix_cases_inbox", "cases", INBOX_COLUMNS)
    op.create_index("ix_case_key_grants_user_case", "case_key_grants", ["user_id", "case_id"])
    # The (user_id, case_id) index answers everything the single-column one did.
    op.drop_index("ix_case_key_grants_user_id", table_name="case_key_grants")


def downgrade() -> None:
    op.create_index("ix_case_key_grants_user_id", "case_key_grants", ["user_id"])
    op.drop_index("ix_case_key_grants_user_case", table_name="case_key_grants")
    op.drop_index("ix_cases_inbox", table_name="cases")
