"""seeds/000 by reporter group: each group climbs the ladder the seed gives it.

Each row quotes the seed line it checks. A fixed clock drives the worker one second before, at
and after each step; no sleeps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, OutboxMessage, User
from portal.services import clock
from portal.services.clock.views import deadlines_of
from portal.services.policies import PolicyError, load_policy, parse_policy
from tests.portal.services.test_clock import SECOND, T0, deadline, file_case, ladder, settings

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

MINUTES_15 = timedelta(minutes=15)
HOURS_12 = timedelta(hours=12)
EXECUTIVES = "the executive team"
SLACK = "the Alloy team on the customer's Slack channel"
SUPPORT_LINE = "the Alloy support line"
SUPPORT_EMAIL = "support@alloy.co, marked urgent"

# (group, tier, [(time after receipt, level, who)]): every escalation step, in order.
LADDERS = [
    pytest.param(
        "employee",
        1,
        [(MINUTES_15, 3, EXECUTIVES)],
        id='line 93: "If you do not hear back from them within 15 minutes contact one of the '
        'executive team"',
    ),
    pytest.param(
        "employee",
        2,
        [(HOURS_12, 3, EXECUTIVES)],
        id='line 99: "If you do not hear back from them within 12 hours contact one of the '
        'executive team"',
    ),
    pytest.param(
        "customer",
        1,
        [(MINUTES_15, 2, SLACK), (2 * MINUTES_15, 3, SUPPORT_EMAIL)],
        id='line 40: "If unanswered within 15 minutes message the Alloy team via your customer '
        'slack channel"; line 42: "If no response within 15 minutes email support@alloy.co"',
    ),
    pytest.param(
        "customer",
        2,
        [(HOURS_12, 2, SUPPORT_LINE), (2 * HOURS_12, 3, SUPPORT_EMAIL)],
        id='line 49: "If unanswered within 12 hours call the Alloy support line"; line 51: '
        '"If unanswered after two attempts email support@alloy.co"',
    ),
    pytest.param(
        "vendor",
        1,
        [(MINUTES_15, 3, SUPPORT_EMAIL)],
        id='line 69: "If no response within 15 minutes email support@alloy.co"',
    ),
    pytest.param(
        "vendor",
        2,
        [(HOURS_12, 2, SUPPORT_LINE), (2 * HOURS_12, 3, SUPPORT_EMAIL)],
        id='line 76: "If unanswered within 12 hours call the Alloy support line"; line 78: '
        '"If unanswered after two attempts email support@alloy.co"',
    ),
    pytest.param(
        "employee",
        3,
        [(timedelta(hours=48), 2, None), (timedelta(hours=96), 3, None)],
        id='line 105: "Escalation steps are as outlined within the above policy" (the site\'s '
        "levels)",
    ),
    pytest.param(
        "public",
        1,
        [(MINUTES_15, 2, None), (2 * MINUTES_15, 3, None)],
        id="lines 5-9: the Basic Process only, for members of the public (the site's levels)",
    ),
]


def escalated(db: Session, case: Case) -> list[str]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.case_id == case.id, AuditEntry.action == "escalated")
            .order_by(AuditEntry.id)
        )
    )


def subjects_to(db: Session, user: User) -> list[str]:
    return list(
        db.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.recipient_id == user.id)
            .order_by(OutboxMessage.id)
        )
    )


@pytest.mark.parametrize(("group", "tier", "steps"), LADDERS)
def test_each_group_climbs_its_own_ladder(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    group: str,
    tier: int,
    steps: list[tuple[timedelta, int, str | None]],
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=tier, group=group)
    level = 1
    for number, (after, to, who) in enumerate(steps, start=1):
        # One second before: still where it was. At the time: the step. After: no more.
        clock.tick(db, now=T0 + after - SECOND, settings=settings)
        db.refresh(case)
        assert case.escalation_level == level
        assert len(escalated(db, case)) == number - 1
        clock.tick(db, now=T0 + after, settings=settings)
        clock.tick(db, now=T0 + after + SECOND, settings=settings)
        db.refresh(case)
        assert case.escalation_level == to
        details = escalated(db, case)
        assert len(details) == number
        named = f"{to}, {who}" if who else str(to)
        assert details[-1].startswith(f"seed-complaints/review: level {level} -> {named} (")
        # Who is told, in the seed's words: the staff at that level, labelled with the step.
        assert any(
            f"escalated to you ({who or clock.LEVEL_NAMES[to]}): review the complaint" in s
            for s in subjects_to(db, ladder[to])
        )
        level = to
    # The top of the group's ladder: the review clock climbs no further, however long it runs.
    assert deadline(db, case, "review").next_action_at is None
    assert len(escalated(db, case)) == len(steps)


def test_an_employee_skips_the_supervisor_who_is_never_told(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    # Line 93: from the manager straight to "one of the executive team".
    file_case(db, app, settings, policies=("seed-complaints",), tier=1, group="employee")
    clock.tick(db, now=T0 + MINUTES_15, settings=settings)
    assert not any("escalated to you" in s for s in subjects_to(db, ladder[2]))
    assert any("escalated to you (the executive team)" in s for s in subjects_to(db, ladder[3]))


def test_a_step_with_nobody_eligible_passes_to_the_next(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    # Nobody at level 2: the customer's Slack step is skipped, support@ is told at once.
    ladder[2].active = False
    db.commit()
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=1, group="customer")
    clock.tick(db, now=T0 + MINUTES_15, settings=settings)
    db.refresh(case)
    assert case.escalation_level == 3
    assert escalated(db, case) == [
        f"seed-complaints/review: level 1 -> 3, {SUPPORT_EMAIL} (deadline passed)"
    ]
    skipped = db.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.case_id == case.id, AuditEntry.action == "escalation_skipped"
        )
    ).all()
    assert skipped == [
        "seed-complaints/review: level 2 has nobody eligible (none, excluded or recused)"
    ]


def test_the_case_page_names_the_step_reached(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=1, group="customer")
    views = {v.clock: v for v in deadlines_of(db, case)}
    assert (views["review"].level_reached, views["review"].level_label) == (1, None)
    clock.tick(db, now=T0 + MINUTES_15, settings=settings)
    views = {v.clock: v for v in deadlines_of(db, case)}
    assert (views["review"].level_reached, views["review"].level_label) == (2, SLACK)
    # The 45-day clock has no ladder of its own: its levels are the site's, unnamed.
    assert views["resolve"].level_label is None


def test_without_a_group_the_ladder_is_exactly_the_sites(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("seed-complaints",), tier=1)
    assert case.reporter_group is None
    clock.tick(db, now=T0 + 2 * MINUTES_15, settings=settings)
    assert escalated(db, case) == [
        "seed-complaints/review: level 1 -> 2 (deadline passed)",
        "seed-complaints/review: level 2 -> 3 (no response)",
    ]


def test_the_preset_names_only_groups_the_site_offers_by_default(app: Flask) -> None:
    config = app.extensions["candor.config"]
    review = load_policy("seed-complaints").clock("review")
    assert set(review.ladder_by_group) == {"employee", "customer", "vendor"}
    assert set(review.ladder_by_group) <= {g.key for g in config.intake.groups}
    for steps in review.ladder_by_group.values():
        for step in steps:
            assert step.source is not None and step.source.startswith("seeds/000, line ")


def policy_with(**review: Any) -> dict[str, Any]:
    clock_item = {
        "key": "review",
        "label": "Review",
        "promise": "review it",
        "start": "received",
        "stop": ["acknowledged"],
        "duration": 48,
        "unit": "hours",
        "escalate_every": "1 hours",
        "at_expiry": ["escalate"],
        **review,
    }
    return {"name": "test", "title": "Test", "clocks": [clock_item]}


@pytest.mark.parametrize(
    ("review", "message"),
    [
        (
            {"ladder_by_group": {"employee": [{"level": 4, "label": "the board"}]}},
            "policy test, clock review: ladder_by_group, group employee, step 1: unknown level 4",
        ),
        (
            {"ladder_by_group": {"vendor": []}},
            "policy test, clock review: ladder_by_group, group vendor: give at least one step",
        ),
        (
            {"ladder_by_group": {"vendor": [{"level": 1, "label": "the handlers"}]}},
            "group vendor, step 1: level 1 is not above the clock's level 1",
        ),
        (
            {
                "ladder_by_group": {
                    "customer": [{"level": 3, "label": "a"}, {"level": 2, "label": "b"}]
                }
            },
            "group customer: at tier 1, each step must be a level higher",
        ),
        (
            {"ladder_by_group": {"customer": [{"level": 2, "label": ""}]}},
            "group customer, step 1: give a label",
        ),
        (
            {"ladder_by_group": {"customer": [{"level": 2, "label": "a\nb"}]}},
            "the label must be one line",
        ),
        (
            {"ladder_by_group": {"customer": [{"level": 2, "label": "a", "tiers": [4]}]}},
            "tiers must be among 1, 2 and 3",
        ),
        (
            {"ladder": [{"level": "two", "label": "the supervisor"}]},
            "policy test, clock review: ladder, step 1: unknown level 'two'",
        ),
        (
            {
                "at_expiry": ["notify"],
                "ladder_by_group": {"customer": [{"level": 2, "label": "a"}]},
            },
            "this clock never escalates",
        ),
    ],
)
def test_a_malformed_ladder_is_refused_naming_policy_clock_and_group(
    review: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(policy_with(**review))
    assert message in str(refused.value)


def test_a_default_ladder_applies_to_groups_without_their_own() -> None:
    policy = parse_policy(
        policy_with(
            ladder=[{"level": 3, "label": "the committee"}],
            ladder_by_group={"employee": [{"level": 2, "label": "HR", "tiers": [1]}]},
        )
    )
    rule = policy.clock("review")
    assert [s.label for s in rule.ladder_for("employee", 1)] == ["HR"]
    assert [s.label for s in rule.ladder_for("employee", 2)] == ["the committee"]
    assert [s.label for s in rule.ladder_for(None, 1)] == ["the committee"]
    assert rule.group_ladder("employee", 2) == ()
