"""One policy's facts as the published page states them: each clock's time allowed, what it
is counted from, and the climb up the ladder when it passes.

Everything here is read from the policy's rules through the clock's own functions
(``ClockRule.duration_for``, ``escalation_step``, ``schedule.ladder_of``), never written a
second time; tests/portal/test_policy_page.py checks each stated time and step against the
timeline ``candor clock preview`` computes. Words are in the language of the moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.config import ReporterGroup
from portal.i18n import _
from portal.models import Case, EventKind
from portal.services.calendar import Duration
from portal.services.clock.preview import in_sentence
from portal.services.clock.schedule import ladder_of
from portal.services.policies import TIERS, ClockRule, Policy, shown
from portal.services.policy_page.words import START_WORDS, STOP_WORDS


@dataclass(frozen=True)
class TimeAllowed:
    """A clock's time for the cases at ``tiers``."""

    tiers: tuple[int, ...]
    duration: Duration

    @property
    def every_tier(self) -> bool:
        return self.tiers == TIERS

    def words(self) -> str:
        return self.duration.words()


@dataclass(frozen=True)
class ClimbStep:
    """One step up: ``wait`` after the previous moment (for the first, the time allowed, so
    the step comes when the time is up), to ``level``, who is ``name``."""

    wait: Duration
    level: int
    name: str


@dataclass(frozen=True)
class Climb:
    """The steps a report of one reporter group (``group`` None: any other, or not said) at
    ``tiers`` climbs when the clock's time passes with nobody answering."""

    who: str
    group: str | None
    tiers: tuple[int, ...]
    steps: tuple[ClimbStep, ...]


@dataclass(frozen=True)
class ClockFacts:
    policy: str
    key: str
    label: str
    # What the reporter is promised ("acknowledge your report").
    promise: str
    starts_on_receipt: bool
    # What the time is counted from, in words ("receipt").
    counted_from: str
    # The clock whose due time the time is counted from, when nobody acts (EU feedback).
    anchor: str | None
    times: tuple[TimeAllowed, ...]
    at_meeting: bool
    # What ends the clock, in words ("an acknowledgement is sent").
    stops: str
    extended_to: Duration | None
    extensions: int
    # The site text sent to the reporter when the time passes (the mediator's notice).
    reporter_notice: str | None
    climbs: tuple[Climb, ...]
    # Only the people responsible are told when the time passes (no climb).
    notifies: bool

    @property
    def clock_name(self) -> str:
        """As ``candor clock preview`` names it ("seed-complaints/review")."""
        return f"{self.policy}/{self.key}"


def clock_facts(policy: Policy, groups: Sequence[ReporterGroup]) -> list[ClockFacts]:
    """Each clock of ``policy`` as the page states it, in the policy's order."""
    # Receipt starts every receipt clock at once; the case starts at the highest of their levels.
    start_level = max((r.level for r in policy.clocks if r.start is EventKind.RECEIVED), default=1)
    facts = []
    for rule in policy.clocks:
        on_receipt = rule.start is EventKind.RECEIVED
        facts.append(
            ClockFacts(
                policy=policy.name,
                key=rule.key,
                label=shown(rule.label),
                promise=shown(rule.promise),
                starts_on_receipt=on_receipt,
                counted_from=_counted_from(rule, policy),
                anchor=rule.anchor_clock,
                times=_times(rule),
                at_meeting=rule.due_at_meeting,
                stops=_or([_(STOP_WORDS[e]) for e in sorted(rule.stop, key=_by_value)]),
                extended_to=(
                    Duration(rule.extend_to, rule.duration.unit)
                    if rule.extend_to is not None and rule.max_extensions
                    else None
                ),
                extensions=rule.max_extensions,
                reporter_notice=(
                    rule.reporter_notice if "reporter_notice" in rule.at_expiry else None
                ),
                climbs=(
                    _climbs(
                        rule, groups, max(start_level, rule.level) if on_receipt else rule.level
                    )
                    if "escalate" in rule.at_expiry
                    else ()
                ),
                notifies="notify" in rule.at_expiry,
            )
        )
    return facts


def _times(rule: ClockRule) -> tuple[TimeAllowed, ...]:
    """The clock's time, tiers with the same time said once."""
    by_duration: dict[Duration, list[int]] = {}
    for tier in TIERS:
        by_duration.setdefault(rule.duration_for(tier), []).append(tier)
    return tuple(TimeAllowed(tuple(tiers), d) for d, tiers in by_duration.items())


def _counted_from(rule: ClockRule, policy: Policy) -> str:
    if rule.anchor_clock is None:
        return _(START_WORDS[rule.start])
    anchor = in_sentence(policy.clock(rule.anchor_clock).label)
    if rule.restart_on:
        return _(
            "%(events)s or, without it, the end of the time to %(clock)s",
            events=_or([_(START_WORDS[e]) for e in sorted(rule.restart_on, key=_by_value)]),
            clock=anchor,
        )
    return _("the end of the time to %(clock)s", clock=anchor)


def _climbs(rule: ClockRule, groups: Sequence[ReporterGroup], start: int) -> tuple[Climb, ...]:
    """Who is told, step by step, for each reporter group with a ladder of its own and for
    everyone else; tiers whose steps are the same are said once."""
    own = [g for g in groups if rule.ladder_by_group.get(g.key)]
    rows: list[tuple[str, str | None]] = [(g.label, g.key) for g in own]
    if own:
        rows.append((_("Any other reporter, or one who did not say"), None))
    else:
        rows.append((_("Every reporter"), None))
    climbs: list[Climb] = []
    for who, group in rows:
        tiers_of: dict[tuple[ClimbStep, ...], list[int]] = {}
        for tier in TIERS:
            tiers_of.setdefault(_steps(rule, group, tier, start), []).append(tier)
        climbs.extend(
            Climb(who=who, group=group, tiers=tuple(tiers), steps=steps)
            for steps, tiers in tiers_of.items()
        )
    return tuple(climbs)


def _steps(rule: ClockRule, group: str | None, tier: int, start: int) -> tuple[ClimbStep, ...]:
    """The worker's climb (``worker._escalate``, ``schedule.next_action``) with someone on
    every step: at the due time the next step up, then one more after each ``escalation_step``
    until the ladder's top; with no step set, the one escalation at the due time."""
    ladder = ladder_of(rule, Case(tier=tier, reporter_group=group))
    every = rule.escalation_step(tier)
    steps: list[ClimbStep] = []
    level, wait = start, rule.duration_for(tier)
    while (step := ladder.next_above(level)) is not None:
        # The site's levels are named by LEVEL_NAMES, a policy's steps in its own words.
        steps.append(ClimbStep(wait=wait, level=step.level, name=shown(step.label)))
        if every is None:
            break
        level, wait = step.level, every
    return tuple(steps)


def _by_value(kind: EventKind) -> str:
    return kind.value


def _or(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return _("%(items)s or %(last)s", items=", ".join(words[:-1]), last=words[-1])


__all__ = ["Climb", "ClimbStep", "ClockFacts", "TimeAllowed", "clock_facts"]
