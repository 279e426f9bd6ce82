"""custodians and analysts

Two account kinds beside handler and admin: a custodian decides handlers' requests to see a
confidential reporter's identity, an analyst sees the statistics. Each is a flag on ``users``
(added columns, false for every existing account). ``identity_requests`` keeps each request, its
decision and its end; a new table, so nothing existing is copied or rewritten.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("requested", "approved", "refused", "revoked", "ended")


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("is_custodian", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "users",
        sa.Column("is_analyst", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "identity_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("handler_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                *STATES,
                name="identity_request_state",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("custodian_id", sa.Integer(), nullable=True),
        sa.Column("custodian_reason", sa.String(length=500), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_reason", sa.String(length=500), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_identity_requests_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handler_id"], ["users.id"], name=op.f("fk_identity_requests_handler_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["custodian_id"], ["users.id"], name=op.f("fk_identity_requests_custodian_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_identity_requests_ended_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_requests")),
    )
    op.create_index(
        op.f("ix_identity_requests_case_id"), "identity_requests", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_identity_requests_handler_id"), "identity_requests", ["handler_id"], unique=False
    )
    op.create_index(
        op.f("ix_identity_requests_state"), "identity_requests", ["state"], unique=False
    )


def downgrade() -> None:
    bind = op.get_bind()
    requests = bind.scalar(sa.text("SELECT count(*) FROM identity_requests"))
    accounts = bind.scalar(
        sa.text("SELECT count(*) FROM users WHERE is_custodian = :yes OR is_analyst = :yes"),
        {"yes": True},
    )
    if requests or accounts:
        raise RuntimeError(
            f"Identity requests ({requests}) or custodian and analyst accounts ({accounts}) "
            "exist; the older schema has no place for them, so nothing was changed. Remove "
            "them first."
        )
    op.drop_index(op.f("ix_identity_requests_state"), table_name="identity_requests")
    op.drop_index(op.f("ix_identity_requests_handler_id"), table_name="identity_requests")
    op.drop_index(op.f("ix_identity_requests_case_id"), table_name="identity_requests")
    op.drop_table("identity_requests")
    op.drop_column("users", "is_analyst")
    op.drop_column("users", "is_custodian")
