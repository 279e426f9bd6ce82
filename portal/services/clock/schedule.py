"""Deadlines: the policies of a category, and clocks that start, stop and re-anchor on typed
events; when each deadline is due and when the worker must next act on it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.config import Config, IntakeConfig
from portal.i18n import N_, _
from portal.models import Case, CaseEvent, CategoryPolicy, Deadline, DeadlineState, EventKind, User
from portal.services import audit
from portal.services.calendar import BusinessCalendar, Duration, Unit
from portal.services.clock import chunk
from portal.services.clock.meetings import meeting_days, meeting_due, next_meeting
from portal.services.clock.versions import resolve_policy, split_reference
from portal.services.errors import InvalidInputError, ServiceError
from portal.services.policies import ClockRule, LadderStep, Policy, PolicyError

TOP_LEVEL = 3
OPEN_STATES = (DeadlineState.RUNNING, DeadlineState.PAUSED, DeadlineState.BREACHED)
# Translated where shown (``policies.shown``), like a policy's own ladder labels.
LEVEL_NAMES = {1: N_("handler"), 2: N_("supervisor"), 3: N_("executive or committee")}
# The ladder of a clock whose policy names none: every level above the case's, by its name.
SITE_LADDER = tuple(LadderStep(level, name) for level, name in LEVEL_NAMES.items())


@dataclass(frozen=True)
class Ladder:
    """The steps a deadline climbs on one case; ``named`` when the policy gave them (for the
    case's reporter group, or for every reporter), so that people read who each step is."""

    steps: tuple[LadderStep, ...]
    named: bool

    def next_above(self, level: int) -> LadderStep | None:
        """The step an escalation from ``level`` goes to; None at the top of this ladder."""
        return next((s for s in self.steps if s.level > level), None)

    def label_at(self, level: int) -> str | None:
        """Who the policy's step at ``level`` is ("the executive team"); None if unnamed."""
        if not self.named:
            return None
        return next((s.label for s in self.steps if s.level == level), None)


def ladder_of(rule: ClockRule, case: Case) -> Ladder:
    """The ladder ``rule`` climbs on ``case``: read from the case's reporter group and tier,
    both kept in the clear, so the worker needs no key to know whom to tell."""
    steps = rule.ladder_for(case.reporter_group, case.tier)
    return Ladder(steps, named=True) if steps else Ladder(SITE_LADDER, named=False)


class ClockError(ServiceError):
    """A clock act (extension, pause) is not allowed."""


@dataclass(frozen=True)
class ClockSettings:
    """What the clock needs from the configuration."""

    calendar: BusinessCalendar
    site_name: str
    base_url: str
    batch_size: int = 500


def settings_for(config: Config) -> ClockSettings:
    return ClockSettings(
        calendar=BusinessCalendar(
            timezone=config.site.timezone,
            country=config.clock.country,
            subdivision=config.clock.subdivision,
        ),
        site_name=config.site.name,
        base_url=config.site.base_url,
        batch_size=config.clock.batch_size,
    )


def policies_for(session: Session, intake: IntakeConfig, category: str) -> tuple[str, ...]:
    """The policies of a category, in order: an admin's choice, else the configuration's."""
    chosen = session.scalars(
        select(CategoryPolicy.policy)
        .where(CategoryPolicy.category == category)
        .order_by(CategoryPolicy.position)
    ).all()
    if chosen:
        return tuple(chosen)
    configured = intake.category(category)
    if configured is None:
        raise InvalidInputError(_("Unknown category."))
    return configured.policies


def policies_by_category(session: Session, intake: IntakeConfig) -> dict[str, tuple[str, ...]]:
    """``policies_for`` of every configured category, in one query."""
    chosen: dict[str, list[str]] = {}
    for category, policy in session.execute(
        select(CategoryPolicy.category, CategoryPolicy.policy).order_by(
            CategoryPolicy.category, CategoryPolicy.position
        )
    ):
        chosen.setdefault(category, []).append(policy)
    return {c.key: tuple(chosen.get(c.key, c.policies)) for c in intake.categories}


def choose_policies(
    session: Session, category: str, policies: Sequence[str], *, actor: User, now: datetime
) -> None:
    """An admin sets the policies of a category; cases already open keep theirs. Commits once."""
    if not policies:
        raise InvalidInputError(_("Choose at least one policy."))
    if len(set(policies)) != len(policies):
        raise InvalidInputError(_("Choose each policy once."))
    for name in policies:
        # A category names a policy, not a version: each new case takes the latest one.
        try:
            if split_reference(name)[1] is not None:
                raise PolicyError(name)
            resolve_policy(session, name)
        except PolicyError:
            raise InvalidInputError(_("Choose among the policies listed.")) from None
    session.execute(delete(CategoryPolicy).where(CategoryPolicy.category == category))
    session.add_all(
        CategoryPolicy(category=category, policy=name, position=position, updated_at=now)
        for position, name in enumerate(policies)
    )
    audit.record(
        session,
        "policy_chosen",
        now=now,
        actor_id=actor.id,
        detail=f"{category}: {', '.join(policies)}",
    )
    session.commit()


def apply_event(
    session: Session,
    case: Case,
    kind: EventKind,
    *,
    now: datetime,
    settings: ClockSettings,
    recorded_at: datetime | None = None,
) -> None:
    """Start, stop or re-anchor the case's deadlines, of each of its policies, for a typed event.

    ``now`` is when the event happened. ``recorded_at``, when later (a phone call written up the
    next morning), is when the site learns of it: a clock started then skips the warnings whose
    time has passed by then, as any clock skips those already past at its start; its due time and
    escalations stay as the event's time sets them.

    The caller has recorded the event (a ``CaseEvent``) before applying it, and commits.
    A clock restarts on the first event of a kind in its ``restart_on`` only, unless its
    policy sets ``restart_on_repeat``.
    """
    existing = {
        (d.policy, d.clock): d
        for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }
    first: bool | None = None  # the case's first event of this kind? Read once, if needed.
    days: tuple[date, ...] | None = None  # the committee's meetings, read once, if needed
    for policy, rule in rules_of(session, case):
        deadline = existing.get((policy.name, rule.key))
        if deadline is not None and deadline.stopped_at is not None and kind in rule.resume_on:
            resume_stopped(session, case, deadline, rule, now=now, settings=settings)
        elif deadline is not None and deadline.stopped_at is None:
            if kind in rule.stop:
                stop_deadline(session, case, deadline, now)
            elif kind in rule.recompute_on:
                recompute(session, case, deadline, rule, now=now, settings=settings)
            elif kind in rule.restart_on:
                if first is None and not rule.restart_on_repeat:
                    first = occurrences(session, case, kind) == 1
                # Only the first such event anchors the clock: a second acknowledgement must
                # not buy the organisation another three months.
                if rule.restart_on_repeat or first:
                    deadline.due_at = due_time(rule, now, settings.calendar, tier=case.tier)
                    reschedule(deadline, rule, case, settings, now)
        elif deadline is None and kind is rule.start:
            base = now
            anchor = existing.get((policy.name, rule.anchor_clock or ""))
            if anchor is not None:
                base = anchor.due_at
            if rule.due_at_meeting and days is None:
                days = meeting_days(session)
            deadline = Deadline(
                case_id=case.id,
                policy=policy.name,
                clock=rule.key,
                state=DeadlineState.RUNNING,
                started_at=now,
                due_at=due_time(rule, base, settings.calendar, tier=case.tier, meetings=days or ()),
                level_reached=max(rule.level, case.escalation_level),
                steps_done=0,
                paused_seconds=0,
                extensions=0,
            )
            # Warnings whose time has already passed at the start are skipped, not sent late.
            warn_times = warning_times(deadline, rule, settings.calendar)
            started = max(now, recorded_at or now)
            deadline.steps_done = sum(1 for t in warn_times if t <= started)
            reschedule(deadline, rule, case, settings, now)
            session.add(deadline)
            existing[(policy.name, rule.key)] = deadline
            if rule.level > case.escalation_level:
                case.escalation_level = rule.level
    session.flush()
    refresh_next_due(session, case)


def occurrences(session: Session, case: Case, kind: EventKind) -> int:
    """How many events of ``kind`` the case has recorded, the one being applied included."""
    session.flush()
    count = session.scalar(
        select(func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == kind)
    )
    return int(count or 0)


def rules_of(session: Session, case: Case) -> Iterator[tuple[Policy, ClockRule]]:
    """Every clock of every policy of the case, in the order they are shown, each policy at
    the version the case was filed under."""
    for name in case.policies:
        policy = resolve_policy(session, name)
        for rule in policy.clocks:
            yield policy, rule


def due_time(
    rule: ClockRule,
    base: datetime,
    calendar: BusinessCalendar,
    *,
    tier: int | None = None,
    meetings: Sequence[date] = (),
) -> datetime:
    """When ``rule`` is due from ``base`` for a case at ``tier`` (see ``duration_by_tier``).

    A clock due at the committee's next meeting is due at the end of the first meeting day
    after ``base``'s day, among ``meetings``; without one, its duration applies.
    """
    if rule.due_at_meeting:
        day = next_meeting(meetings, base, calendar)
        if day is not None:
            return meeting_due(day, calendar)
    due = calendar.add(base, rule.duration_for(tier))
    return calendar.roll_to_working_day(due) if rule.roll_to_working_day else due


def stop_deadline(session: Session, case: Case, deadline: Deadline, now: datetime) -> None:
    if deadline.state is DeadlineState.PAUSED and deadline.paused_at is not None:
        # Kept for the record only (nothing is due any more), so the absolute time stood still.
        deadline.paused_seconds += int((now - deadline.paused_at).total_seconds())
        deadline.paused_at = None
    # Met in time, or late: a late stop keeps the breach on the record.
    deadline.state = DeadlineState.MET if now <= deadline.due_at else DeadlineState.BREACHED
    deadline.stopped_at = now
    deadline.next_action_at = None
    audit.record(
        session,
        "deadline_stopped",
        now=now,
        actor_kind="clock",
        case_id=case.id,
        detail=f"{deadline.name}: {deadline.state.value}",
    )


def resume_stopped(
    session: Session,
    case: Case,
    deadline: Deadline,
    rule: ClockRule,
    *,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """A stopped clock runs again to the due time it had: reopening a case does not buy the
    organisation more time, and a due time already passed is acted on at the worker's next pass.
    """
    deadline.stopped_at = None
    warnings = warning_times(deadline, rule, settings.calendar)
    deadline.steps_done = max(deadline.steps_done, sum(1 for t in warnings if t <= now))
    passed = deadline.steps_done > len(warnings)
    deadline.state = DeadlineState.BREACHED if passed else DeadlineState.RUNNING
    reschedule(deadline, rule, case, settings, now)
    audit.record(
        session,
        "deadline_resumed",
        now=now,
        actor_kind="clock",
        case_id=case.id,
        detail=f"{deadline.name}: due {deadline.due_at.isoformat()}",
    )


def recompute(
    session: Session,
    case: Case,
    deadline: Deadline,
    rule: ClockRule,
    *,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """The case's tier changed: the clock is due at the new tier's duration from its own start.

    A due time still ahead runs as any clock does (warnings already past are skipped); one that
    has now passed is acted on at the worker's next pass, and escalations already done stay done.
    """
    before = deadline.due_at
    deadline.due_at = due_time(rule, deadline.started_at, settings.calendar, tier=case.tier)
    if deadline.due_at == before:
        return
    passed = sum(1 for t in warning_times(deadline, rule, settings.calendar) if t <= now)
    if deadline.due_at > now:
        deadline.steps_done = passed
        if deadline.state is DeadlineState.BREACHED:
            deadline.state = DeadlineState.RUNNING
    else:
        deadline.steps_done = max(deadline.steps_done, passed)
    reschedule(deadline, rule, case, settings, now)
    audit.record(
        session,
        "deadline_recomputed",
        now=now,
        actor_kind="clock",
        case_id=case.id,
        detail=(
            f"{deadline.name}: tier {case.tier}, due {before.isoformat()} -> "
            f"{deadline.due_at.isoformat()}"
        ),
    )


def stop_all(session: Session, case: Case, *, now: datetime) -> None:
    """A closed case keeps no clock running (caller commits)."""
    for deadline in session.scalars(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.stopped_at.is_(None))
    ):
        stop_deadline(session, case, deadline, now)
    session.flush()
    refresh_next_due(session, case)


def refresh_next_due(session: Session, case: Case) -> None:
    """The case's inbox sort key: the earliest due time of its open deadlines.

    In a worker's chunk the case's open deadlines are already loaded (and maybe changed in
    memory, not yet flushed); elsewhere they are read from the database.
    """
    reads = chunk.current(session)
    if reads is not None and case.id in reads.open_deadlines:
        dues = [
            d.due_at
            for d in reads.open_deadlines[case.id]
            if d.stopped_at is None and d.state in OPEN_STATES
        ]
    else:
        dues = list(
            session.scalars(
                select(Deadline.due_at).where(
                    Deadline.case_id == case.id,
                    Deadline.stopped_at.is_(None),
                    Deadline.state.in_(OPEN_STATES),
                )
            )
        )
    case.next_due_at = min(dues) if dues else None


def warning_times(
    deadline: Deadline, rule: ClockRule, calendar: BusinessCalendar
) -> list[datetime]:
    return [calendar.add(deadline.due_at, -w) for w in rule.warn_before]


def escalation_time(
    deadline: Deadline, step: Duration, k: int, calendar: BusinessCalendar
) -> datetime:
    moment = deadline.due_at
    for _step in range(k):
        moment = calendar.add(moment, step)
    return moment


def reschedule(
    deadline: Deadline, rule: ClockRule, case: Case, settings: ClockSettings, now: datetime
) -> None:
    deadline.next_action_at = next_action(deadline, rule, case, settings.calendar)


def next_action(
    deadline: Deadline, rule: ClockRule, case: Case, calendar: BusinessCalendar
) -> datetime | None:
    """When the worker must next act on ``deadline``, from how many steps are done.

    The steps are: each warning (earliest first), the due time, then one escalation per step
    until the top of the ladder.
    """
    if deadline.stopped_at is not None:
        return None
    if deadline.state is DeadlineState.PAUSED:
        return pause_ends(deadline, rule, calendar)
    warnings = warning_times(deadline, rule, calendar)
    if deadline.steps_done < len(warnings):
        return warnings[deadline.steps_done]
    if deadline.steps_done == len(warnings):
        return deadline.due_at
    step = rule.escalation_step(case.tier)
    if step is None or "escalate" not in rule.at_expiry:
        return None
    # The climb ends at the top of the case's ladder: the site's top level, or the last step
    # of the policy's ladder for the case's group.
    if ladder_of(rule, case).next_above(deadline.level_reached) is None:
        return None
    return escalation_time(deadline, step, deadline.steps_done - len(warnings), calendar)


# A pause cap is an allowance of time as the clock counts it: "10 working_days" is ten days of
# working time, whatever weekday the pause starts on; a month is taken as 30 days.
_CAP_SECONDS = {
    Unit.MINUTES: 60,
    Unit.HOURS: 3600,
    Unit.CALENDAR_DAYS: 86400,
    Unit.WORKING_DAYS: 86400,
    Unit.CALENDAR_MONTHS: 30 * 86400,
}


def pause_left(deadline: Deadline, rule: ClockRule) -> int:
    """Seconds of pause still allowed, counted as the clock counts time (see ``pause_length``)."""
    if rule.pause_cap is None:
        return 0
    cap = rule.pause_cap.amount * _CAP_SECONDS[rule.pause_cap.unit]
    return max(cap - deadline.paused_seconds, 0)


def pause_ends(deadline: Deadline, rule: ClockRule, calendar: BusinessCalendar) -> datetime | None:
    """When a pause runs out of its allowance and the clock runs again by itself."""
    if deadline.paused_at is None:
        return None
    return calendar.after_pause(deadline.paused_at, pause_left(deadline, rule), rule.duration.unit)


def moved_by_pause(
    moment: datetime, seconds: int, rule: ClockRule, calendar: BusinessCalendar
) -> datetime:
    """A due time moved by a pause of ``seconds`` (counted as the clock counts time).

    A working-day clock's due time moves by working time, so it lands on a working day; a clock
    that rolls to a working day rolls again.
    """
    moved = calendar.after_pause(moment, seconds, rule.duration.unit)
    return calendar.roll_to_working_day(moved) if rule.roll_to_working_day else moved
