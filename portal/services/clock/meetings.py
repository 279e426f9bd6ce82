"""The committee's meetings: the dates an admin sets, and when an appeal before the committee
is due (seeds/002, line 82: "take the matter to a full committee meeting (Held bi-monthly
throughout the calendar year)").

The dates are the source of truth; ``bi_monthly`` only fills the form with a suggestion. An
appeal is due at the end of the first meeting day after the day it reached the committee: a
meeting on that same day cannot have read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.i18n import N_, _
from portal.models import CommitteeMeeting
from portal.services import audit
from portal.services.calendar import BusinessCalendar, parse_dates

# The decision is due by the end of the meeting day, on the organisation's wall clock.
MEETING_DUE = time(23, 59)
# A few years of bi-monthly meetings; more is a mistake, and bounds every computation.
MAX_MEETINGS = 120
# Shown to the handlers on the case page, translated there.
# NOTE: %(duration)s is the appeal clock's own duration, such as "10 working days".
NO_MEETING = N_(
    "No committee meeting is scheduled after the appeal reached the committee, so it is due by "
    "the policy's fallback of %(duration)s instead. An admin sets the meeting dates under "
    "Committee."
)


@dataclass(frozen=True)
class MeetingSchedule:
    """The meeting dates, and the ones still to come (after today, on the site's calendar)."""

    days: tuple[date, ...]
    upcoming: tuple[date, ...]

    @property
    def warning(self) -> str | None:
        if self.upcoming:
            return None
        return _(
            "No committee meeting is scheduled after today. An appeal that reaches the committee "
            "now is due by its policy's fallback duration instead of at a meeting, and the "
            "handlers are told so on the case page. Add the next meeting dates."
        )


def meeting_days(session: Session) -> tuple[date, ...]:
    """Every meeting date set, earliest first."""
    return tuple(session.scalars(select(CommitteeMeeting.day).order_by(CommitteeMeeting.day)))


def schedule(session: Session, *, now: datetime, calendar: BusinessCalendar) -> MeetingSchedule:
    days = meeting_days(session)
    today = now.astimezone(calendar.zone).date()
    return MeetingSchedule(days=days, upcoming=tuple(d for d in days if d > today))


def next_meeting(days: Sequence[date], moment: datetime, calendar: BusinessCalendar) -> date | None:
    """The first meeting on a day after ``moment``'s day (site time zone), or None."""
    today = moment.astimezone(calendar.zone).date()
    return min((d for d in days if d > today), default=None)


def meeting_due(day: date, calendar: BusinessCalendar) -> datetime:
    """When an appeal heard at the meeting of ``day`` is due: the end of that day, in UTC."""
    return datetime.combine(day, MEETING_DUE, tzinfo=calendar.zone).astimezone(UTC)


def parse_meeting_days(text: str) -> tuple[date, ...]:
    """ISO dates (2027-01-14), one per line or separated by commas or spaces; sorted, unique."""
    return parse_dates(text, each="meeting date", example="2027-01-14", most=MAX_MEETINGS)


def bi_monthly(first: date, count: int = 6) -> tuple[date, ...]:
    """A suggestion: ``count`` dates two calendar months apart from ``first`` (a 31st becomes
    the month's last day). Shown in the form for the admin to correct, never saved by itself."""
    return tuple(first + relativedelta(months=2 * k) for k in range(max(count, 0)))


def choose_meetings(
    session: Session, text: str, *, actor_id: int, now: datetime
) -> tuple[date, ...]:
    """An admin sets the committee's meeting dates (the whole list). Audited; commits once.

    Appeals already before the committee keep their due time; an appeal that reaches the
    committee from now on is due at the first meeting after it.
    """
    days = parse_meeting_days(text)
    before = meeting_days(session)
    session.execute(delete(CommitteeMeeting))
    session.add_all(CommitteeMeeting(day=d, added_at=now) for d in days)
    audit.record(
        session,
        "meetings_set",
        now=now,
        actor_id=actor_id,
        detail=f"{_describe(before)} -> {_describe(days)}",
    )
    session.commit()
    return days


def _describe(days: Sequence[date]) -> str:
    # Short: the days themselves when few, else the count and the span.
    if not days:
        return "no meetings"
    if len(days) <= 6:
        return ", ".join(d.isoformat() for d in days)
    return f"{len(days)} meetings, {days[0].isoformat()} to {days[-1].isoformat()}"
