"""What people see of the clock: each deadline of a case, and the promises in plain words.

Everything here is in the language of the page being made: a preset policy's words are in the
catalogue and come back translated; an admin's own policy's words come back as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import IntakeConfig
from portal.models import Case, Deadline, DeadlineState, EventKind
from portal.services.clock.schedule import ladder_of, policies_by_category, rules_of
from portal.services.clock.versions import resolve_all, version_label
from portal.services.policies import LateWindow, shown


@dataclass(frozen=True)
class DeadlineView:
    policy: str
    policy_title: str
    # Which version of the policy applies ("acme-complaints, version 3").
    version: str
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
    # Who the level reached is in the policy's words ("the executive team"), when the policy
    # names the steps of the case's ladder.
    level_label: str | None = None


def deadlines_of(session: Session, case: Case) -> list[DeadlineView]:
    """Each clock of the case on its own, policy by policy in the order they were chosen."""
    rows = {
        (d.policy, d.clock): d
        for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }
    views = []
    for policy, rule in rules_of(session, case):
        d = rows.get((policy.name, rule.key))
        if d is None:
            continue
        running = d.stopped_at is None
        views.append(
            DeadlineView(
                policy=policy.name,
                policy_title=shown(policy.title),
                version=version_label(policy.name),
                clock=rule.key,
                label=shown(rule.label),
                promise=shown(rule.promise),
                state=d.state,
                due_at=d.due_at,
                stopped_at=d.stopped_at,
                level_reached=d.level_reached,
                can_extend=running
                and rule.extend_to is not None
                and d.extensions < rule.max_extensions,
                can_pause=running and rule.pausable and d.state is DeadlineState.RUNNING,
                paused=d.state is DeadlineState.PAUSED,
                level_label=_shown_or_none(ladder_of(rule, case).label_at(d.level_reached)),
            )
        )
    return views


def _shown_or_none(text: str | None) -> str | None:
    return shown(text) if text is not None else None


def expectations(session: Session, case: Case) -> list[tuple[str, datetime]]:
    """(what we will do, by when) for the reporter: the case's open deadlines."""
    return [
        (view.promise, view.due_at)
        for view in deadlines_of(session, case)
        if view.stopped_at is None
    ]


def promises(session: Session, policy_names: Sequence[str]) -> Sequence[tuple[str, str]]:
    """(what, within how long) for each clock that starts on receipt: the landing page's words.

    Every policy's promises are listed; one made twice in the same words is said once.
    """
    found = (
        (shown(rule.promise), policy.promised_within(rule))
        for policy in resolve_all(session, policy_names)
        for rule in policy.clocks
        if rule.start is EventKind.RECEIVED
    )
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class SitePromises:
    """The landing page's timeline: what every report is promised, and what reports in some
    categories are promised besides (their category runs a policy the others do not)."""

    common: Sequence[tuple[str, str]]
    besides: Sequence[tuple[str, Sequence[tuple[str, str]]]]  # (category label, promises)


def site_promises(session: Session, intake: IntakeConfig) -> SitePromises:
    by_category = policies_by_category(session, intake)
    chosen = [(c.label, by_category[c.key]) for c in intake.categories]
    shared = set.intersection(*(set(policies) for _, policies in chosen))
    common = promises(session, [name for name in chosen[0][1] if name in shared])
    besides = []
    for label, policies in chosen:
        extra = [
            promise
            for promise in promises(session, [name for name in policies if name not in shared])
            if promise not in common
        ]
        if extra:
            besides.append((label, extra))
    return SitePromises(common=common, besides=besides)


def late_window_of(session: Session, policy_names: Sequence[str]) -> LateWindow | None:
    """The window for reporting of the first of ``policy_names`` that declares one, its
    question, notice and flag in the page's language."""
    window = next(
        (p.late_window for p in resolve_all(session, policy_names) if p.late_window is not None),
        None,
    )
    if window is None:
        return None
    return replace(
        window,
        question=shown(window.question),
        notice=shown(window.notice),
        flag=shown(window.flag),
    )


def late_windows(session: Session, intake: IntakeConfig) -> list[tuple[str, LateWindow]]:
    """(category label, window) of each category whose policies ask for the report in time:
    the intake form asks their question and shows their notice for those categories."""
    by_category = policies_by_category(session, intake)
    found = ((c.label, late_window_of(session, by_category[c.key])) for c in intake.categories)
    return [(label, window) for label, window in found if window is not None]
