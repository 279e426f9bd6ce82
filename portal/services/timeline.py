"""What the reporter is promised: the dates of acknowledgement and feedback under a policy.

The escalation clock owns the full rules (reminders, escalation, public holidays); this module
gives the two dates a reporter is told when filing and on their case page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, FR, MO, TH, TU, WE, rrule


@dataclass(frozen=True)
class Promise:
    """The policy's timeline in plain words and as dates."""

    acknowledge_words: str
    feedback_words: str
    acknowledge_by: datetime
    feedback_by: datetime


Step = Callable[[datetime], datetime]


def _after(delta: relativedelta) -> Step:
    return lambda start: start + delta


def _working_days(count: int) -> Step:
    def step(start: datetime) -> datetime:
        days = rrule(DAILY, dtstart=start, byweekday=(MO, TU, WE, TH, FR), count=count + 1)
        return list(days)[-1]

    return step


# Each policy's two reporter-facing promises: (step, words) for acknowledgement and feedback.
_PROMISES: dict[str, tuple[Step, str, Step, str]] = {
    # Directive 2019/1937, art. 9(1)(b) and (f): acknowledge within 7 days; feedback within
    # 3 months of the acknowledgement or, without one, of the end of those 7 days. Calendar months
    # clamp at the month's end (relativedelta), so 3 months is never 90 days.
    "eu-directive": (
        _after(relativedelta(days=7)),
        "7 days",
        _after(relativedelta(months=3)),
        "3 months",
    ),
    "seed-complaints": (
        _after(relativedelta(hours=48)),
        "48 hours",
        _after(relativedelta(days=45)),
        "45 days",
    ),
    "seed-membership": (
        _after(relativedelta(hours=48)),
        "48 hours",
        _working_days(10),
        "10 working days",
    ),
}


def promise_for(
    policy: str, received_at: datetime, acknowledged_at: datetime | None = None
) -> Promise:
    """The acknowledgement and feedback dates for a case received at ``received_at``."""
    ack, ack_words, feedback, feedback_words = _PROMISES[policy]
    acknowledge_by = ack(received_at)
    return Promise(
        acknowledge_words=ack_words,
        feedback_words=feedback_words,
        acknowledge_by=acknowledge_by,
        feedback_by=feedback(acknowledged_at or acknowledge_by),
    )


def promise_words(policy: str) -> tuple[str, str]:
    _, ack_words, _, feedback_words = _PROMISES[policy]
    return ack_words, feedback_words
