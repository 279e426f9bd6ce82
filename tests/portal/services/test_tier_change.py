"""A change of tier on a running case: seeds/000's first response depends on the tier (line 40,
tier 1: "If unanswered within 15 minutes"; line 49, tier 2: "If unanswered within 12 hours";
line 56, tier 3: "This concern will be reviewed within 48 hours at a minimum"), so a complaint
found critical after it came in is due as a critical one. The preset names the change of tier
in ``recompute_on``; a clock that does not name it keeps its due time. A fixed clock drives the
worker one second before, at and after each step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, CaseEvent, CaseStatus, DeadlineState, EventKind, User
from portal.services import casework, clock
from portal.services.clock import preview
from portal.services.policies import PolicyError, load_policy, parse_policy
from tests.factories import handler_private_key
from tests.portal.services.test_clock import SECOND, T0, deadline, file_case, ladder, settings

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def change_tier(
    db: Session, app: Flask, settings: clock.ClockSettings, handler: User, case: Case, tier: int
) -> None:
    access = casework.open_case(db, handler, handler_private_key(handler), case.uid)
    casework.update_case(
        db,
        access,
        tier=tier,
        category=case.category,
        status=case.status,
        outcome=None,
        intake=app.extensions["candor.config"].intake,
        settings=settings,
        now=T0 + HOUR,
    )


def recomputed(db: Session, case: Case) -> list[str]:
    return list(
        db.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.case_id == case.id, AuditEntry.action == "deadline_recomputed"
            )
        )
    )


def test_a_complaint_raised_to_tier_1_is_due_15_minutes_after_receipt_and_escalates(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=3)
    assert deadline(db, case, "review").due_at == T0 + 48 * HOUR
    change_tier(db, app, settings, ladder[1], case, 1)
    review = deadline(db, case, "review")
    # 15 minutes from receipt, already past an hour in: the worker acts at its next pass.
    assert review.due_at == T0 + 15 * MINUTE
    assert review.state is DeadlineState.RUNNING and review.next_action_at == T0 + 15 * MINUTE
    assert (
        EventKind.TIER_CHANGED
        in db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    )
    [detail] = recomputed(db, case)
    assert detail.startswith("seed-complaints/review: tier 1, due 2026-11-25T09:00:00")
    clock.tick(db, now=T0 + HOUR + SECOND, settings=settings)
    db.refresh(review)
    # Breached at its new due time, and climbing every 15 minutes (line 42: "If no response
    # within 15 minutes email support@alloy.co"): an hour in, the ladder's top is reached.
    assert review.state is DeadlineState.BREACHED
    assert db.get(Case, case.id).escalation_level == 3  # type: ignore[union-attr]


def test_a_complaint_lowered_to_tier_3_gets_its_48_hours_back(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=2)
    assert deadline(db, case, "review").due_at == T0 + 12 * HOUR
    change_tier(db, app, settings, ladder[1], case, 3)
    review = deadline(db, case, "review")
    assert review.due_at == T0 + 48 * HOUR
    # The 12-hour warning of a 48-hour clock is still ahead, so it is the next step.
    assert review.next_action_at == T0 + 36 * HOUR
    for moment, state in (
        (48 * HOUR - SECOND, DeadlineState.RUNNING),
        (48 * HOUR, DeadlineState.BREACHED),
    ):
        clock.tick(db, now=T0 + moment, settings=settings)
        db.refresh(review)
        assert review.state is state, moment


def test_a_breached_clock_whose_new_time_is_ahead_runs_again(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=1)
    clock.tick(db, now=T0 + 15 * MINUTE, settings=settings)
    review = deadline(db, case, "review")
    assert review.state is DeadlineState.BREACHED
    change_tier(db, app, settings, ladder[1], case, 3)
    db.refresh(review)
    assert (review.state, review.due_at) == (DeadlineState.RUNNING, T0 + 48 * HOUR)


def test_a_clock_that_does_not_name_the_change_keeps_its_due_time(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("eu-directive", "seed-complaints"), tier=3)
    before = {key: deadline(db, case, key).due_at for key in ("acknowledge", "resolve")}
    change_tier(db, app, settings, ladder[1], case, 1)
    assert {key: deadline(db, case, key).due_at for key in before} == before
    assert deadline(db, case, "review").due_at == T0 + 15 * MINUTE
    assert [d.split(":")[0] for d in recomputed(db, case)] == ["seed-complaints/review"]


def test_a_stopped_clock_is_not_computed_again(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=3)
    db.add(CaseEvent(case_id=case.id, kind=EventKind.ACKNOWLEDGED, occurred_at=T0 + MINUTE))
    clock.apply_event(db, case, EventKind.ACKNOWLEDGED, now=T0 + MINUTE, settings=settings)
    db.commit()
    change_tier(db, app, settings, ladder[1], case, 1)
    review = deadline(db, case, "review")
    assert (review.state, review.due_at) == (DeadlineState.MET, T0 + 48 * HOUR)
    assert recomputed(db, case) == []
    assert db.get(Case, case.id).status is CaseStatus.NEW  # type: ignore[union-attr]


def test_the_preset_names_the_change_and_the_words_say_so() -> None:
    review = load_policy("seed-complaints").clock("review")
    assert review.recompute_on == frozenset({EventKind.TIER_CHANGED})
    words = preview.clock_in_words(review, load_policy("seed-complaints"))
    assert "due again from receipt at the new tier's time when a handler changes the tier" in words


def _policy(**clock_keys: Any) -> dict[str, Any]:
    base = {
        "key": "first",
        "label": "First response",
        "promise": "answer",
        "start": "received",
        "stop": ["acknowledged"],
        "duration": 2,
        "unit": "hours",
        "at_expiry": ["notify"],
        "recompute_on": ["tier_changed"],
    }
    return {"name": "custom", "title": "Custom", "clocks": [base | clock_keys]}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "only a clock whose duration_by_tier sets its time by tier"),
        (
            {"duration_by_tier": {"1": "15 minutes"}, "pausable": True, "pause_cap": "1 hours"},
            "not on a clock that pauses, extends or has an anchor",
        ),
        (
            {"duration_by_tier": {"1": "15 minutes"}, "extend_to": 4, "max_extensions": 1},
            "not on a clock that pauses, extends or has an anchor",
        ),
    ],
)
def test_recompute_is_refused_where_it_would_undo_another_act(
    keys: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(_policy(**keys))
    assert parse_policy(_policy(duration_by_tier={"1": "15 minutes"})).clocks[0].recompute_on
