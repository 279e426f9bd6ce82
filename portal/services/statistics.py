"""Figures about the reporting channel for the statistics page, its CSV and the annual report.

Everything here is an aggregate over metadata the server keeps in the clear for the clock
(received time, category, tier, status, typed events, deadlines, committee decisions): nothing is
opened, so the figures can be shown to any handler or admin without reading a case. Each query
groups on the database and returns counts, except the response times, whose percentiles come
from one bounded list of durations per figure (one number per case in the period).

Figures are kept per process for as long as nothing they read has changed: every act that can
change them adds a typed event, a case or an audit entry, so the newest of each (three index reads)
tells whether the figures kept are still the figures. Several instances each compute once after a
change; a page viewed again, or the CSV and the annual report after it, costs those three reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, literal_column, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from portal.i18n import _
from portal.models import AuditHead, Case, CaseEvent, CaseStatus, Deadline, EventKind
from portal.models.clock import DeadlineState
from portal.models.committee import CommitteeDecision
from portal.services.errors import InvalidInputError

# A range longer than this is refused: one month bucket per CASE branch stays cheap.
MAX_MONTHS = 120
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.ACKNOWLEDGED, CaseStatus.INVESTIGATING)
# Lower bounds in days of the age buckets of open cases.
AGE_BUCKETS = (0, 7, 30, 90, 365)
CHANNELS = ("web", "telephone", "voice_message", "post", "email", "meeting")
# Events that only the reporter's own return to the case causes. Reporter sign-ins are not
# recorded (a record of them would tell when a reporter was active), so coming back is counted
# from what the reporter did: a message, saying they are satisfied, an appeal, or checking the
# minutes of a report they made by telephone or in a meeting.
CAME_BACK_EVENTS = (
    EventKind.REPORTER_MESSAGE,
    EventKind.REPORTER_SATISFIED,
    EventKind.APPEAL_FILED,
    EventKind.MINUTES_CORRECTED,
    EventKind.MINUTES_APPROVED,
)
APPEAL_OUTCOMES = ("uphold", "dismiss", "secretary", "pending")

# How a report reached the organisation: a handler records the channel of a report received by
# telephone, post, e-mail or in a meeting; a report through the site's own form has none.
CHANNEL: ColumnElement[str] = func.coalesce(Case.channel, literal_column("'web'"))


def channel_of(case_row: Case) -> str:
    """How a report reached the organisation (see ``CHANNEL``)."""
    return case_row.channel or "web"


@dataclass(frozen=True)
class Period:
    """Whole days from ``first_day`` to ``last_day`` (inclusive) in the site's time zone."""

    first_day: date
    last_day: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone)

    def months(self) -> list[date]:
        """The first day of each calendar month the period touches."""
        months = []
        month = self.first_day.replace(day=1)
        while month <= self.last_day:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months


def make_period(first_day: date, last_day: date, zone: ZoneInfo) -> Period:
    """A checked period: in order, and no longer than ``MAX_MONTHS`` months."""
    if last_day < first_day:
        raise InvalidInputError(_("The end of the date range is before its start."))
    period = Period(first_day, last_day, zone)
    if len(period.months()) > MAX_MONTHS:
        raise InvalidInputError(_("Choose a date range of at most ten years."))
    return period


def default_period(now: datetime, zone: ZoneInfo) -> Period:
    """The last 12 months: the current month so far and the 11 whole months before it."""
    today = now.astimezone(zone).date()
    first = today.replace(day=1)
    for _month in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, today, zone)


def year_period(year: int, zone: ZoneInfo) -> Period:
    if not 2000 <= year <= 9998:
        raise InvalidInputError(_("Choose a year between 2000 and 9998."))
    return Period(date(year, 1, 1), date(year, 12, 31), zone)


@dataclass(frozen=True)
class Durations:
    """Seconds from receipt to the first act of a kind, over cases received in the period."""

    count: int
    # Nearest-rank percentiles, in seconds; None when no case had the act.
    median: float | None
    p90: float | None
    # Cases received in the period without the act yet.
    without: int


@dataclass(frozen=True)
class ClockShare:
    """One clock (``policy/clock``): its deadlines due in the period that were met in time, and
    those breached. Deadlines still running or paused count in neither."""

    name: str
    met: int
    breached: int

    @property
    def share_met(self) -> float | None:
        decided = self.met + self.breached
        return None if decided == 0 else self.met / decided


