"""several policies per case

A case runs the clocks of every policy of its category (a statutory one and the organisation's
own, say): ``cases.policy`` becomes the list ``cases.policies``, a deadline is unique per case,
policy and clock, and a category may have several chosen policies.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Read through typed columns, so that SQLite's stored text comes back as datetimes.
OLD_CHOICES = sa.table(
    "category_policies",
    sa.column("category", sa.String()),
    sa.column("policy", sa.String()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


@contextmanager
def _quiet_reflection() -> Iterator[None]:
    # On SQLite the batch copy of "deadlines" reflects "cases" (its foreign key's target), whose
    # expression index (ix_cases_inbox) cannot be reflected; "cases" itself is not copied.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Skipped unsupported reflection of expression-based index",
            category=sa.exc.SAWarning,
        )
        yield


def upgrade() -> None:
    bind = op.get_bind()
    # Added in place (no table copy), so the expression index on cases is left as it is.
    op.add_column(
        "cases", sa.Column("policies", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
    )
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE cases SET policies = json_build_array(policy)")
    else:
        op.execute("UPDATE cases SET policies = json_array(policy)")
    op.drop_column("cases", "policy")

    with _quiet_reflection(), op.batch_alter_table("deadlines") as batch_op:
        batch_op.drop_constraint("uq_deadlines_case_clock", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deadlines_case_policy_clock", ["case_id", "policy", "clock"]
        )

    chosen = bind.execute(sa.select(OLD_CHOICES))
    rows = [{"category": c, "policy": p, "position": 0, "updated_at": u} for c, p, u in chosen]
    op.drop_table("category_policies")
    table = op.create_table(
        "category_policies",
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("category", "policy", name=op.f("pk_category_policies")),
    )
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    bind = op.get_bind()
    first = sa.select(OLD_CHOICES).where(sa.column("position") == 0)
    rows = [{"category": c, "policy": p, "updated_at": u} for c, p, u in bind.execute(first)]
    op.drop_table("category_policies")
    table = op.create_table(
        "category_policies",
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_category_policies")),
    )
    if rows:
        op.bulk_insert(table, rows)

    # Only the first policy's deadlines fit the old one-clock-name-per-case rule.
    if bind.dialect.name == "postgresql":
        op.execute(
            "DELETE FROM deadlines USING cases WHERE deadlines.case_id = cases.id"
            " AND deadlines.policy <> cases.policies->>0"
        )
    else:
        op.execute(
            "DELETE FROM deadlines WHERE policy <> (SELECT json_extract(cases.policies, '$[0]')"
            " FROM cases WHERE cases.id = deadlines.case_id)"
        )
    with _quiet_reflection(), op.batch_alter_table("deadlines") as batch_op:
        batch_op.drop_constraint("uq_deadlines_case_policy_clock", type_="unique")
        batch_op.create_unique_constraint("uq_deadlines_case_clock", ["case_id", "clock"])

    op.add_column(
        "cases", sa.Column("policy", sa.String(length=64), server_default="", nullable=False)
    )
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE cases SET policy = policies->>0")
    else:
        op.execute("UPDATE cases SET policy = json_extract(policies, '$[0]')")
    op.drop_column("cases", "policies")
