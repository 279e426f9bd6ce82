"""cases and reporter sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:57:39.021016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("receipt_lookup", sa.LargeBinary(length=32), nullable=False),
        sa.Column("submission_lookup", sa.LargeBinary(length=32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("reporter_wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "acknowledged",
                "investigating",
                "resolved",
                "closed",
                name="case_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("sealed_report", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_identity", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tier BETWEEN 1 AND 3", name=op.f("ck_cases_tier_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("receipt_lookup", name=op.f("uq_cases_receipt_lookup")),
        sa.UniqueConstraint("submission_lookup", name=op.f("uq_cases_submission_lookup")),
        sa.UniqueConstraint("uid", name=op.f("uq_cases_uid")),
    )
    op.create_table(
        "site_texts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("html", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_site_texts")),
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "received",
                "acknowledged",
                "feedback_sent",
                "decision_sent",
                "resolved",
                "appeal_filed",
                "reporter_message",
                name="event_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_case_kind", ["case_id", "kind"], unique=False)

    op.create_table(
        "case_exclusions",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_exclusions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_exclusions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_exclusions")),
    )
    with op.batch_alter_table("case_exclusions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_exclusions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "case_key_grants",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed_case_key", sa.LargeBinary(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_key_grants_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_key_grants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_key_grants")),
    )
    with op.batch_alter_table("case_key_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_key_grants_user_id"), ["user_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "author_kind",
            sa.Enum(
                "reporter",
                "handler",
                "system",
                name="author_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("sealed_body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_messages_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("uid", name=op.f("uq_messages_uid")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_case_created", ["case_id", "created_at"], unique=False)

    op.create_table(
        "pending_receipts",
        sa.Column("submission_lookup", sa.LargeBinary(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("wrapped_receipt", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_pending_receipts_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_lookup", name=op.f("pk_pending_receipts")),
    )
    with op.batch_alter_table("pending_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_receipts_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "reporter_sessions",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("wrapped_case_key", sa.LargeBinary(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_reporter_sessions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_reporter_sessions")),
    )
    with op.batch_alter_table("reporter_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reporter_sessions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reporter_sessions_last_seen_at"), ["last_seen_at"], unique=False
        )

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column(
            "author_kind",
            sa.Enum(
                "reporter",
                "handler",
                "system",
                name="author_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("sealed_meta", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_attachments_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_attachments_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("uid", name=op.f("uq_attachments_uid")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachments_message_id"), ["message_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_message_id"))
        batch_op.drop_index(batch_op.f("ix_attachments_case_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("reporter_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reporter_sessions_last_seen_at"))
        batch_op.drop_index(batch_op.f("ix_reporter_sessions_case_id"))

    op.drop_table("reporter_sessions")
    with op.batch_alter_table("pending_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_receipts_created_at"))

    op.drop_table("pending_receipts")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_case_created")

    op.drop_table("messages")
    with op.batch_alter_table("case_key_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_key_grants_user_id"))

    op.drop_table("case_key_grants")
    with op.batch_alter_table("case_exclusions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_exclusions_user_id"))

    op.drop_table("case_exclusions")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_case_kind")

    op.drop_table("case_events")
    op.drop_table("site_texts")
    op.drop_table("cases")
