"""The timeline preview: every event a policy's clocks would produce for one report if nobody
acted, and each clock in plain words.

The preview runs the worker's own schedule forward in memory: due times, warning times and
escalation times come from ``schedule`` (``due_time``, ``next_action``), the very functions the
worker calls, on deadline rows that are never added to a session. What an admin reads is then
what the clock will do, not a second reading of the policy that could drift from it. Nothing is
read from or written to the database, so the preview needs no case and shows no case content.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from portal.i18n import _, _n
from portal.models import Case, Deadline, DeadlineState, EventKind
from portal.services.calendar import BusinessCalendar, Duration
from portal.services.clock.event_words import START_WORDS as START_WORDS
from portal.services.clock.event_words import STOP_WORDS as STOP_WORDS
from portal.services.clock.meetings import next_meeting
from portal.services.clock.schedule import (
    TOP_LEVEL,
    due_time,
    ladder_of,
    next_action,
    warning_times,
)
from portal.services.errors import InvalidInputError
from portal.services.policies import ClockRule, LadderStep, Policy, load_policy

# However a policy is written, the preview stops here: far past any clock the presets have
# (the longest, three months plus its escalations, ends within half a year).
HORIZON = timedelta(days=400)
# Escalation in the worker pauses at the ladder's top, so a timeline is short; this only guards
# against a policy whose steps would never end.
MAX_EVENTS = 500
ESCALATION_NOTICE = "escalation"
# The notice when the deadline passes with nobody higher to pass the report to.
OVERDUE_NOTICE = "overdue"


class Happening(enum.Enum):
    WARNING = "warning"
    DUE = "due"
    ESCALATION = "escalation"
    TOP_REACHED = "top_reached"
    REPORTER_NOTICE = "reporter_notice"


@dataclass(frozen=True)
class PreviewEvent:
    """One thing the clock would do: when (UTC), on which clock, and what."""

    at: datetime
    policy: str
    clock: str
    label: str
    happening: Happening
    due: datetime
    level: int | None = None
    notice: str | None = None
    # Who the escalation goes to, when the policy's ladder names its steps ("the executive team").
    step: str | None = None

    @property
    def clock_name(self) -> str:
        """As the audit trail names the deadline ("eu-directive/acknowledge")."""
        return f"{self.policy}/{self.clock}"

    def describe(self) -> str:
        label = in_sentence(self.label)
        if self.happening is Happening.WARNING:
            return _(
                "warning: %(label)s, due in %(left)s", label=label, left=_left(self.due - self.at)
            )
        if self.happening is Happening.DUE:
            return _("due: %(label)s", label=label)
        if self.happening is Happening.ESCALATION:
            if self.step:
                return _(
                    "escalation to level %(level)s (%(step)s)", level=self.level, step=_(self.step)
                )
            return _("escalation to level %(level)s", level=self.level)
        if self.happening is Happening.TOP_REACHED:
            return _("no higher level to escalate to")
        if self.notice == ESCALATION_NOTICE:
            return _("notice to the reporter: the report has passed to someone more senior")
        if self.notice == OVERDUE_NOTICE:
            return _("notice to the reporter: the people responsible have been told")
        return _("notice to the reporter (%(notice)s)", notice=self.notice)


@dataclass(frozen=True)
class MeetingDue:
    """When a clock due at the committee's next meeting would be due, for an appeal that
    reached the committee at the preview's time: at ``meeting``'s end, or by the fallback
    duration when no meeting is set after it."""

    policy: str
    rule: ClockRule
    reached: datetime
    due: datetime
    meeting: date | None

    @property
    def clock_name(self) -> str:
        return f"{self.policy}/{self.rule.key}"

    def describe(self, timezone: str) -> str:
        label = in_sentence(self.rule.label)
        when = local_minute(self.reached, timezone)
        if self.meeting is not None:
            return _(
                "due: %(label)s, at the committee meeting of %(meeting)s, for an appeal that "
                "reaches the committee at %(when)s",
                label=label,
                meeting=self.meeting.isoformat(),
                when=when,
            )
        return _(
            "due: %(label)s, by the fallback of %(duration)s: no committee meeting is set after "
            "%(when)s",
            label=label,
            duration=duration_words(self.rule.duration),
            when=when,
        )


@dataclass(frozen=True)
class Timeline:
    policy: Policy
    received: datetime
    tier: int
    events: tuple[PreviewEvent, ...]
    # Clocks that start on an act (an acknowledgement, an appeal): with nobody acting, they
    # never start, and the page says so rather than leave them out silently.
    not_started: tuple[ClockRule, ...] = ()
    # The reporter group previewed, and whether the policy gives it (at this tier) a ladder of
    # its own; when not, the timeline is the one every reporter gets, and the page says so.
    group: str | None = None
    group_used: bool = False
    # Clocks due at the committee's next meeting, as if the appeal reached it at ``received``.
    meeting_dues: tuple[MeetingDue, ...] = ()


class _EventMaker(Protocol):
    def __call__(
        self,
        happening: Happening,
        *,
        level: int | None = None,
        notice: str | None = None,
        step: str | None = None,
    ) -> PreviewEvent: ...


@dataclass
class _Running:
    deadline: Deadline
    rule: ClockRule
    order: int


def preview_timeline(
    policy: Policy | str,
    received: datetime,
    tier: int,
    *,
    calendar: BusinessCalendar,
    group: str | None = None,
    meetings: Sequence[date] = (),
) -> Timeline:
    """Every warning, due time, escalation and notice to the reporter that ``policy`` would
    produce for a report received at ``received`` (aware) at ``tier``, if nobody acted.

    Escalations assume someone eligible at every level (the worker skips a level with nobody on
    it). ``group`` is the reporter's group (a key of the site's groups, or None when not said):
    a clock whose policy gives the group a ladder of its own climbs that ladder, as the worker
    does on a case of that group. ``policy`` is a preset's name or a policy that
    ``versions.resolve_policy`` found (a custom one, at the version shown). Raises PolicyError
    for an unknown preset, InvalidInputError for a naive time or a tier out of range.
    ``meetings`` are the committee's meeting dates: a clock due at the next meeting shows
    when it would be due for an appeal reaching the committee at ``received``.
    """
    if isinstance(policy, str):
        policy = load_policy(policy)
    if received.tzinfo is None or received.utcoffset() is None:
        raise InvalidInputError(_("Give the time of receipt with its time zone."))
    if tier not in (1, 2, 3):
        raise InvalidInputError(_("The tier is 1, 2 or 3."))
    # Never added to a session: the schedule's functions read only these attributes.
    case = Case(tier=tier, escalation_level=1, policies=[policy.name], reporter_group=group)
    running = _start(policy, case, received, calendar)
    events: list[PreviewEvent] = []
    end = received + HORIZON
    while len(events) < MAX_EVENTS:
        waiting = [r for r in running if r.deadline.next_action_at is not None]
        if not waiting:
            break
        # As the worker claims them: earliest first (ties in the policy's order).
        current = min(waiting, key=lambda r: (r.deadline.next_action_at, r.order))
        now = current.deadline.next_action_at
        if now is None or now > end:
            break
        events.extend(_step(current, policy, case, now, calendar))
    return Timeline(
        policy=policy,
        received=received,
        tier=tier,
        events=tuple(events),
        not_started=tuple(r for r in policy.clocks if r.start is not EventKind.RECEIVED),
        group=group,
        group_used=any(rule.group_ladder(group, tier) for rule in policy.clocks),
        meeting_dues=tuple(
            MeetingDue(
                policy=policy.name,
                rule=rule,
                reached=received,
                due=due_time(rule, received, calendar, tier=tier, meetings=meetings),
                meeting=next_meeting(meetings, received, calendar),
            )
            for rule in policy.clocks
            if rule.due_at_meeting
        ),
    )


def _start(
    policy: Policy, case: Case, received: datetime, calendar: BusinessCalendar
) -> list[_Running]:
    """The deadlines receipt starts, as ``schedule.apply_event`` starts them."""
    running: dict[str, _Running] = {}
    for order, rule in enumerate(policy.clocks):
        if rule.start is not EventKind.RECEIVED:
            continue
        base = received
        anchor = running.get(rule.anchor_clock or "")
        if anchor is not None:
            base = anchor.deadline.due_at
        deadline = Deadline(
            policy=policy.name,
            clock=rule.key,
            state=DeadlineState.RUNNING,
            started_at=received,
            due_at=due_time(rule, base, calendar, tier=case.tier),
            level_reached=max(rule.level, case.escalation_level),
            steps_done=0,
            paused_seconds=0,
            extensions=0,
        )
        deadline.steps_done = sum(
            1 for t in warning_times(deadline, rule, calendar) if t <= received
        )
        deadline.next_action_at = next_action(deadline, rule, case, calendar)
        running[rule.key] = _Running(deadline, rule, order)
        if rule.level > case.escalation_level:
            case.escalation_level = rule.level
    return list(running.values())


def _step(
    current: _Running, policy: Policy, case: Case, now: datetime, calendar: BusinessCalendar
) -> list[PreviewEvent]:
    """One action of the worker (``worker._act``) on one deadline, and what it produces."""
    deadline, rule = current.deadline, current.rule

    def event(
        happening: Happening,
        *,
        level: int | None = None,
        notice: str | None = None,
        step: str | None = None,
    ) -> PreviewEvent:
        return PreviewEvent(
            at=now,
            policy=policy.name,
            clock=rule.key,
            label=rule.label,
            happening=happening,
            due=deadline.due_at,
            level=level,
            notice=notice,
            step=step,
        )

    warnings = len(rule.warn_before)
    step = deadline.steps_done
    deadline.steps_done = step + 1
    out: list[PreviewEvent] = []
    if step < warnings:
        out.append(event(Happening.WARNING))
    elif step == warnings:
        deadline.state = DeadlineState.BREACHED
        out.append(event(Happening.DUE))
        if "reporter_notice" in rule.at_expiry and rule.reporter_notice:
            out.append(event(Happening.REPORTER_NOTICE, notice=rule.reporter_notice))
        if "escalate" in rule.at_expiry:
            climbed = _escalate(deadline, rule, case, event)
            out.append(climbed)
            moved = climbed.happening is Happening.ESCALATION
            notice = ESCALATION_NOTICE if moved else OVERDUE_NOTICE
            out.append(event(Happening.REPORTER_NOTICE, notice=notice))
    else:
        out.append(_escalate(deadline, rule, case, event))
    deadline.next_action_at = next_action(deadline, rule, case, calendar)
    return out


def _escalate(deadline: Deadline, rule: ClockRule, case: Case, event: _EventMaker) -> PreviewEvent:
    """``worker._escalate`` with someone eligible on every step: the next step of the case's
    ladder, or the end of the climb."""
    ladder = ladder_of(rule, case)
    step = ladder.next_above(case.escalation_level)
    if step is not None:
        case.escalation_level = step.level
        deadline.level_reached = step.level
        return event(
            Happening.ESCALATION, level=step.level, step=step.label if ladder.named else None
        )
    deadline.level_reached = TOP_LEVEL
    return event(Happening.TOP_REACHED)


def read_local_time(text: str, timezone: str) -> datetime:
    """A time as people type it ("2026-12-18 16:00"), read on the organisation's wall clock."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            _("%(given)s is not a date and time. Write it as 2026-12-18 16:00.", given=repr(text))
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def local_minute(moment: datetime, timezone: str) -> str:
    """``moment`` on the organisation's wall clock, to the minute: "2026-12-18 16:15"."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def clock_in_words(rule: ClockRule, policy: Policy) -> str:
    """A clock as an admin reads it: "acknowledge the report within 7 calendar days of receipt;
    warn 2 calendar days and 1 calendar day before; escalate every 2 calendar days after"."""
    label = in_sentence(rule.label)
    within = duration_words(rule.duration)
    if rule.duration_by_tier:
        within = ", ".join(
            _("%(duration)s at tier %(tier)s", duration=duration_words(d), tier=t)
            for t, d in sorted(rule.duration_by_tier.items())
        )
        if set(rule.duration_by_tier) != {1, 2, 3}:
            within = _(
                "%(durations)s, else %(duration)s",
                durations=within,
                duration=duration_words(rule.duration),
            )
    base = _base_words(rule, policy)
    if rule.due_at_meeting:
        parts = [
            _(
                "%(label)s: at the end of the committee's first meeting day after %(base)s "
                "(without a meeting set, within %(within)s of it)",
                label=label,
                base=base,
                within=within,
            )
        ]
    else:
        parts = [
            _("%(label)s: within %(within)s of %(base)s", label=label, within=within, base=base)
        ]
    if rule.roll_to_working_day:
        parts.append(_("a due time that falls on a day off moves to the next working day"))
    if rule.warn_before:
        warnings = _and(duration_words(w) for w in rule.warn_before)
        parts.append(_("warn %(durations)s before", durations=warnings))
    if "escalate" in rule.at_expiry:
        parts.append(_escalation_words(rule))
        parts.extend(_ladder_words(rule))
    if "notify" in rule.at_expiry:
        parts.append(_("tell the handlers when it is overdue"))
    if "reporter_notice" in rule.at_expiry and rule.reporter_notice:
        parts.append(
            _(
                'send the reporter the site text "%(notice)s" when it is overdue',
                notice=rule.reporter_notice,
            )
        )
    if rule.extend_to is not None and rule.max_extensions:
        longer = duration_words(Duration(rule.extend_to, rule.duration.unit))
        if rule.max_extensions == 1:
            parts.append(_("may be extended once to %(longer)s, with a reason", longer=longer))
        else:
            parts.append(
                _n(
                    "may be extended %(num)d time to %(longer)s, with a reason",
                    "may be extended %(num)d times to %(longer)s, with a reason",
                    rule.max_extensions,
                    longer=longer,
                )
            )
    if rule.pausable and rule.pause_cap is not None:
        parts.append(
            _(
                "may be paused for up to %(cap)s, with a reason",
                cap=duration_words(rule.pause_cap),
            )
        )
    parts.append(_("stops when %(events)s", events=_events(rule.stop, STOP_WORDS)))
    if rule.resume_on:
        again = _events(rule.resume_on, STOP_WORDS)
        parts.append(_("runs again to the same due time when %(events)s", events=again))
    if rule.recompute_on:
        parts.append(
            _(
                "due again from %(start)s at the new tier's time when %(events)s",
                start=_(START_WORDS[rule.start]),
                events=_events(rule.recompute_on, STOP_WORDS),
            )
        )
    return "; ".join(parts)


