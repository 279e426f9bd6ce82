"""Policies as data: presets shipped as TOML in the package, each a list of clocks."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from portal.i18n import _
from portal.models import EventKind
from portal.services.calendar import Duration, Unit

ACTIONS = frozenset({"notify", "escalate", "reporter_notice"})
# When a clock is due: its duration after its start, or the committee's next meeting after its
# start (seeds/002, line 82), its duration then being the fallback when no meeting is set.
DUE_KINDS = frozenset({"duration", "next_meeting"})
PRESETS = ("eu-directive", "seed-complaints", "seed-membership")
# The rungs of the ladder (1 handler, 2 supervisor, 3 executive or committee): a step of a
# policy's ladder names one of them.
LEVELS = (1, 2, 3)
TIERS = (1, 2, 3)
MAX_STEP_LABEL = 60


class PolicyError(Exception):
    """A policy file is malformed; the message names the policy, the clock and the key."""


@dataclass(frozen=True)
class LadderStep:
    """One rung a clock escalates to: a level of the site's ladder, and who that is in the
    policy's words ("the executive team"), for the cases at ``tiers``."""

    level: int
    label: str
    tiers: frozenset[int] = frozenset(TIERS)
    # The policy line the step encodes, quoted, shown beside it to admins.
    source: str | None = None


@dataclass(frozen=True)
class ClockRule:
    key: str
    label: str
    promise: str
    start: EventKind
    stop: frozenset[EventKind]
    duration: Duration
    roll_to_working_day: bool
    warn_before: tuple[Duration, ...]
    escalate_every: Duration | None
    escalate_every_by_tier: dict[int, Duration]
    at_expiry: frozenset[str]
    anchor_clock: str | None
    restart_on: frozenset[EventKind]
    restart_on_repeat: bool
    promise_within: str | None
    level: int
    pausable: bool
    pause_cap: Duration | None
    extend_to: int | None
    max_extensions: int
    reporter_notice: str | None
    names_investigator: bool
    # The seed line or the law's article the clock encodes, quoted, shown beside it to admins.
    source: str | None = None
    # A critical matter cannot wait as long as a routine one: the time to the first response
    # may depend on the case's tier; a tier not listed takes ``duration``.
    duration_by_tier: dict[int, Duration] = field(default_factory=dict)
    # Events that set a stopped clock running again to its own due time (reopening a case).
    resume_on: frozenset[EventKind] = frozenset()
    # Events on which a running clock is due again from its own start, at the duration of the
    # case's tier as it now is (a matter found critical later is answered as a critical one):
    # the one act besides ``restart_on`` that may bring a due time earlier.
    recompute_on: frozenset[EventKind] = frozenset()
    # Who the clock escalates to, in the policy's words: a ladder for every reporter (empty:
    # the site's levels, supervisor then executive) and, for some reporter groups, their own.
    ladder: tuple[LadderStep, ...] = ()
    ladder_by_group: dict[str, tuple[LadderStep, ...]] = field(default_factory=dict)

    def group_ladder(self, group: str | None, tier: int) -> tuple[LadderStep, ...]:
        """The steps of ``group``'s own ladder that apply at ``tier`` (none: it has none)."""
        steps = self.ladder_by_group.get(group or "", ())
        return tuple(s for s in steps if tier in s.tiers)

    def ladder_for(self, group: str | None, tier: int) -> tuple[LadderStep, ...]:
        """The steps a case of ``group`` at ``tier`` climbs: its group's, else the clock's own
        ladder; empty when the policy names none (the site's levels apply)."""
        return self.group_ladder(group, tier) or tuple(s for s in self.ladder if tier in s.tiers)

    # "duration", or "next_meeting": due at the committee's first meeting after the clock
    # starts; without a meeting set after it, ``duration`` applies and the handlers are told.
    due: str = "duration"

    @property
    def due_at_meeting(self) -> bool:
        return self.due == "next_meeting"

    def escalation_step(self, tier: int) -> Duration | None:
        return self.escalate_every_by_tier.get(tier, self.escalate_every)

    def duration_for(self, tier: int | None) -> Duration:
        """How long the clock runs for a case at ``tier`` (``duration`` when no tier is given)."""
        if tier is None:
            return self.duration
        return self.duration_by_tier.get(tier, self.duration)