@dataclass(frozen=True)
class Statistics:
    period: Period
    months: list[date]
    total: int
    # Key (category, channel, tier) -> reports per month, in the order of ``months``.
    by_category: dict[str, list[int]]
    by_channel: dict[str, list[int]]
    by_tier: dict[int, list[int]]
    acknowledge: Durations
    feedback: Durations
    clocks: list[ClockShare]
    # Open cases today, by status, counted in each age bucket (``AGE_BUCKETS``).
    open_cases: dict[CaseStatus, list[int]]
    # Cases with an appeal filed in the period, by where the appeal stands (``APPEAL_OUTCOMES``).
    appeals: dict[str, int]
    came_back: int


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted values (the median is ``fraction`` 0.5)."""
    if not ordered:
        return None
    return ordered[max(1, ceil(fraction * len(ordered))) - 1]


def _in_period(period: Period) -> ColumnElement[bool]:
    return and_(Case.received_at >= period.start, Case.received_at < period.end)


def _bucket(
    column: ColumnElement[datetime] | InstrumentedAttribute[datetime],
    bounds: Sequence[datetime],
    *,
    descending: bool = False,
) -> ColumnElement[int]:
    """The index of the bucket a time falls in, between ascending (or descending) bounds."""
    if not bounds:
        return literal_column("0")
    if descending:
        whens = [(column > bound, index) for index, bound in enumerate(bounds)]
    else:
        whens = [(column < bound, index) for index, bound in enumerate(bounds)]
    return case(*whens, else_=len(bounds))


def _seconds(
    session: Session,
    later: ColumnElement[datetime] | ColumnElement[Any],
    earlier: ColumnElement[datetime] | InstrumentedAttribute[datetime],
) -> ColumnElement[Any]:
    """Seconds between two times, in the database's own arithmetic (there is no portable one)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _reports(
    session: Session, period: Period, months: list[date]
) -> list[tuple[int, str, str, int, int]]:
    bounds = [datetime.combine(m, time(), period.zone) for m in months[1:]]
    inner = (
        select(
            _bucket(Case.received_at, bounds).label("month"),
            Case.category.label("category"),
            CHANNEL.label("channel"),
            Case.tier.label("tier"),
        )
        .where(_in_period(period))
        .subquery()
    )
    rows = session.execute(
        select(
            inner.c.month, inner.c.category, inner.c.channel, inner.c.tier, func.count()
        ).group_by(inner.c.month, inner.c.category, inner.c.channel, inner.c.tier)
    ).tuples()
    return [(int(m), str(c), str(ch), int(t), int(n)) for m, c, ch, t, n in rows]


def _per_case(session: Session, period: Period, total: int) -> tuple[Durations, Durations, int]:
    """Time to acknowledge and to feedback, and how many reporters came back, from one pass
    over the period's cases.

    Each case's first act is found by a correlated MIN over ix_case_events_case_kind_at (one
    index probe a case), so the cost follows the cases in the period, not all events ever.
    """

    def first(kind: EventKind) -> ColumnElement[Any]:
        when = (
            select(func.min(CaseEvent.occurred_at))
            .where(CaseEvent.case_id == Case.id, CaseEvent.kind == kind)
            .scalar_subquery()
        )
        return _seconds(session, when, Case.received_at)

    returned = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind.in_(CAME_BACK_EVENTS))
    rows = session.execute(
        select(first(EventKind.ACKNOWLEDGED), first(EventKind.FEEDBACK_SENT), returned).where(
            _in_period(period)
        )
    ).tuples()
    acknowledge: list[float] = []
    feedback: list[float] = []
    came_back = 0
    for ack, fed, back in rows:
        came_back += bool(back)
        if ack is not None:
            acknowledge.append(max(0.0, float(ack)))
        if fed is not None:
            feedback.append(max(0.0, float(fed)))
    return _summary(acknowledge, total), _summary(feedback, total), came_back


def _summary(seconds: list[float], total: int) -> Durations:
    ordered = sorted(seconds)
    return Durations(
        count=len(ordered),
        median=percentile(ordered, 0.5),
        p90=percentile(ordered, 0.9),
        without=total - len(ordered),
    )


def _clocks(session: Session, period: Period) -> list[ClockShare]:
    # Deadlines due in the period, read from ix_deadlines_due_stats alone.
    rows = session.execute(
        select(Deadline.policy, Deadline.clock, Deadline.state, func.count())
        .where(
            Deadline.due_at >= period.start,
            Deadline.due_at < period.end,
            Deadline.state.in_((DeadlineState.MET, DeadlineState.BREACHED)),
        )
        .group_by(Deadline.policy, Deadline.clock, Deadline.state)
    ).tuples()
    counts: dict[str, dict[DeadlineState, int]] = {}
    for policy, clock, state, count in rows:
        counts.setdefault(f"{policy}/{clock}", {})[state] = count
    return [
        ClockShare(
            name,
            met=states.get(DeadlineState.MET, 0),
            breached=states.get(DeadlineState.BREACHED, 0),
        )
        for name, states in sorted(counts.items())
    ]