def in_sentence(label: str) -> str:
    """A clock's or policy's label inside a sentence: in the page's language where the
    catalogue has it (as its translator wrote it), else as written, in lower case ("Acknowledge
    the report" reads "...: acknowledge the report")."""
    translated = _(label)
    return label.lower() if translated == label else translated


def duration_words(duration: Duration) -> str:
    """``duration`` in the page's language: "7 calendar days", "1 working day"."""
    return duration.words()


def _events(kinds: Iterable[EventKind], words: Mapping[EventKind, str]) -> str:
    return _or(_(words[e]) for e in sorted(kinds, key=_by_value))


def _base_words(rule: ClockRule, policy: Policy) -> str:
    if rule.anchor_clock is None:
        return _(START_WORDS[rule.start])
    anchor = in_sentence(policy.clock(rule.anchor_clock).label)
    if rule.restart_on:
        return _(
            'the due time of "%(clock)s", or of %(events)s when it comes',
            clock=anchor,
            events=_events(rule.restart_on, START_WORDS),
        )
    return _('the due time of "%(clock)s"', clock=anchor)


def _escalation_words(rule: ClockRule) -> str:
    if rule.escalate_every_by_tier:
        steps = ", ".join(
            _("%(duration)s at tier %(tier)s", duration=duration_words(step), tier=tier)
            for tier, step in sorted(rule.escalate_every_by_tier.items())
        )
        if rule.escalate_every is not None:
            return _(
                "escalate at once, then every %(steps)s, else every %(step)s, up the ladder",
                steps=steps,
                step=duration_words(rule.escalate_every),
            )
        return _("escalate at once, then every %(steps)s, up the ladder", steps=steps)
    if rule.escalate_every is not None:
        return _(
            "escalate at once, then every %(step)s after, up the ladder",
            step=duration_words(rule.escalate_every),
        )
    return _("escalate once")