@dataclass(frozen=True)
class LateWindow:
    """How soon after the event a policy asks for the report ("within one month of the
    occurrence"). Never a refusal: the reporter reads ``notice`` on the form and answers
    ``question`` (yes or no); a "yes" shows ``flag`` to the handlers on the case page."""

    question: str
    notice: str
    flag: str
    source: str | None = None


@dataclass(frozen=True)
class FollowUpAction:
    """One action the policy promises after an upheld complaint, ticked by a handler."""

    key: str
    label: str
    source: str | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    clocks: tuple[ClockRule, ...]
    # How often the organisation reviews the policy itself (None: no interval is set), and the
    # source line that says so, shown beside it to admins.
    review_every: Duration | None = None
    review_source: str | None = None
    late_window: LateWindow | None = None
    follow_up: tuple[FollowUpAction, ...] = ()

    def clock(self, key: str) -> ClockRule:
        for rule in self.clocks:
            if rule.key == key:
                return rule
        raise KeyError(key)

    def promised_within(self, rule: ClockRule) -> str:
        """How long ``rule`` promises, in words of the language of the moment: its duration, or
        its ``promise_within`` (translated, when a preset's) with ``{duration}`` and
        ``{anchor}`` (the anchor clock's duration) filled in."""
        if rule.promise_within is None:
            return rule.duration.words()
        anchor = self.clock(rule.anchor_clock) if rule.anchor_clock else rule
        durations = {"duration": rule.duration.words(), "anchor": anchor.duration.words()}
        try:
            return shown(rule.promise_within).format(**durations)
        except (KeyError, IndexError, ValueError):
            # A translation that broke a placeholder: the policy's own words rather than none.
            return rule.promise_within.format(**durations)


def shown(text: str) -> str:
    """A policy's words (a promise, label, notice, question or flag) in the language of the
    moment: a preset's are in the catalogue (portal/i18n_extract.py); an admin's own policy's
    come back as written."""
    text = text.strip()
    # The empty msgid is the catalogue's header, never a translation.
    return _(text) if text else text


@cache
def load_policy(name: str) -> Policy:
    """The preset named ``name``, validated; PolicyError names what is wrong."""
    if name not in PRESETS:
        raise PolicyError(f"unknown policy {name!r}")
    text = resources.files("portal.policies").joinpath(f"{name}.toml").read_text("utf-8")
    return parse_policy(tomllib.loads(text))


def parse_policy(raw: dict[str, Any]) -> Policy:
    name = str(raw.get("name", "?"))
    clocks = []
    for index, item in enumerate(raw.get("clocks", [])):
        where = f"policy {name}, clock {item.get('key', index)}"
        try:
            clocks.append(_clock(item))
        except (KeyError, ValueError, TypeError) as exc:
            raise PolicyError(f"{where}: {exc}") from None
    if not clocks:
        raise PolicyError(f"policy {name}: no clocks")
    keys = {c.key for c in clocks}
    for clock in clocks:
        if clock.anchor_clock is not None and clock.anchor_clock not in keys:
            raise PolicyError(f"policy {name}, clock {clock.key}: anchor_clock is not a clock")
    review_every = raw.get("review_every")
    try:
        every = Duration.parse(str(review_every)) if review_every else None
    except ValueError as exc:
        raise PolicyError(f"policy {name}, review_every: {exc}") from None
    if every is not None and every.amount <= 0:
        raise PolicyError(f"policy {name}, review_every: give a positive interval")
    source = raw.get("review_source")
    try:
        late_window = _late_window(raw["late_window"]) if "late_window" in raw else None
    except (KeyError, TypeError) as exc:
        raise PolicyError(f"policy {name}, late_window: {exc}") from None
    try:
        follow_up = tuple(
            FollowUpAction(
                key=str(item["key"]),
                label=str(item["label"]),
                source=str(item["source"]).strip() if item.get("source") else None,
            )
            for item in raw.get("follow_up", [])
        )
    except (KeyError, TypeError) as exc:
        raise PolicyError(f"policy {name}, follow_up: {exc}") from None
    if len({a.key for a in follow_up}) != len(follow_up):
        raise PolicyError(f"policy {name}, follow_up: each key once")
    policy = Policy(
        name=name,
        title=str(raw["title"]),
        clocks=tuple(clocks),
        review_every=every,
        review_source=str(source).strip() if source else None,
        late_window=late_window,
        follow_up=follow_up,
    )
    for clock in clocks:
        try:
            policy.promised_within(clock)
        except (KeyError, IndexError, ValueError) as exc:
            raise PolicyError(
                f"policy {name}, clock {clock.key}: promise_within names {exc}, "
                "use {duration} or {anchor}"
            ) from None
    return policy


