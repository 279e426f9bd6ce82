"""key escrow

The escrow public key (integrity-tagged), its escrow custodians with their shares sealed to their
own public keys (paper custodians: a name only), each case's key sealed to the escrow public key,
and the recovery and change requests with their approvals. New tables only: nothing existing is
copied or rewritten.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escrows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("public_key_tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("split_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("threshold >= 2", name=op.f("ck_escrows_threshold_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrows")),
    )
    op.create_table(
        "escrow_custodians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escrow_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("paper_name", sa.String(length=128), nullable=True),
        sa.Column("share_index", sa.Integer(), nullable=False),
        sa.Column("sealed_share", sa.LargeBinary(), nullable=True),
        sa.Column("share_tag", sa.LargeBinary(length=32), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (paper_name IS NULL)",
            name=op.f("ck_escrow_custodians_staff_or_paper"),
        ),
        sa.ForeignKeyConstraint(
            ["escrow_id"],
            ["escrows.id"],
            name=op.f("fk_escrow_custodians_escrow_id_escrows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_escrow_custodians_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_custodians")),
        sa.UniqueConstraint("escrow_id", "share_index", name="uq_escrow_custodians_share"),
    )
    op.create_index(
        op.f("ix_escrow_custodians_user_id"), "escrow_custodians", ["user_id"], unique=False
    )
    op.create_table(
        "escrow_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escrow_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "recovery",
                "change",
                name="escrow_request_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "done",
                "refused",
                "cancelled",
                name="escrow_request_state",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("new_threshold", sa.Integer(), nullable=True),
        sa.Column("new_custodians", sa.JSON(), nullable=False),
        sa.Column("ephemeral_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("ephemeral_public_key_tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["escrow_id"],
            ["escrows.id"],
            name=op.f("fk_escrow_requests_escrow_id_escrows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handler_id"], ["users.id"], name=op.f("fk_escrow_requests_handler_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_escrow_requests_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_requests")),
    )
    op.create_index(op.f("ix_escrow_requests_state"), "escrow_requests", ["state"], unique=False)
    op.create_table(
        "case_escrow_keys",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("escrow_id", sa.Integer(), nullable=False),
        sa.Column("sealed_case_key", sa.LargeBinary(), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_escrow_keys_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["escrow_id"],
            ["escrows.id"],
            name=op.f("fk_case_escrow_keys_escrow_id_escrows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "escrow_id", name=op.f("pk_case_escrow_keys")),
    )
    op.create_index(
        op.f("ix_case_escrow_keys_escrow_id"), "case_escrow_keys", ["escrow_id"], unique=False
    )
    op.create_table(
        "escrow_approvals",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("custodian_id", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column("sealed_share", sa.LargeBinary(), nullable=True),
        sa.Column("share_tag", sa.LargeBinary(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["custodian_id"],
            ["escrow_custodians.id"],
            name=op.f("fk_escrow_approvals_custodian_id_escrow_custodians"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_escrow_approvals_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["escrow_requests.id"],
            name=op.f("fk_escrow_approvals_request_id_escrow_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "custodian_id", name=op.f("pk_escrow_approvals")),
    )
    op.create_table(
        "escrow_request_keys",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["escrow_requests.id"],
            name=op.f("fk_escrow_request_keys_request_id_escrow_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_escrow_request_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("request_id", "user_id", name=op.f("pk_escrow_request_keys")),
    )


def downgrade() -> None:
    op.drop_table("escrow_request_keys")
    op.drop_table("escrow_approvals")
    op.drop_index(op.f("ix_case_escrow_keys_escrow_id"), table_name="case_escrow_keys")
    op.drop_table("case_escrow_keys")
    op.drop_index(op.f("ix_escrow_requests_state"), table_name="escrow_requests")
    op.drop_table("escrow_requests")
    op.drop_index(op.f("ix_escrow_custodians_user_id"), table_name="escrow_custodians")
    op.drop_table("escrow_custodians")
    op.drop_table("escrows")
