"""seeds/000 (complaints), line by line: each row quotes the seed line it checks.

A fixed clock drives the worker one second before, at and after each step; no sleeps.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.models import DeadlineState, User
from portal.services import clock
from portal.services.clock.preview import Happening, preview_timeline
from tests.portal.services.test_clock import SECOND, T0, deadline, file_case, ladder, settings

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

TIERS = [
    pytest.param(
        1,
        timedelta(minutes=15),
        timedelta(minutes=15),
        id='line 40: "If unanswered within 15 minutes message the Alloy team"; line 42: '
        '"If no response within 15 minutes email support@alloy.co"',
    ),
    pytest.param(
        2,
        timedelta(hours=12),
        timedelta(hours=12),
        id='line 49: "If unanswered within 12 hours call the Alloy support line"',
    ),
    pytest.param(
        3,
        timedelta(hours=48),
        timedelta(hours=48),
        id='line 56: "This concern will be reviewed within 48 hours at a minimum"',
    ),
]


@pytest.mark.parametrize(("tier", "first", "step"), TIERS)
def test_the_first_response_is_due_by_tier_and_escalation_repeats_at_that_step(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    tier: int,
    first: timedelta,
    step: timedelta,
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=tier)
    review = deadline(db, case, "review")
    assert review.due_at == T0 + first

    def level_at(moment: timedelta) -> int:
        clock.tick(db, now=T0 + moment, settings=settings)
        db.refresh(case)
        return case.escalation_level

    assert level_at(first - SECOND) == 1
    assert deadline(db, case, "review").state is DeadlineState.RUNNING
    assert level_at(first) == 2
    assert deadline(db, case, "review").state is DeadlineState.BREACHED
    assert level_at(first + SECOND) == 2
    # While nobody responds, the next step up comes after the same wait.
    assert level_at(first + step - SECOND) == 2
    assert level_at(first + step) == 3
    assert level_at(first + step + SECOND) == 3


@pytest.mark.parametrize(("tier", "first", "step"), TIERS)
def test_the_preview_shows_the_same_first_response_and_steps(
    settings: clock.ClockSettings, tier: int, first: timedelta, step: timedelta
) -> None:
    timeline = preview_timeline("seed-complaints", T0, tier, calendar=settings.calendar)
    review = [e for e in timeline.events if e.clock == "review"]
    due = [e.at for e in review if e.happening is Happening.DUE]
    escalations = [e.at for e in review if e.happening is Happening.ESCALATION]
    assert due == [T0 + first]
    assert escalations == [T0 + first, T0 + first + step]