def _late_window(item: dict[str, Any]) -> LateWindow:
    texts = {key: str(item[key]).strip() for key in ("question", "notice", "flag")}
    empty = sorted(key for key, text in texts.items() if not text)
    if empty:
        raise KeyError(f"{', '.join(empty)} must not be empty")
    return LateWindow(**texts, source=str(item["source"]).strip() if item.get("source") else None)


def _clock(item: dict[str, Any]) -> ClockRule:
    at_expiry = frozenset(item.get("at_expiry", []))
    if not at_expiry <= ACTIONS:
        raise ValueError(f"at_expiry: unknown action in {sorted(at_expiry - ACTIONS)}")
    if "reporter_notice" in at_expiry and not item.get("reporter_notice"):
        raise ValueError("reporter_notice: name the site text to send")
    escalate_every = item.get("escalate_every")
    pause_cap = item.get("pause_cap")
    level = int(item.get("level", 1))
    if ("ladder" in item or "ladder_by_group" in item) and "escalate" not in at_expiry:
        raise ValueError('a ladder needs "escalate" in at_expiry: this clock never escalates')
    due = str(item.get("due", "duration"))
    if due not in DUE_KINDS:
        raise ValueError(f"due: {due!r} is not one of {sorted(DUE_KINDS)}")
    return ClockRule(
        key=str(item["key"]),
        label=str(item["label"]),
        promise=str(item["promise"]),
        start=EventKind(item["start"]),
        stop=frozenset(EventKind(e) for e in item["stop"]),
        duration=Duration(int(item["duration"]), Unit(item["unit"])),
        roll_to_working_day=bool(item.get("roll_to_working_day", False)),
        warn_before=tuple(
            sorted(
                (Duration.parse(w) for w in item.get("warn_before", [])),
                key=_rough_seconds,
                reverse=True,
            )
        ),
        escalate_every=Duration.parse(escalate_every) if escalate_every else None,
        escalate_every_by_tier={
            int(tier): Duration.parse(step)
            for tier, step in item.get("escalate_every_by_tier", {}).items()
        },
        at_expiry=at_expiry,
        anchor_clock=item.get("anchor_clock"),
        restart_on=frozenset(EventKind(e) for e in item.get("restart_on", [])),
        restart_on_repeat=bool(item.get("restart_on_repeat", False)),
        promise_within=item.get("promise_within"),
        level=level,
        pausable=bool(item.get("pausable", False)),
        pause_cap=Duration.parse(pause_cap) if pause_cap else None,
        extend_to=int(item["extend_to"]) if "extend_to" in item else None,
        max_extensions=int(item.get("max_extensions", 0)),
        reporter_notice=item.get("reporter_notice"),
        names_investigator=bool(item.get("names_investigator", False)),
        source=str(item["source"]).strip() if item.get("source") else None,
        duration_by_tier=_by_tier(item.get("duration_by_tier", {})),
        resume_on=frozenset(EventKind(e) for e in item.get("resume_on", [])),
        recompute_on=_recompute_on(item),
        ladder=_ladder(item["ladder"], level, "ladder") if "ladder" in item else (),
        ladder_by_group=_ladders_by_group(item.get("ladder_by_group", {}), level),
        due=due,
    )


