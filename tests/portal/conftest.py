"""Fixtures shared by the portal tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from portal.services import policies, statistics
from portal.services.calendar import Duration, Unit
from portal.services.clock import versions
from portal.services.policies import ClockRule, Policy

# seeds/002 names no pause, so no preset declares one; pausing stays available to a policy that
# does. The pause tests run on the members' investigation clock with a pause declared on it.
PAUSE_CAP = Duration(10, Unit.WORKING_DAYS)


def pausable(rule: ClockRule) -> ClockRule:
    return replace(rule, pausable=True, pause_cap=PAUSE_CAP)


@pytest.fixture
def pausable_investigation(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClockRule]:
    """The seed-membership preset, its investigation clock declaring a pause of 10 working days."""
    parse = policies.parse_policy

    def parse_with_pause(raw: dict[str, Any]) -> Policy:
        policy = parse(raw)
        if policy.name != "seed-membership":
            return policy
        clocks = tuple(pausable(c) if c.key == "investigate" else c for c in policy.clocks)
        return replace(policy, clocks=clocks)

    policies.load_policy.cache_clear()
    monkeypatch.setattr(policies, "parse_policy", parse_with_pause)
    yield policies.load_policy("seed-membership").clock("investigate")
    monkeypatch.undo()
    policies.load_policy.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_policy_versions() -> Iterator[None]:
    """Versions and statistics are kept per process, which is right for one site's database;
    each test has a database of its own, so what another test's database said is forgotten."""
    versions.forget_cached()
    statistics.forget_cached()
    yield
    versions.forget_cached()
    statistics.forget_cached()