def _ladder_words(rule: ClockRule) -> list[str]:
    """Each ladder the policy names: 'a reporter in the group "employee" at tier 1 or 2:
    level 3 (the executive team)'."""
    ladders = [
        (_('a reporter in the group "%(group)s"', group=g), steps)
        for g, steps in rule.ladder_by_group.items()
    ]
    if rule.ladder:
        ladders.append((_("any other reporter") if ladders else _("every reporter"), rule.ladder))
    words = []
    for who, steps in ladders:
        # Tiers whose climb is the same are said once: "at tier 1 or 2".
        tiers_of: dict[tuple[LadderStep, ...], list[int]] = {}
        for tier in (1, 2, 3):
            climb = tuple(s for s in steps if tier in s.tiers)
            if climb:
                tiers_of.setdefault(climb, []).append(tier)
        for climb, tiers in tiers_of.items():
            steps_words = _then(
                _("level %(level)s (%(step)s)", level=s.level, step=_(s.label)) for s in climb
            )
            if tiers == [1, 2, 3]:
                words.append(_("escalation for %(who)s: %(steps)s", who=who, steps=steps_words))
            else:
                words.append(
                    _(
                        "escalation for %(who)s at tier %(tiers)s: %(steps)s",
                        who=who,
                        tiers=_or(str(t) for t in tiers),
                        steps=steps_words,
                    )
                )
    if rule.ladder_by_group and not rule.ladder:
        words.append(
            _("escalation for any other reporter, or at any other tier: up the site's levels")
        )
    return words


