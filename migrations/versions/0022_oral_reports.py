"""oral reports, minutes approval, third-party reports and case links

Adds the channel a handler-recorded report came in by, the third-party flag and the state of the
minutes to ``cases``; the later versions of the minutes (sealed) in ``minutes_versions``; links
between cases in ``case_links``; and the minutes' typed events to the ``case_events.kind``
check. No row changes; a downgrade refuses while rows that the older schema cannot hold exist.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 15:10:00
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
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
    "secretary_asked",
    "secretary_answered",
    "committee_asked",
    "committee_decided",
    "tier_changed",
)
NEW_KINDS = ("minutes_corrected", "minutes_revised", "minutes_approved")
CONSTRAINT = "ck_case_events_event_kind"


def _check(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


@contextmanager
def _quiet_reflection() -> Iterator[None]:
    # As in 0017: the batch copy of "case_events" on SQLite reflects "cases", whose expression
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
    # Plain ADD COLUMN (no table copy) on both databases: "cases" keeps its expression index.
    op.add_column("cases", sa.Column("channel", sa.String(length=16), nullable=True))
    op.add_column(
        "cases",
        sa.Column("third_party", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("cases", sa.Column("minutes_state", sa.String(length=16), nullable=True))
    op.create_table(
        "minutes_versions",
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
                length=24,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("sealed_text", sa.LargeBinary(), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_minutes_versions_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_minutes_versions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes_versions")),
        sa.UniqueConstraint("uid", name=op.f("uq_minutes_versions_uid")),
    )
    op.create_index(
        "ix_minutes_versions_case_created",
        "minutes_versions",
        ["case_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "case_links",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("case_id < other_id", name=op.f("ck_case_links_ordered")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["other_id"],
            ["cases.id"],
            name=op.f("fk_case_links_other_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "other_id", name=op.f("pk_case_links")),
    )
    op.create_index(op.f("ix_case_links_other_id"), "case_links", ["other_id"], unique=False)
    _replace_check(OLD_KINDS + NEW_KINDS)


def downgrade() -> None:
    bind = op.get_bind()
    events = bind.scalar(
        sa.text(
            "SELECT count(*) FROM case_events WHERE kind IN "
            "('minutes_corrected', 'minutes_revised', 'minutes_approved')"
        )
    )
    oral = bind.scalar(
        sa.text("SELECT count(*) FROM cases WHERE channel IS NOT NULL OR third_party")
    )
    kept = bind.scalar(sa.text("SELECT count(*) FROM minutes_versions"))
    links = bind.scalar(sa.text("SELECT count(*) FROM case_links"))
    if events or oral or kept or links:
        raise RuntimeError(
            "Oral reports, minutes, third-party flags or case links are recorded and would not "
            "fit the older schema; nothing was changed."
        )
    _replace_check(OLD_KINDS)
    op.drop_index(op.f("ix_case_links_other_id"), table_name="case_links")
    op.drop_table("case_links")
    op.drop_index("ix_minutes_versions_case_created", table_name="minutes_versions")
    op.drop_table("minutes_versions")
    # Plain DROP COLUMN (SQLite 3.35 and later), so that "cases" is not copied.
    for column in ("minutes_state", "third_party", "channel"):
        op.drop_column("cases", column)
