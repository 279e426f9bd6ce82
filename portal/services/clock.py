"""The escalation clock: deadlines that start and stop on typed events, and the worker pass.

A pass claims due deadlines (FOR UPDATE SKIP LOCKED on PostgreSQL), acts, and writes its audit
entries and outbox rows in the same transaction. Each action advances the deadline's
``steps_done`` with a compare-and-set, so it happens once however many workers run, and a worker
killed mid-batch rolls back whole: nothing is lost and nothing is done twice. A pass reads only
rows whose ``next_action_at`` has come, so it costs O(due), not O(open deadlines).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.config import Config, IntakeConfig
from portal.models import (
    AuthorKind,
    Case,
    CaseEvent,
    CaseKeyGrant,
    CategoryPolicy,
    Deadline,
    DeadlineState,
    EventKind,
    User,
)
from portal.services import audit, notifications
from portal.services.calendar import BusinessCalendar, Duration
from portal.services.errors import InvalidInputError, ServiceError
from portal.services.policies import ClockRule, Policy, load_policy

TOP_LEVEL = 3
logger = logging.getLogger(__name__)
OPEN_STATES = (DeadlineState.RUNNING, DeadlineState.PAUSED, DeadlineState.BREACHED)
LEVEL_NAMES = {1: "handler", 2: "supervisor", 3: "executive or committee"}


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


def policy_for(session: Session, intake: IntakeConfig, category: str) -> str:
    """The policy of a category: an admin's choice, else the configuration's."""
    chosen = session.get(CategoryPolicy, category)
    if chosen is not None:
        return chosen.policy
    configured = intake.category(category)
    if configured is None:
        raise InvalidInputError("Unknown category.")
    return configured.policy


def choose_policy(
    session: Session, category: str, policy: str, *, actor: User, now: datetime
) -> None:
    """An admin sets the policy of a category; cases already open keep theirs. Commits once."""
    load_policy(policy)
    row = session.get(CategoryPolicy, category)
    if row is None:
        session.add(CategoryPolicy(category=category, policy=policy, updated_at=now))
    else:
        row.policy, row.updated_at = policy, now
    audit.record(
        session, "policy_chosen", now=now, actor_id=actor.id, detail=f"{category}: {policy}"
    )
    session.commit()


# -- events -------------------------------------------------------------------------------------


def apply_event(
    session: Session, case: Case, kind: EventKind, *, now: datetime, settings: ClockSettings
) -> None:
    """Start, stop or re-anchor the case's deadlines for a typed event (caller commits)."""
    policy = load_policy(case.policy)
    existing = {
        d.clock: d for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }
    for rule in policy.clocks:
        deadline = existing.get(rule.key)
        if deadline is not None and deadline.stopped_at is None:
            if kind in rule.stop:
                _stop(session, case, deadline, now)
            elif kind in rule.restart_on:
                deadline.due_at = _due(rule, now, settings.calendar)
                _reschedule(deadline, rule, case, settings, now)
        elif deadline is None and kind is rule.start:
            base = now
            if rule.anchor_clock is not None and rule.anchor_clock in existing:
                base = existing[rule.anchor_clock].due_at
            deadline = Deadline(
                case_id=case.id,
                policy=policy.name,
                clock=rule.key,
                state=DeadlineState.RUNNING,
                started_at=now,
                due_at=_due(rule, base, settings.calendar),
                level_reached=max(rule.level, case.escalation_level),
                steps_done=0,
                paused_seconds=0,
                extensions=0,
            )
            # Warnings whose time has already passed at the start are skipped, not sent late.
            warn_times = _warning_times(deadline, rule, settings.calendar)
            deadline.steps_done = sum(1 for t in warn_times if t <= now)
            _reschedule(deadline, rule, case, settings, now)
            session.add(deadline)
            existing[rule.key] = deadline
            if rule.level > case.escalation_level:
                case.escalation_level = rule.level
    session.flush()
    refresh_next_due(session, case)


def _due(rule: ClockRule, base: datetime, calendar: BusinessCalendar) -> datetime:
    due = calendar.add(base, rule.duration)
    return calendar.roll_to_working_day(due) if rule.roll_to_working_day else due