def _left(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return _n("%(num)d day", "%(num)d days", minutes // (24 * 60))
    if minutes % 60 == 0:
        return _n("%(num)d hour", "%(num)d hours", minutes // 60)
    return _n("%(num)d minute", "%(num)d minutes", minutes)


def _by_value(kind: EventKind) -> str:
    return kind.value


def _and(items: Iterable[str]) -> str:
    words = list(items)
    if len(words) == 1:
        return words[0]
    return _("%(items)s and %(last)s", items=", ".join(words[:-1]), last=words[-1])


def _or(items: Iterable[str]) -> str:
    words = list(items)
    if len(words) == 1:
        return words[0]
    return _("%(items)s or %(last)s", items=", ".join(words[:-1]), last=words[-1])


def _then(items: Iterable[str]) -> str:
    words = list(items)
    if len(words) == 1:
        return words[0]
    # Each step after the first joined by the language's own "then".
    text = words[0]
    for word in words[1:]:
        text = _("%(steps)s, then %(last)s", steps=text, last=word)
    return text


__all__ = [
    "HORIZON",
    "Happening",
    "MeetingDue",
    "PreviewEvent",
    "Timeline",
    "clock_in_words",
    "duration_words",
    "in_sentence",
    "local_minute",
    "preview_timeline",
    "read_local_time",
]
