"""statistics indexes

The statistics page counts a period's reports, open cases, first acknowledgements and feedback,
and deadlines due, over 100,000 cases within its 500 ms target: each of these indexes lets one of
its queries read an index alone instead of case rows that hold sealed reports. No row changes.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_cases_received_stats", "cases", ["received_at", "category", "tier", "status", "channel"]),
    ("ix_cases_status_received", "cases", ["status", "received_at"]),
    ("ix_case_events_case_kind_at", "case_events", ["case_id", "kind", "occurred_at"]),
    ("ix_deadlines_due_stats", "deadlines", ["due_at", "state", "policy", "clock"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