def _stop(session: Session, case: Case, deadline: Deadline, now: datetime) -> None:
    if deadline.state is DeadlineState.PAUSED and deadline.paused_at is not None:
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
        detail=f"{deadline.clock}: {deadline.state.value}",
    )


def stop_all(session: Session, case: Case, *, now: datetime) -> None:
    """A closed case keeps no clock running (caller commits)."""
    for deadline in session.scalars(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.stopped_at.is_(None))
    ):
        _stop(session, case, deadline, now)
    session.flush()
    refresh_next_due(session, case)


def refresh_next_due(session: Session, case: Case, acting_on: Deadline | None = None) -> None:
    """The case's inbox sort key: the earliest due time of its open deadlines.

    ``acting_on`` is a deadline changed in memory and not yet flushed: it is counted as it is
    now, and the others are read from the database.
    """
    query = select(Deadline.due_at).where(
        Deadline.case_id == case.id,
        Deadline.stopped_at.is_(None),
        Deadline.state.in_(OPEN_STATES),
    )
    if acting_on is not None:
        query = query.where(Deadline.id != acting_on.id)
    dues = list(session.scalars(query))
    if acting_on is not None and acting_on.stopped_at is None and acting_on.state in OPEN_STATES:
        dues.append(acting_on.due_at)
    case.next_due_at = min(dues) if dues else None


# -- schedule ----------------------------------------------------------------------------------


def _warning_times(
    deadline: Deadline, rule: ClockRule, calendar: BusinessCalendar
) -> list[datetime]:
    return [calendar.add(deadline.due_at, -w) for w in rule.warn_before]


def _escalation_time(
    deadline: Deadline, step: Duration, k: int, calendar: BusinessCalendar
) -> datetime:
    moment = deadline.due_at
    for _ in range(k):
        moment = calendar.add(moment, step)
    return moment


def _reschedule(
    deadline: Deadline, rule: ClockRule, case: Case, settings: ClockSettings, now: datetime
) -> None:
    deadline.next_action_at = _next_action(deadline, rule, case, settings.calendar)


def _next_action(
    deadline: Deadline, rule: ClockRule, case: Case, calendar: BusinessCalendar
) -> datetime | None:
    """When the worker must next act on ``deadline``, from how many steps are done.

    The steps are: each warning (earliest first), the due time, then one escalation per step
    until the top of the ladder.
    """
    if deadline.stopped_at is not None:
        return None
    if deadline.state is DeadlineState.PAUSED:
        return _pause_ends(deadline, rule, calendar)
    warnings = _warning_times(deadline, rule, calendar)
    if deadline.steps_done < len(warnings):
        return warnings[deadline.steps_done]
    if deadline.steps_done == len(warnings):
        return deadline.due_at
    step = rule.escalation_step(case.tier)
    if step is None or "escalate" not in rule.at_expiry or deadline.level_reached >= TOP_LEVEL:
        return None
    return _escalation_time(deadline, step, deadline.steps_done - len(warnings), calendar)


# -- the worker pass ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TickResult:
    claimed: int
    acted: int


# Deadlines handled per transaction. A transaction holds the audit trail's head while it runs,
# so short ones let other workers, and every audited act on the site, go on in between.
CHUNK = 50


def tick(session: Session, *, now: datetime, settings: ClockSettings) -> TickResult:
    """One pass of the worker over the deadlines whose next action has come.

    Works in transactions of CHUNK deadlines, up to the batch size; each commits its actions,
    audit entries and outbox rows together.
    """
    claimed = acted = 0
    while claimed < settings.batch_size:
        chunk_claimed, chunk_acted = _tick_chunk(
            session, now=now, settings=settings, limit=min(CHUNK, settings.batch_size - claimed)
        )
        claimed += chunk_claimed
        acted += chunk_acted
        if chunk_claimed == 0 or chunk_acted == 0:
            break
    return TickResult(claimed=claimed, acted=acted)


