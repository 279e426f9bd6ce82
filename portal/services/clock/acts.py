"""What handlers and reporters do to a deadline: extend, pause and resume it; the reporter's
messages and "I am satisfied"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _, in_language
from portal.models import (
    AuthorKind,
    Case,
    CaseEvent,
    Deadline,
    DeadlineState,
    DigestKind,
    EventKind,
    User,
)
from portal.services import attachments, audit, case_news, messaging, notifications
from portal.services.attachments import AttachmentStore, EncryptedUpload
from portal.services.calendar import Duration
from portal.services.clock.chunk import responsible
from portal.services.clock.schedule import (
    ClockError,
    ClockSettings,
    apply_event,
    moved_by_pause,
    pause_ends,
    pause_left,
    refresh_next_due,
    reschedule,
    rules_of,
    warning_times,
)
from portal.services.clock.versions import resolve_policy
from portal.services.errors import InvalidInputError
from portal.services.policies import ClockRule, shown


def _open_deadline(
    session: Session, case: Case, policy: str, clock: str
) -> tuple[Deadline, ClockRule]:
    deadline = session.scalar(
        select(Deadline).where(
            Deadline.case_id == case.id, Deadline.policy == policy, Deadline.clock == clock
        )
    )
    if deadline is None or deadline.stopped_at is not None:
        raise ClockError(_("That deadline is not running."))
    return deadline, resolve_policy(session, deadline.policy).clock(clock)


def extend(
    session: Session,
    case: Case,
    policy: str,
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
    deadline, rule = _open_deadline(session, case, policy, clock)
    if rule.extend_to is None or deadline.extensions >= rule.max_extensions:
        raise ClockError(_("This deadline cannot be extended (again)."))
    if not reason.strip():
        raise InvalidInputError(_("Give the reason for the extension."))
    base = deadline.started_at
    longer = Duration(rule.extend_to, rule.duration.unit)
    new_due = settings.calendar.add(base, longer)
    if rule.roll_to_working_day:
        new_due = settings.calendar.roll_to_working_day(new_due)
    new_due = moved_by_pause(new_due, deadline.paused_seconds, rule, settings.calendar)
    deadline.due_at = new_due
    deadline.extensions += 1
    if deadline.state is DeadlineState.BREACHED and now < new_due:
        deadline.state = DeadlineState.RUNNING
    warnings = warning_times(deadline, rule, settings.calendar)
    deadline.steps_done = sum(1 for t in warnings if t <= now)
    reschedule(deadline, rule, case, settings, now)
    # The note is written in the handler's page language, as a note they wrote would be.
    # NOTE: A note kept on the case. %(label)s is the deadline's name ("Acknowledge the
    # report"), %(duration)s its new length ("14 calendar days"), %(reason)s the handler's words.
    body = _(
        "Deadline “%(label)s” extended to %(duration)s. Reason: %(reason)s",
        label=shown(rule.label),
        duration=longer.words(),
        reason=reason.strip(),
    )
    _note(session, case, actor, body, now)
    audit.record(
        session,
        "deadline_extended",
        now=now,
        actor_id=actor.id,
        case_id=case.id,
        detail=f"{deadline.name}: {rule.duration} -> {longer}",
    )
    refresh_next_due(session, case)
    session.commit()


def pause(
    session: Session,
    case: Case,
    policy: str,
    clock: str,
    reason: str,
    *,
    actor: User,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """Pause a pausable clock (say, waiting for the reporter), within its cap. Commits once."""
    deadline, rule = _open_deadline(session, case, policy, clock)
    if not rule.pausable or rule.pause_cap is None:
        raise ClockError(_("This deadline cannot be paused."))
    if deadline.state is not DeadlineState.RUNNING:
        raise ClockError(_("Only a running deadline can be paused."))
    if pause_left(deadline, rule) <= 0:
        raise ClockError(_("This deadline has been paused for as long as its policy allows."))
    if not reason.strip():
        raise InvalidInputError(_("Give the reason for the pause."))
    deadline.state = DeadlineState.PAUSED
    deadline.paused_at = now
    deadline.next_action_at = pause_ends(deadline, rule, settings.calendar)
    # NOTE: A note kept on the case. %(label)s is the deadline's name ("Acknowledge the
    # report"), %(reason)s the handler's words.
    body = _(
        "Deadline “%(label)s” paused. Reason: %(reason)s",
        label=shown(rule.label),
        reason=reason.strip(),
    )
    _note(session, case, actor, body, now)
    audit.record(
        session,
        "deadline_paused",
        now=now,
        actor_id=actor.id,
        case_id=case.id,
        detail=deadline.name,
    )
    session.commit()


def resume(
    session: Session,
    case: Case,
    policy: str,
    clock: str,
    *,
    actor: User,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """Resume a paused clock; the due time moves by the time it stood still, counted as the
    clock counts time (working days on a working-day clock). Commits once."""
    deadline, rule = _open_deadline(session, case, policy, clock)
    if deadline.state is not DeadlineState.PAUSED:
        raise ClockError(_("That deadline is not paused."))
    resume_deadline(session, deadline, rule, case, now, settings, reason="resumed", actor=actor)
    session.commit()


def resume_deadline(
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
        raise ClockError(_("That deadline is not paused."))
    # Counted as the clock counts time: a working-day clock loses no allowance to a weekend and
    # its due time moves by working days; a calendar-day clock keeps its local hour across a
    # daylight-saving change.
    stood = min(
        settings.calendar.pause_length(deadline.paused_at, now, rule.duration.unit),
        pause_left(deadline, rule),
    )
    deadline.paused_seconds += stood
    deadline.due_at = moved_by_pause(deadline.due_at, stood, rule, settings.calendar)
    deadline.paused_at = None
    deadline.state = DeadlineState.RUNNING
    warnings = warning_times(deadline, rule, settings.calendar)
    deadline.steps_done = sum(1 for t in warnings if t <= now)
    reschedule(deadline, rule, case, settings, now)
    refresh_next_due(session, case)
    audit.record(
        session,
        "deadline_resumed",
        now=now,
        actor_id=actor.id if actor else None,
        actor_kind="staff" if actor else "clock",
        case_id=case.id,
        detail=f"{deadline.name}: {reason}",
    )


def _note(session: Session, case: Case, actor: User, body: str, now: datetime) -> None:
    # The reason may describe the case, so it is sealed like any note, never put in the audit.

    messaging.seal_note(session, case, actor, body, now=now)


def can_say_satisfied(session: Session, case: Case) -> bool:
    """Whether the reporter may say they are satisfied: a clock of the case that waits for it
    is still running, and they have not said it already."""
    running = {
        (d.policy, d.clock)
        for d in session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.stopped_at.is_(None))
        )
    }
    waiting = any(
        EventKind.REPORTER_SATISFIED in rule.stop and (policy.name, rule.key) in running
        for policy, rule in rules_of(session, case)
    )
    if not waiting:
        return False
    said = session.scalar(
        select(CaseEvent.id).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.REPORTER_SATISFIED
        )
    )
    return said is None


def say_satisfied(session: Session, case: Case, *, now: datetime, settings: ClockSettings) -> None:
    """The reporter says the matter is resolved to their satisfaction (seeds/000), or that their
    needs were met (seeds/001): a typed event that stops the clocks waiting for it. Commits.

    Only the reporter can do this, from their own case page: a handler setting a status cannot
    stand in for the complainant's own word.
    """
    if not can_say_satisfied(session, case):
        raise ClockError(
            _("There is nothing waiting for your answer, or you have already given it.")
        )
    session.add(CaseEvent(case_id=case.id, kind=EventKind.REPORTER_SATISFIED, occurred_at=now))
    apply_event(session, case, EventKind.REPORTER_SATISFIED, now=now, settings=settings)
    audit.record(session, "reporter_satisfied", now=now, actor_kind="reporter", case_id=case.id)
    with in_language(None):
        what = _("the reporter said the matter is resolved to their satisfaction")
    notifications.notify_users(
        session,
        responsible(session, case, case.escalation_level),
        settings,
        case=case,
        what=what,
        now=now,
    )
    session.commit()


def reporter_writes(
    session: Session,
    case: Case,
    body: str,
    *,
    uploads: Sequence[EncryptedUpload] = (),
    store: AttachmentStore | None,
    now: datetime,
    settings: ClockSettings,
) -> None:
    """The reporter's message on their case, and its event on every clock of the case's
    policies that names it (a policy may stop or restart a clock when the reporter writes).
    Commits once, its uploads with it (attachments.commit_with_files)."""
    messaging.add_message(
        session,
        case,
        body,
        author_kind=AuthorKind.REPORTER,
        uploads=uploads,
        store=store,
        now=now,
        commit=False,
    )
    apply_event(session, case, EventKind.REPORTER_MESSAGE, now=now, settings=settings)
    case_news.tell_holders(session, case, DigestKind.MESSAGE, settings, now=now)
    attachments.commit_with_files(session, store, uploads)
