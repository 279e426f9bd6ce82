"""tier changed event

A handler's change of a case's tier is a typed event: a clock whose policy names it in
``recompute_on`` is due again from its start at the new tier's duration. The check constraint on
``case_events.kind`` is rebuilt with the new kind. No row changes; a downgrade refuses while rows
of the new kind exist, so no event is lost.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 14:45:00
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
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
)
NEW_KINDS = ("tier_changed",)
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


def downgrade() -> None:
    count = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM case_events WHERE kind = 'tier_changed'")
    )
    if count:
        raise RuntimeError(
            f"{count} recorded tier changes would not fit the older schema; nothing was changed."
        )
    _replace_check(OLD_KINDS)