def _claim_chunk(session: Session, *, now: datetime, limit: int) -> list[tuple[Deadline, Case]]:
    query = (
        select(Deadline, Case)
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.next_action_at <= now)
        .order_by(Deadline.next_action_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another worker holds are skipped, not waited for. The case is locked with its
        # deadline, so two deadlines of one case are never acted on from two stale copies of it.
        query = query.with_for_update(skip_locked=True, of=[Deadline, Case])
    due = list(session.execute(query).tuples())
    session.info[_HOLDERS] = _holders(session, sorted({case.id for _, case in due}))
    return due


def _tick_chunk(
    session: Session, *, now: datetime, settings: ClockSettings, limit: int
) -> tuple[int, int]:
    """Act on one chunk in one transaction, flushing once so that inserts go out together.

    Should any deadline's action fail, the chunk is rolled back and done again one deadline at
    a time, each in a savepoint, so that one bad row cannot hold up the others.
    """
    try:
        due = _claim_chunk(session, now=now, limit=limit)
        try:
            with session.no_autoflush:
                acted = sum(_catch_up(session, d, c, now, settings) for d, c in due)
            session.commit()
            return len(due), acted
        except Exception:
            session.rollback()
            logger.exception("a clock action failed; acting on this chunk one deadline at a time")
        due = _claim_chunk(session, now=now, limit=limit)
        acted = 0
        for deadline, case in due:
            try:
                with session.begin_nested(), session.no_autoflush:
                    acted += _catch_up(session, deadline, case, now, settings)
                    session.flush()
            except Exception:
                logger.exception("a clock action failed; it is tried again on the next pass")
        session.commit()
        return len(due), acted
    finally:
        # The keyholders were read under this transaction's locks; they go with it.
        session.info.pop(_HOLDERS, None)


def _catch_up(
    session: Session, deadline: Deadline, case: Case, now: datetime, settings: ClockSettings
) -> int:
    """Every step of ``deadline`` that has come (a worker that was down acts late, not never)."""
    acted = 0
    while deadline.next_action_at is not None and deadline.next_action_at <= now:
        if not _act(session, deadline, case, now, settings):
            break
        acted += 1
    return acted


def _claim(session: Session, deadline: Deadline, steps_done: int) -> bool:
    """Compare-and-set: take the step only if nobody else has taken it since we read the row."""
    claimed = session.execute(
        update(Deadline)
        .where(
            Deadline.id == deadline.id,
            Deadline.steps_done == deadline.steps_done,
            Deadline.next_action_at == deadline.next_action_at,
        )
        .values(steps_done=steps_done, next_action_at=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    # Tell the session what the UPDATE wrote, so that recomputing the same time is still saved.
    set_committed_value(deadline, "next_action_at", None)
    set_committed_value(deadline, "steps_done", steps_done)
    return True


def _act(
    session: Session, deadline: Deadline, case: Case, now: datetime, settings: ClockSettings
) -> bool:
    rule = load_policy(deadline.policy).clock(deadline.clock)
    warnings = len(rule.warn_before)
    step = deadline.steps_done
    if deadline.state is DeadlineState.PAUSED:
        if not _claim(session, deadline, step):
            session.expire(deadline)
            return False
        # The pause reached its cap: the clock runs again (this recomputes the steps).
        _resume(session, deadline, rule, case, now, settings, reason="pause cap reached")
        return True
    # Warnings for a deadline that has already passed are stale: go straight to the breach.
    if step < warnings and deadline.due_at <= now:
        step = warnings
    if not _claim(session, deadline, step + 1):
        # Another worker took this step first.
        session.expire(deadline)
        return False
    if step < warnings:
        _warn(session, deadline, rule, case, now, settings)
    elif step == warnings:
        _breach(session, deadline, rule, case, now, settings)
    else:
        _escalate(session, deadline, rule, case, now, settings, why="no response")
    deadline.next_action_at = _next_action(deadline, rule, case, settings.calendar)
    refresh_next_due(session, case, acting_on=deadline)
    return True


def _warn(
    session: Session,
    deadline: Deadline,
    rule: ClockRule,
    case: Case,
    now: datetime,
    settings: ClockSettings,
) -> None:
    left = deadline.due_at - now
    audit.record(
        session,
        "deadline_warning",
        now=now,
        actor_kind="clock",
        case_id=case.id,
        detail=f"{rule.key}: due {deadline.due_at.isoformat()}",
    )
    notifications.notify_users(
        session,
        responsible(session, case, case.escalation_level),
        settings,
        case=case,
        what=f"due in {_words(left)}: {rule.label.lower()}",
        now=now,
    )


def _breach(
    session: Session,
    deadline: Deadline,
    rule: ClockRule,
    case: Case,
    now: datetime,
    settings: ClockSettings,
) -> None:
    deadline.state = DeadlineState.BREACHED
    audit.record(
        session, "deadline_breached", now=now, actor_kind="clock", case_id=case.id, detail=rule.key
    )
    if "notify" in rule.at_expiry:
        notifications.notify_users(
            session,
            responsible(session, case, case.escalation_level),
            settings,
            case=case,
            what=f"overdue: {rule.label.lower()}",
            now=now,
        )
    if "reporter_notice" in rule.at_expiry and rule.reporter_notice:
        from portal.services import sitetext

        _system_message(session, case, sitetext.get_plain_text(session, rule.reporter_notice), now)
    if "escalate" in rule.at_expiry:
        _escalate(session, deadline, rule, case, now, settings, why="deadline passed")
        _system_message(
            session,
            case,
            f"We have not managed to {rule.promise} in the time we promised. Your report has been "
            "passed to someone more senior, who will answer you here.",
            now,
        )


def _escalate(
    session: Session,
    deadline: Deadline,
    rule: ClockRule,
    case: Case,
    now: datetime,
    settings: ClockSettings,
    *,
    why: str,
) -> None:
    """Move the case up the ladder to the next level with someone eligible on it.

    People at higher levels already hold the case key (sealed at submission), so no keyholder
    needs to be online. A level with nobody eligible (none, excluded or recused: they hold no
    key) passes to the next, with the reason recorded.
    """
    level = case.escalation_level
    while level < TOP_LEVEL:
        level += 1
        people = responsible(session, case, level, exact=True)
        if people:
            audit.record(
                session,
                "escalated",
                now=now,
                actor_kind="clock",
                case_id=case.id,
                detail=f"{rule.key}: level {case.escalation_level} -> {level} ({why})",
            )
            case.escalation_level = level
            deadline.level_reached = level
            notifications.notify_users(
                session,
                people,
                settings,
                case=case,
                what=f"escalated to you ({LEVEL_NAMES[level]}): {rule.label.lower()} is overdue",
                now=now,
            )
            return
        audit.record(
            session,
            "escalation_skipped",
            now=now,
            actor_kind="clock",
            case_id=case.id,
            detail=f"{rule.key}: level {level} has nobody eligible (none, excluded or recused)",
        )
    deadline.level_reached = TOP_LEVEL
    audit.record(
        session,
        "escalation_exhausted",
        now=now,
        actor_kind="clock",
        case_id=case.id,
        detail=f"{rule.key}: no higher level to escalate to",
    )


def responsible(session: Session, case: Case, level: int, *, exact: bool = False) -> list[User]:
    """Active handlers holding the case key at ``level`` (or up to it, when not ``exact``)."""
    holders = session.info.get(_HOLDERS, {}).get(case.id)
    if holders is None:
        holders = _holders(session, [case.id])[case.id]
    return [u for u in holders if (u.level == level if exact else u.level <= level)]


_HOLDERS = "candor.clock_holders"


def _holders(session: Session, case_ids: Sequence[int]) -> dict[int, list[User]]:
    """Active keyholders of each case, in one query for a whole chunk."""
    found: dict[int, list[User]] = {case_id: [] for case_id in case_ids}
    rows = session.execute(
        select(CaseKeyGrant.case_id, User)
        .join(User, User.id == CaseKeyGrant.user_id)
        .where(CaseKeyGrant.case_id.in_(case_ids), User.active.is_(True))
        .order_by(User.id)
    ).tuples()
    for case_id, user in rows:
        found[case_id].append(user)
    return found


def _system_message(session: Session, case: Case, body: str, now: datetime) -> None:
    from portal.services import messaging

    messaging.add_message(
        session, case, body, author_kind=AuthorKind.SYSTEM, store=None, now=now, commit=False
    )


def _words(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} hours" if hours >= 1 else f"{max(int(delta.total_seconds() // 60), 0)} minutes"


# -- acts on a deadline -------------------------------------------------------------------------


def _open_deadline(session: Session, case: Case, clock: str) -> tuple[Deadline, ClockRule]:
    deadline = session.scalar(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.clock == clock)
    )
    if deadline is None or deadline.stopped_at is not None:
        raise ClockError("That deadline is not running.")
    return deadline, load_policy(deadline.policy).clock(clock)


def extend(
    session: Session,
    case: Case,
    clock: str,
    reason: str,
    *,
    actor: User,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """Extend a deadline to the clock's longer duration, once per its cap, with a reason.

    The reason is kept as a sealed note (it may describe the case); the audit entry says only
    what changed. Commits once.
    """
    deadline, rule = _open_deadline(session, case, clock)
    if rule.extend_to is None or deadline.extensions >= rule.max_extensions:
        raise ClockError("This deadline cannot be extended (again).")
    if not reason.strip():
        raise InvalidInputError("Give the reason for the extension.")
    base = deadline.started_at
    longer = Duration(rule.extend_to, rule.duration.unit)
    new_due = settings.calendar.add(base, longer)
    if rule.roll_to_working_day:
        new_due = settings.calendar.roll_to_working_day(new_due)
    new_due += timedelta(seconds=deadline.paused_seconds)
    deadline.due_at = new_due
    deadline.extensions += 1
    if deadline.state is DeadlineState.BREACHED and now < new_due:
        deadline.state = DeadlineState.RUNNING
    warnings = _warning_times(deadline, rule, settings.calendar)
    deadline.steps_done = sum(1 for t in warnings if t <= now)
    _reschedule(deadline, rule, case, settings, now)
    _note(
        session,
        case,
        actor,
        f"Deadline “{rule.label}” extended to {longer}. Reason: {reason.strip()}",
        now,
    )
    audit.record(
        session,
        "deadline_extended",
        now=now,
        actor_id=actor.id,
        case_id=case.id,
        detail=f"{clock}: {rule.duration} -> {longer}",
    )
    refresh_next_due(session, case)
    session.commit()


def pause(
    session: Session,
    case: Case,
    clock: str,
    reason: str,
    *,
    actor: User,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """Pause a pausable clock (say, waiting for the reporter), within its cap. Commits once."""
    deadline, rule = _open_deadline(session, case, clock)
    if not rule.pausable or rule.pause_cap is None:
        raise ClockError("This deadline cannot be paused.")
    if deadline.state is not DeadlineState.RUNNING:
        raise ClockError("Only a running deadline can be paused.")
    if _pause_left(deadline, rule, settings.calendar, now) <= timedelta(0):
        raise ClockError("This deadline has been paused for as long as its policy allows.")
    if not reason.strip():
        raise InvalidInputError("Give the reason for the pause.")
    deadline.state = DeadlineState.PAUSED
    deadline.paused_at = now
    deadline.next_action_at = _pause_ends(deadline, rule, settings.calendar)
    _note(
        session,
        case,
        actor,
        f"Deadline “{rule.label}” paused. Reason: {reason.strip()}",
        now,
    )
    audit.record(
        session, "deadline_paused", now=now, actor_id=actor.id, case_id=case.id, detail=clock
    )
    session.commit()


def resume(
    session: Session, case: Case, clock: str, *, actor: User, now: datetime, settings: ClockSettings
) -> None:
    """Resume a paused clock; the due time moves by the time it stood still. Commits once."""
    deadline, rule = _open_deadline(session, case, clock)
    if deadline.state is not DeadlineState.PAUSED:
        raise ClockError("That deadline is not paused.")
    _resume(session, deadline, rule, case, now, settings, reason="resumed", actor=actor)
    session.commit()


def _resume(
    session: Session,
    deadline: Deadline,
    rule: ClockRule,
    case: Case,
    now: datetime,
    settings: ClockSettings,
    *,
    reason: str,
    actor: User | None = None,
) -> None:
    if deadline.paused_at is None:
        raise ClockError("That deadline is not paused.")
    allowed = _pause_left(deadline, rule, settings.calendar, deadline.paused_at)
    stood = min(now - deadline.paused_at, allowed)
    deadline.paused_seconds += int(stood.total_seconds())
    deadline.due_at += stood
    deadline.paused_at = None
    deadline.state = DeadlineState.RUNNING
    warnings = _warning_times(deadline, rule, settings.calendar)
    deadline.steps_done = sum(1 for t in warnings if t <= now)
    _reschedule(deadline, rule, case, settings, now)
    refresh_next_due(session, case)
    audit.record(
        session,
        "deadline_resumed",
        now=now,
        actor_id=actor.id if actor else None,
        actor_kind="staff" if actor else "clock",
        case_id=case.id,
        detail=f"{deadline.clock}: {reason}",
    )


def _pause_left(
    deadline: Deadline, rule: ClockRule, calendar: BusinessCalendar, at: datetime
) -> timedelta:
    if rule.pause_cap is None:
        return timedelta(0)
    cap = calendar.add(at, rule.pause_cap) - at
    return cap - timedelta(seconds=deadline.paused_seconds)


def _pause_ends(deadline: Deadline, rule: ClockRule, calendar: BusinessCalendar) -> datetime | None:
    if deadline.paused_at is None:
        return None
    return deadline.paused_at + _pause_left(deadline, rule, calendar, deadline.paused_at)


def _note(session: Session, case: Case, actor: User, body: str, now: datetime) -> None:
    # The reason may describe the case, so it is sealed like any note, never put in the audit.
    from portal.services import messaging

    messaging.seal_note(session, case, actor, body, now=now)


# -- what people see -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineView:
    clock: str
    label: str
    promise: str
    state: DeadlineState
    due_at: datetime
    stopped_at: datetime | None
    level_reached: int
    can_extend: bool
    can_pause: bool
    paused: bool


def deadlines_of(session: Session, case: Case) -> list[DeadlineView]:
    """Each clock of the case on its own, in the policy's order."""
    policy: Policy = load_policy(case.policy)
    rows = {
        d.clock: d for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }
    views = []
    for rule in policy.clocks:
        d = rows.get(rule.key)
        if d is None:
            continue
        running = d.stopped_at is None
        views.append(
            DeadlineView(
                clock=rule.key,
                label=rule.label,
                promise=rule.promise,
                state=d.state,
                due_at=d.due_at,
                stopped_at=d.stopped_at,
                level_reached=d.level_reached,
                can_extend=running
                and rule.extend_to is not None
                and d.extensions < rule.max_extensions,
                can_pause=running and rule.pausable and d.state is DeadlineState.RUNNING,
                paused=d.state is DeadlineState.PAUSED,
            )
        )
    return views


def can_appeal(session: Session, case: Case) -> bool:
    """After a decision, under a policy with an appeal clock that has not started yet."""
    policy = load_policy(case.policy)
    if not any(rule.start is EventKind.APPEAL_FILED for rule in policy.clocks):
        return False
    kinds = set(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
    return EventKind.DECISION_SENT in kinds and EventKind.APPEAL_FILED not in kinds


def file_appeal(session: Session, case: Case, *, now: datetime, settings: ClockSettings) -> None:
    """The reporter appeals the decision to the committee (level 3); its clock starts. Commits."""
    if not can_appeal(session, case):
        raise ClockError("There is no decision to appeal, or it has been appealed already.")
    session.add(CaseEvent(case_id=case.id, kind=EventKind.APPEAL_FILED, occurred_at=now))
    apply_event(session, case, EventKind.APPEAL_FILED, now=now, settings=settings)
    audit.record(session, "appeal_filed", now=now, actor_kind="reporter", case_id=case.id)
    notifications.notify_users(
        session,
        responsible(session, case, TOP_LEVEL, exact=True),
        settings,
        case=case,
        what="the reporter appealed the decision to the committee",
        now=now,
    )
    session.commit()


def expectations(session: Session, case: Case) -> list[tuple[str, datetime]]:
    """(what we will do, by when) for the reporter: the case's open deadlines."""
    return [
        (view.promise, view.due_at)
        for view in deadlines_of(session, case)
        if view.stopped_at is None
    ]


def promises(policy_name: str) -> Sequence[tuple[str, str]]:
    """(what, within how long) for each clock that starts on receipt: the landing page's words."""
    policy = load_policy(policy_name)
    return [
        (rule.promise, str(rule.duration))
        for rule in policy.clocks
        if rule.start is EventKind.RECEIVED
    ]
