"""What the organisation is waiting for from the reporter, or what it owes them next.

The first thing the reporter's case page says, in plain words: a question of the handlers that
is still unanswered; the minutes of an oral report still to be checked; else the organisation's
next deadline (acknowledgement, feedback, decision, ...) and by when; else that nothing is due.
It reads only what the reporter's page shows already (message kinds and times, the minutes'
state, the running deadlines' promises and due times): never notes, escalation or who handles
the case.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuthorKind, Case, CaseStatus, DeadlineState, Message
from portal.services.clock.views import deadlines_of

# The kind of a handlers' message that asks the reporter something (services/messaging.py).
QUESTION_KIND = "request_info"


class Awaiting(enum.Enum):
    QUESTION = "question"  # the handlers asked the reporter something, unanswered since
    MINUTES = "minutes"  # the minutes of an oral report await the reporter's check
    DUE = "due"  # the organisation's next deadline, still ahead
    LATE = "late"  # the organisation's next deadline, already passed
    PAUSED = "paused"  # what the organisation owes is on hold for now
    NOTHING = "nothing"  # an open case with nothing due from anyone
    CLOSED = "closed"  # a closed case with nothing due from anyone


@dataclass(frozen=True)
class Awaited:
    """What is awaited. ``what`` is the deadline's promise in the page's language ("give you
    feedback"); ``at`` is when the question was asked, or when the deadline is due."""

    awaiting: Awaiting
    what: str = ""
    at: datetime | None = None


def _open_question(session: Session, case: Case) -> datetime | None:
    latest = session.scalars(
        select(Message)
        .where(Message.case_id == case.id, Message.author_kind == AuthorKind.HANDLER)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    if latest is None or latest.kind != QUESTION_KIND:
        return None
    answered = session.scalar(
        select(Message.id)
        .where(
            Message.case_id == case.id,
            Message.author_kind == AuthorKind.REPORTER,
            Message.created_at >= latest.created_at,
            Message.id > latest.id,
        )
        .limit(1)
    )
    return None if answered is not None else latest.created_at


def awaited(session: Session, case: Case, *, now: datetime) -> Awaited:
    """What the case page says first: what is awaited from the reporter, else what the
    organisation owes next and by when, else that nothing is due.

    Security property: built only from what the reporter's own page already shows; no note,
    escalation level, assignee or staff name is read.
    """
    asked = _open_question(session, case)
    if asked is not None:
        return Awaited(Awaiting.QUESTION, at=asked)
    if case.minutes_state == "awaiting":
        return Awaited(Awaiting.MINUTES)
    running = [d for d in deadlines_of(session, case) if d.stopped_at is None]
    owed = sorted(
        (d for d in running if d.state is not DeadlineState.PAUSED), key=lambda d: d.due_at
    )
    if owed:
        first = owed[0]
        return Awaited(
            Awaiting.LATE if first.due_at <= now else Awaiting.DUE,
            what=first.promise,
            at=first.due_at,
        )
    if running:
        return Awaited(Awaiting.PAUSED, what=running[0].promise)
    if case.status is CaseStatus.CLOSED:
        return Awaited(Awaiting.CLOSED)
    return Awaited(Awaiting.NOTHING)
