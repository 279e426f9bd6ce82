"""inbox at a glance

The inbox marks a case unread for a handler when the reporter wrote since that handler last
opened it: ``cases.last_reporter_at`` (filled from each case's latest reporter message, else its
receipt time) and ``case_views`` (one row per handler and case). "Case opened" is audited once
per staff session per case: ``case_openings`` holds the cases a session has opened and goes with
the session. One index per inbox sort, so that each sort and its keyset pages read an index.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORT_INDEXES: dict[str, list[str | sa.TextClause]] = {
    "ix_cases_sort_received": ["received_at", "id"],
    "ix_cases_sort_status": ["status", "received_at", "id"],
    "ix_cases_sort_tier": ["tier", "received_at", "id"],
    "ix_cases_sort_category": ["category", "received_at", "id"],
    "ix_cases_sort_level": ["escalation_level", "received_at", "id"],
    "ix_cases_sort_assigned": [
        sa.text("(assignee_id IS NULL)"),
        "assignee_id",
        "received_at",
        "id",
    ],
}


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: no table copy, so SQLite keeps ix_cases_inbox.
    op.add_column("cases", sa.Column("last_reporter_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE cases SET last_reporter_at = COALESCE("
        "(SELECT max(messages.created_at) FROM messages WHERE messages.case_id = cases.id "
        "AND messages.author_kind = 'reporter'), received_at)"
    )
    op.create_table(
        "case_views",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_views_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "case_id", name=op.f("pk_case_views")),
    )
    op.create_index(op.f("ix_case_views_case_id"), "case_views", ["case_id"])
    op.create_table(
        "case_openings",
        sa.Column("session_id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_openings_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id_hash"],
            ["staff_sessions.id_hash"],
            name=op.f("fk_case_openings_session_id_hash_staff_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id_hash", "case_id", name=op.f("pk_case_openings")),
    )
    op.create_index(op.f("ix_case_openings_case_id"), "case_openings", ["case_id"])
    for name, columns in SORT_INDEXES.items():
        op.create_index(name, "cases", columns)


def downgrade() -> None:
    # Drops only when handlers last opened cases and the sessions' sets of opened cases (the
    # audit trail keeps every "case opened" entry); the reporter's last writing time can be
    # read again from the messages. A plain DROP COLUMN, as in 0014.
    for name in SORT_INDEXES:
        op.drop_index(name, table_name="cases")
    op.drop_index(op.f("ix_case_openings_case_id"), table_name="case_openings")
    op.drop_table("case_openings")
    op.drop_index(op.f("ix_case_views_case_id"), table_name="case_views")
    op.drop_table("case_views")
    op.drop_column("cases", "last_reporter_at")
