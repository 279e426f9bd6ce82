"""complaint resolution events

Two typed events stop a complaint's resolution clock: a resolution message sent to the
reporter and the reporter's own "I am satisfied"; a third, reopening a case, may resume it.
The check constraint on ``case_events.kind`` lists the kinds it accepts, so it is rebuilt with
the new ones. No row changes; a downgrade refuses while rows of the new kinds exist, so no
event is lost.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 13:30:00
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
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
)
NEW_KINDS = ("resolution_sent", "reporter_satisfied", "reopened")
CONSTRAINT = "ck_case_events_event_kind"


def _check(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


@contextmanager
def _quiet_reflection() -> Iterator[None]:
    # On SQLite the batch copy of "case_events" reflects "cases" (its foreign key's target),
    # whose expression index (ix_cases_inbox) cannot be reflected; "cases" itself is not copied.
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
    listed = ", ".join(f"'{kind}'" for kind in NEW_KINDS)
    count = op.get_bind().scalar(
        sa.text(f"SELECT count(*) FROM case_events WHERE kind IN ({listed})")  # noqa: S608
    )
    if count:
        raise RuntimeError(
            f"{count} recorded resolution events would not fit the older schema; "
            "nothing was changed."
        )
    _replace_check(OLD_KINDS)