def _ladders_by_group(raw: dict[str, Any], level: int) -> dict[str, tuple[LadderStep, ...]]:
    if not isinstance(raw, dict):
        raise TypeError("ladder_by_group: give a table of reporter groups")
    return {
        str(group): _ladder(steps, level, f"ladder_by_group, group {group}")
        for group, steps in raw.items()
    }


def _ladder(raw: Any, start: int, where: str) -> tuple[LadderStep, ...]:
    """A ladder's steps, validated: each a known level above the clock's own, climbing."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: give at least one step")
    steps = []
    for number, item in enumerate(raw, start=1):
        here = f"{where}, step {number}"
        if not isinstance(item, dict):
            raise TypeError(f"{here}: give a table with a level and a label")
        level = item.get("level")
        if isinstance(level, bool) or level not in LEVELS:
            raise ValueError(f"{here}: unknown level {level!r}, use 1, 2 or 3")
        if level <= start:
            # The case starts at the clock's level: a step at or below it is never climbed to.
            raise ValueError(f"{here}: level {level} is not above the clock's level {start}")
        label = str(item.get("label", "")).strip()
        if not label:
            raise ValueError(f"{here}: give a label (who is told, in the policy's words)")
        # The label goes into the subject line of the notification: one short line.
        if len(label) > MAX_STEP_LABEL or any(c in label for c in "\r\n"):
            raise ValueError(
                f"{here}: the label must be one line of at most {MAX_STEP_LABEL} characters"
            )
        tiers = frozenset(int(t) for t in item.get("tiers", TIERS))
        if not tiers or not tiers <= set(TIERS):
            raise ValueError(f"{here}: tiers must be among 1, 2 and 3")
        source = item.get("source")
        steps.append(
            LadderStep(
                level=level,
                label=label,
                tiers=tiers,
                source=str(source).strip() if source else None,
            )
        )
    for tier in TIERS:
        levels = [s.level for s in steps if tier in s.tiers]
        if levels != sorted(set(levels)):
            raise ValueError(f"{where}: at tier {tier}, each step must be a level higher")
    return tuple(steps)


def _recompute_on(item: dict[str, Any]) -> frozenset[EventKind]:
    kinds = frozenset(EventKind(e) for e in item.get("recompute_on", []))
    if not kinds:
        return kinds
    if not item.get("duration_by_tier"):
        raise ValueError("recompute_on: only a clock whose duration_by_tier sets its time by tier")
    if item.get("pausable") or "extend_to" in item or item.get("anchor_clock"):
        # A pause, an extension or an anchor moved the due time by an act of its own; computing
        # it again from the start would undo that act.
        raise ValueError("recompute_on: not on a clock that pauses, extends or has an anchor")
    return kinds


def _by_tier(raw: dict[str, Any]) -> dict[int, Duration]:
    durations = {int(tier): Duration.parse(text) for tier, text in raw.items()}
    for tier, duration in durations.items():
        if tier not in (1, 2, 3):
            raise ValueError(f"duration_by_tier: tier {tier} is not 1, 2 or 3")
        if duration.amount <= 0:
            raise ValueError(f"duration_by_tier: tier {tier} must be longer than nothing")
    return durations


_SECONDS = {
    Unit.MINUTES: 60,
    Unit.HOURS: 3600,
    Unit.CALENDAR_DAYS: 86400,
    Unit.WORKING_DAYS: 86400 * 7 // 5,
    Unit.CALENDAR_MONTHS: 86400 * 30,
}


def _rough_seconds(duration: Duration) -> int:
    # Only for ordering warnings, earliest first.
    return duration.amount * _SECONDS[duration.unit]
