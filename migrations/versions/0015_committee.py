"""committee appeals

seeds/002's appeal: the Company Secretary an admin assigns, the committee's meeting dates, each
member's vote and the committee's recorded decision; four typed events for the appeal's steps.
New tables, and the check constraint on ``case_events.kind`` rebuilt with the new kinds. A
downgrade refuses while events of the new kinds exist, so no event is lost.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 14:30:00
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "received",
    "acknowledged",
    "feedback_sent",
    "decision_sent",
    "resolved",
    "appeal_filed",
    "reporter_message",
    "resolution_sent",
    "reporter_satisfied",
    "reopened",
)
NEW_KINDS = ("secretary_asked", "secretary_answered", "committee_asked", "committee_decided")
CONSTRAINT = "ck_case_events_event_kind"


def _check(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


@contextmanager
def _quiet_reflection() -> Iterator[None]:
    # As in 0013: the batch copy of "case_events" on SQLite reflects "cases", whose expression
    # index cannot be reflected; "cases" itself is not copied.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Skipped unsupported reflection of expression-based index",
            category=sa.exc.SAWarning,
        )
        yield


def _replace_check(kinds: Sequence[str]) -> None:
    with _quiet_reflection(), op.batch_alter_table("case_events") as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), sa.text(_check(kinds)))


def upgrade() -> None:
    _replace_check(OLD_KINDS + NEW_KINDS)
    op.create_table(
        "company_secretary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_company_secretary_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_secretary")),
    )
    op.create_table(
        "committee_meetings",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_committee_meetings")),
    )
    op.create_table(
        "committee_votes",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("vote", sa.String(length=16), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "vote IN ('uphold', 'dismiss')", name=op.f("ck_committee_votes_vote_kind")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_committee_votes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_committee_votes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_committee_votes")),
    )
    op.create_table(
        "committee_decisions",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("upheld", sa.Integer(), nullable=False),
        sa.Column("dismissed", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('uphold', 'dismiss')", name=op.f("ck_committee_decisions_outcome_kind")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_committee_decisions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_committee_decisions_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_committee_decisions")),
    )


def downgrade() -> None:
    listed = ", ".join(f"'{kind}'" for kind in NEW_KINDS)
    count = op.get_bind().scalar(
        sa.text(f"SELECT count(*) FROM case_events WHERE kind IN ({listed})")  # noqa: S608
    )
    if count:
        raise RuntimeError(
            f"{count} recorded appeal events would not fit the older schema; nothing was changed."
        )
    # Drops the secretary, the meeting dates, the votes and the decisions; the audit trail
    # keeps every assignment, schedule change, vote and decision.
    op.drop_table("committee_decisions")
    op.drop_table("committee_votes")
    op.drop_table("committee_meetings")
    op.drop_table("company_secretary")
    _replace_check(OLD_KINDS)
