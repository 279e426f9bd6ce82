"""The worker pass: claim the deadlines whose next action has come, act, and commit.

A pass claims due deadlines and holds them until it commits: FOR UPDATE SKIP LOCKED on
PostgreSQL (another worker skips them, and re-checks the due time of any row it waited for), the
database's write lock on SQLite (BEGIN IMMEDIATE: no other writer between the claim and the
commit). It acts, advancing each deadline's ``steps_done``, and writes its audit entries and
outbox rows in the same transaction, so an action happens once however many workers run, and a
worker killed mid-batch rolls back whole: nothing is lost and nothing is done twice. A pass reads
only rows whose ``next_action_at`` has come, so it costs O(due), not O(open deadlines).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

import crypto
from portal.i18n import _, _n, in_language
from portal.models import AuthorKind, Case, Deadline, DeadlineState
from portal.services import audit, batch, notifications, sitetext
from portal.services.clock import chunk
from portal.services.clock.acts import resume_deadline
from portal.services.clock.chunk import responsible
from portal.services.clock.schedule import (
    TOP_LEVEL,
    ClockSettings,
    ladder_of,
    next_action,
    refresh_next_due,
)
from portal.services.clock.versions import resolve_policy
from portal.services.policies import ClockRule, shown

logger = logging.getLogger(__name__)
# An execution option: on SQLite, begin the transaction with the write lock (see portal.db).
WRITE_LOCK = "candor_write_lock"


SEALED_CASE_COLUMNS = (
    Case.sealed_report,
    Case.sealed_identity,
    Case.sealed_preview,
    Case.reporter_wrapped_key,
)


@dataclass(frozen=True)
class TickResult:
    claimed: int
    acted: int


# Deadlines handled per transaction. A transaction holds the audit trail's head (on SQLite, the
# write lock) while it runs, about a fifth of a second for 200: other workers, and every audited
# act on the site, wait no longer than that. Per-chunk costs (the claim, the reads, one statement
# per table) make smaller chunks slower; larger ones gain little.
CHUNK = 200


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
    """Take up to ``limit`` due deadlines with their cases, held until the transaction ends.

    Starts a transaction of its own; whatever the session held before is committed first.
    """
    if session.in_transaction():
        session.commit()
    write_lock: dict[str, Any] = {WRITE_LOCK: True}
    session.connection(execution_options=write_lock)
    query = (
        select(Deadline, Case)
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.next_action_at <= now)
        .order_by(Deadline.next_action_at)
        .limit(limit)
        # The clock never opens what is sealed; loading it would cost more than all else.
        .options(*(defer(column, raiseload=True) for column in SEALED_CASE_COLUMNS))
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another worker holds are skipped, not waited for. The case is locked with its
        # deadline, so two deadlines of one case are never acted on from two stale copies of it.
        # A deadline skipped because its case was held stays locked by this transaction until
        # it ends, unacted: it waits for the next pass, which is the worst it comes to.
        query = query.with_for_update(skip_locked=True, of=[Deadline, Case])
    due = list(session.execute(query).tuples())
    session.info[chunk.KEY] = chunk.load(
        session, sorted({case.id for _, case in due}), held=[d for d, _ in due]
    )
    return due


def _tick_chunk(
    session: Session, *, now: datetime, settings: ClockSettings, limit: int
) -> tuple[int, int]:
    """Act on one chunk in one transaction, flushing once so that writes go out together.

    Should any deadline's action fail, the chunk is rolled back and done again one deadline at
    a time, each in a savepoint, so that one bad row cannot hold up the others.
    """
    try:
        due = _claim_chunk(session, now=now, limit=limit)
        try:
            with session.no_autoflush, batch.batched(session):
                acted = sum(_catch_up(session, d, c, now, settings) for d, c in due)
                # PostgreSQL: the changed deadlines and cases in a statement each, not a row each.
                batch.update_changed(session, Deadline)
                batch.update_changed(session, Case)
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
                    with batch.batched(session):
                        acted += _catch_up(session, deadline, case, now, settings)
                    session.flush()
            except Exception:
                logger.exception("a clock action failed; it is tried again on the next pass")
        session.commit()
        return len(due), acted
    finally:
        # What the chunk read was read under this transaction's locks; it goes with it.
        session.info.pop(chunk.KEY, None)


def _catch_up(
    session: Session, deadline: Deadline, case: Case, now: datetime, settings: ClockSettings
) -> int:
    """Every step of ``deadline`` that has come (a worker that was down acts late, not never)."""
    acted = 0
    while deadline.next_action_at is not None and deadline.next_action_at <= now:
        _act(session, deadline, case, now, settings)
        acted += 1
    return acted


def _act(
    session: Session, deadline: Deadline, case: Case, now: datetime, settings: ClockSettings
) -> None:
    # The version the deadline started under, whatever was saved since.
    rule = resolve_policy(session, deadline.policy).clock(deadline.clock)
    warnings = len(rule.warn_before)
    if deadline.state is DeadlineState.PAUSED:
        # The pause reached its cap: the clock runs again (this recomputes the steps).
        resume_deadline(session, deadline, rule, case, now, settings, reason="pause cap reached")
        return
    step = deadline.steps_done
    # Warnings for a deadline that has already passed are stale: go straight to the breach.
    if step < warnings and deadline.due_at <= now:
        step = warnings
    deadline.steps_done = step + 1
    if step < warnings:
        _warn(session, deadline, rule, case, now, settings)
    elif step == warnings:
        _breach(session, deadline, rule, case, now, settings)
    else:
        _escalate(session, deadline, rule, case, now, settings, why="no response")
    deadline.next_action_at = next_action(deadline, rule, case, settings.calendar)
    refresh_next_due(session, case)


def _warn(
    session: Session,
    deadline: Deadline,
    rule: ClockRule,
    case: Case,
    now: datetime,
    settings: ClockSettings,
) -> None:
    left = deadline.due_at - now
    due = deadline.due_at.isoformat()
    _record(session, "deadline_warning", case, now, f"{deadline.name}: due {due}")
    # Staff have no language of their own on record: they are written to in the site's.
    with in_language(None):
        # NOTE: Part of an e-mail's subject to the handlers, after "Case <reference>:".
        # %(time)s is how long is left ("2 days"); %(task)s is what the policy promised
        # ("acknowledge the report").
        what = _("due in %(time)s: %(task)s", time=_words(left), task=_in_sentence(rule.label))
    _tell_responsible(session, case, settings, what, now)


def _breach(
    session: Session,
    deadline: Deadline,
    rule: ClockRule,
    case: Case,
    now: datetime,
    settings: ClockSettings,
) -> None:
    deadline.state = DeadlineState.BREACHED
    _record(session, "deadline_breached", case, now, deadline.name)
    if "notify" in rule.at_expiry:
        with in_language(None):
            # NOTE: Part of an e-mail's subject to the handlers, after "Case <reference>:".
            # %(task)s is what the policy promised ("acknowledge the report").
            what = _("overdue: %(task)s", task=_in_sentence(rule.label))
        _tell_responsible(session, case, settings, what, now)
    # What the reporter reads is written in their case's language, and sealed as written.
    if "reporter_notice" in rule.at_expiry and rule.reporter_notice:
        with in_language(case.language):
            notice = sitetext.get_plain_text(
                session,
                rule.reporter_notice,
                duration=rule.duration.words(),
                language=case.language,
            )
        _system_message(session, case, notice, now)
    if "escalate" in rule.at_expiry:
        passed_up = _escalate(session, deadline, rule, case, now, settings, why="deadline passed")
        with in_language(case.language):
            promise = shown(rule.promise)
            if passed_up:
                # NOTE: Sent to the reporter when a deadline passes. %(promise)s is what the
                # policy promised, such as "acknowledge your report" (translated on its own).
                text = _(
                    "We have not managed to %(promise)s in the time we promised. Your report "
                    "has been passed to someone more senior, who will answer you here.",
                    promise=promise,
                )
            else:
                # Already with the most senior people: nobody new to pass it to, so say only
                # what is true.
                # NOTE: Sent to the reporter when a deadline passes and nobody more senior is
                # left. %(promise)s is what the policy promised, such as "acknowledge your
                # report" (translated on its own).
                text = _(
                    "We have not managed to %(promise)s in the time we promised. The people "
                    "responsible have been told, and will answer you here.",
                    promise=promise,
                )
        _system_message(session, case, text, now)


def _escalate(
    session: Session,
    deadline: Deadline,
    rule: ClockRule,
    case: Case,
    now: datetime,
    settings: ClockSettings,
    *,
    why: str,
) -> bool:
    """Move the case up the ladder to the next step with someone eligible on it; False when
    there is none (the top is reached, or nobody above is eligible).

    The ladder is the policy's for the case's reporter group (each step a level and who that is,
    "the executive team"), else the site's levels. People at higher levels already hold the case
    key (sealed at submission), so no keyholder needs to be online. A step with nobody eligible
    (none, excluded or recused: they hold no key) passes to the next, with the reason recorded.
    """
    ladder = ladder_of(rule, case)
    step = ladder.next_above(case.escalation_level)
    while step is not None:
        people = responsible(session, case, step.level, exact=True)
        if people:
            to = f"{step.level}, {step.label}" if ladder.named else str(step.level)
            _record(
                session,
                "escalated",
                case,
                now,
                f"{deadline.name}: level {case.escalation_level} -> {to} ({why})",
            )
            case.escalation_level = step.level
            deadline.level_reached = step.level
            with in_language(None):
                # NOTE: Part of an e-mail's subject to the handlers, after "Case <reference>:".
                # %(who)s is who the case was passed to ("supervisor", "the executive team");
                # %(task)s is what the policy promised ("acknowledge the report").
                what = _(
                    "escalated to you (%(who)s): %(task)s is overdue",
                    who=shown(step.label),
                    task=_in_sentence(rule.label),
                )
            notifications.notify_users(session, people, settings, case=case, what=what, now=now)
            return True
        _record(
            session,
            "escalation_skipped",
            case,
            now,
            f"{deadline.name}: level {step.level} has nobody eligible (none, excluded or recused)",
        )
        step = ladder.next_above(step.level)
    deadline.level_reached = TOP_LEVEL
    detail = f"{deadline.name}: no higher level to escalate to"
    _record(session, "escalation_exhausted", case, now, detail)
    return False


def _tell_responsible(
    session: Session, case: Case, settings: ClockSettings, what: str, now: datetime
) -> None:
    """Notify the handlers responsible for the case at its current level."""
    people = responsible(session, case, case.escalation_level)
    notifications.notify_users(session, people, settings, case=case, what=what, now=now)


def _record(session: Session, action: str, case: Case, now: datetime, detail: str) -> None:
    audit.record(session, action, now=now, actor_kind="clock", case_id=case.id, detail=detail)


def _system_message(session: Session, case: Case, body: str, now: datetime) -> None:
    from portal.services import messaging

    try:
        messaging.add_message(
            session, case, body, author_kind=AuthorKind.SYSTEM, store=None, now=now, commit=False
        )
    except crypto.DecryptionError:
        # The case's public key failed its integrity check: nothing is sealed to a key a database
        # writer may have put there, and the clock goes on for every other case.
        _record(session, "message_refused_bad_key", case, now, "case key failed its check")


def _words(delta: timedelta) -> str:
    """How long is left, roughly, in the language of the moment: days, hours or minutes."""
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48:
        return _n("%(num)d day", "%(num)d days", hours // 24)
    if hours >= 1:
        return _n("%(num)d hour", "%(num)d hours", hours)
    return _n("%(num)d minute", "%(num)d minutes", max(int(delta.total_seconds() // 60), 0))


def _in_sentence(label: str) -> str:
    """A clock's label inside a sentence: a preset's English label is lower-cased ("overdue:
    acknowledge the report"); a translated one is kept as the translator wrote it, since some
    languages write nouns with a capital."""
    words = shown(label)
    return label.lower() if words == label.strip() else words