def _open_cases(session: Session, now: datetime) -> dict[CaseStatus, list[int]]:
    bounds = [now - timedelta(days=days) for days in AGE_BUCKETS[1:]]
    inner = (
        select(
            Case.status.label("status"),
            _bucket(Case.received_at, bounds, descending=True).label("age"),
        )
        .where(Case.status.in_(OPEN_STATUSES))
        .subquery()
    )
    table: dict[CaseStatus, list[int]] = {s: [0] * len(AGE_BUCKETS) for s in OPEN_STATUSES}
    rows = session.execute(
        select(inner.c.status, inner.c.age, func.count()).group_by(inner.c.status, inner.c.age)
    ).tuples()
    for status, age, count in rows:
        table[CaseStatus(status)][int(age)] = count
    return table


def _appeals(session: Session, period: Period) -> dict[str, int]:
    appealed = (
        select(CaseEvent.case_id)
        .where(
            CaseEvent.kind == EventKind.APPEAL_FILED,
            CaseEvent.occurred_at >= period.start,
            CaseEvent.occurred_at < period.end,
        )
        .distinct()
        .subquery()
    )
    answered = exists().where(
        CaseEvent.case_id == appealed.c.case_id,
        CaseEvent.kind == EventKind.SECRETARY_ANSWERED,
    )
    inner = (
        select(
            func.coalesce(
                CommitteeDecision.outcome,
                case((answered, literal_column("'secretary'")), else_=literal_column("'pending'")),
            ).label("outcome")
        )
        .select_from(appealed)
        .outerjoin(CommitteeDecision, CommitteeDecision.case_id == appealed.c.case_id)
        .subquery()
    )
    counts = dict.fromkeys(APPEAL_OUTCOMES, 0)
    for outcome, count in session.execute(
        select(inner.c.outcome, func.count()).group_by(inner.c.outcome)
    ).tuples():
        counts[str(outcome)] = count
    return counts


# Figures kept per process, the most recently used last (see the module's docstring).
CACHE_SIZE = 32
_kept: OrderedDict[tuple[Hashable, ...], Statistics] = OrderedDict()
_kept_lock = threading.Lock()


def forget_cached() -> None:
    """Drop every kept figure (tests give each test a database of its own)."""
    with _kept_lock:
        _kept.clear()


def _data_version(session: Session) -> tuple[Hashable, ...]:
    """What changes whenever a figure may: the newest event, case and audit entry. A deadline
    met, breached or escalated, a status changed, a committee's decision: each is audited."""
    return (
        session.scalar(select(func.max(CaseEvent.id))),
        session.scalar(select(func.max(Case.id))),
        session.scalar(select(AuditHead.last_hash)),
    )


def compute(session: Session, period: Period, *, now: datetime) -> Statistics:
    """Every figure for ``period`` (open cases: as of ``now``, to the hour), kept while nothing
    they read has changed.

    Reads aggregates of clear metadata only and opens nothing; it writes nothing either.
    """
    bind = session.get_bind()
    key = (
        id(bind),
        bind.engine.url.render_as_string(hide_password=True),
        period.first_day,
        period.last_day,
        str(period.zone),
        now.replace(minute=0, second=0, microsecond=0),
        *_data_version(session),
    )
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
            return kept
    stats = compute_now(session, period, now=now)
    with _kept_lock:
        _kept[key] = stats
        while len(_kept) > CACHE_SIZE:
            _kept.popitem(last=False)
    return stats


def compute_now(session: Session, period: Period, *, now: datetime) -> Statistics:
    """Every figure for ``period``, computed from the database now (``compute`` keeps them)."""
    months = period.months()
    by_category: dict[str, list[int]] = {}
    by_channel: dict[str, list[int]] = {}
    by_tier: dict[int, list[int]] = {tier: [0] * len(months) for tier in (1, 2, 3)}
    total = 0
    for month, category, channel, tier, count in _reports(session, period, months):
        by_category.setdefault(category, [0] * len(months))[month] += count
        by_channel.setdefault(channel, [0] * len(months))[month] += count
        by_tier.setdefault(tier, [0] * len(months))[month] += count
        total += count
    acknowledge, feedback, came_back = _per_case(session, period, total)
    return Statistics(
        period=period,
        months=months,
        total=total,
        by_category=dict(sorted(by_category.items())),
        by_channel={c: by_channel[c] for c in sorted(by_channel, key=_channel_order)},
        by_tier=by_tier,
        acknowledge=acknowledge,
        feedback=feedback,
        clocks=_clocks(session, period),
        open_cases=_open_cases(session, now),
        appeals=_appeals(session, period),
        came_back=came_back,
    )


def _channel_order(channel: str) -> tuple[int, str]:
    return (CHANNELS.index(channel) if channel in CHANNELS else len(CHANNELS), channel)
