"""The reporter's record of their own visits: when they last opened their case, how often lately.

Someone else who uses a stolen receipt code and passphrase opens the case like its reporter; the
reporter can notice only if the site tells them about openings they did not make. The record
says, per day (UTC, no time of day), how many times the case was opened in the last 30 days, and
the last day before that. It is sealed under a key that only the passphrase derives (the same
Argon2id run that unwraps the case key: sign-in costs no more), bound to the case, at one fixed
size; neither the staff nor a copy of the database can read it, and it holds no clear timestamp.

A record that fails to open (forged, moved from another case, truncated) is never read as facts:
the reporter is warned and a fresh record starts. What the record said is worked out once, at
sign-in, and kept with the reporter's session wrapped under the key in their cookie.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import crypto
from portal.models import Case
from portal.services import contexts

WINDOW_DAYS = 30
_MAX_PER_DAY = 0xFFFF
_RECORD_VERSION = 1
_HEAD = struct.Struct(">BIB")  # version, the last day before the window (0: none), days that follow
_DAY = struct.Struct(">IH")  # a day (proleptic ordinal), openings that day
_FACTS = struct.Struct(">BII")  # what the record said, last day (0: never), openings


class VisitsSeen(enum.Enum):
    """What the record of visits could tell at sign-in."""

    KNOWN = 1  # the record opened: ``last_day`` and ``recent`` are facts
    NOT_KEPT = 2  # a case from before records were kept: nothing to tell yet
    UNREADABLE = 3  # the record did not open: it may have been altered; a fresh one started


@dataclass(frozen=True)
class VisitRecord:
    """Openings per day within the window, and the last day of opening before it."""

    days: Mapping[date, int] = field(default_factory=dict)
    earlier: date | None = None


@dataclass(frozen=True)
class VisitFacts:
    """What the reporter is told at sign-in, about the visits before this one."""

    seen: VisitsSeen
    # The last day the case was opened before this visit; None: never (or not known).
    last_day: date | None = None
    # How many times it was opened in the last 30 days (today included), before this visit.
    recent: int = 0


class _MalformedRecordError(ValueError):
    pass


def _today(now: datetime) -> date:
    # A naive time is UTC (SQLite gives times back without their zone).
    return (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC).date()


def _window_start(today: date) -> date:
    return today - timedelta(days=WINDOW_DAYS - 1)


def encode(record: VisitRecord) -> bytes:
    days = sorted(record.days.items())
    earlier = record.earlier.toordinal() if record.earlier else 0
    return _HEAD.pack(_RECORD_VERSION, earlier, len(days)) + b"".join(
        _DAY.pack(day.toordinal(), min(count, _MAX_PER_DAY)) for day, count in days
    )


def _day(ordinal: int) -> date:
    try:
        return date.fromordinal(ordinal)
    except (ValueError, OverflowError) as exc:
        raise _MalformedRecordError from exc


def decode(data: bytes) -> VisitRecord:
    """The record in ``data``; raises ValueError for anything but a well-formed record."""
    if len(data) < _HEAD.size:
        raise _MalformedRecordError
    version, earlier, count = _HEAD.unpack_from(data)
    if version != _RECORD_VERSION or count > WINDOW_DAYS:
        raise _MalformedRecordError
    if len(data) != _HEAD.size + count * _DAY.size:
        raise _MalformedRecordError
    days: dict[date, int] = {}
    for index in range(count):
        ordinal, opened = _DAY.unpack_from(data, _HEAD.size + index * _DAY.size)
        if opened == 0 or _day(ordinal) in days:
            raise _MalformedRecordError
        days[_day(ordinal)] = opened
    return VisitRecord(days=days, earlier=_day(earlier) if earlier else None)


def facts_of(record: VisitRecord, today: date) -> VisitFacts:
    """What ``record`` tells on ``today``: the last day of opening, and the openings within the
    30 days that end today."""
    start = _window_start(today)
    known = [day for day in record.days if day <= today]
    if record.earlier is not None:
        known.append(record.earlier)
    return VisitFacts(
        seen=VisitsSeen.KNOWN,
        last_day=max(known, default=None),
        recent=sum(n for day, n in record.days.items() if start <= day <= today),
    )


def with_visit(record: VisitRecord, today: date) -> VisitRecord:
    """``record`` with one more opening today; days that left the window fold into ``earlier``
    (only the latest of them is kept)."""
    start = _window_start(today)
    kept = {day: n for day, n in record.days.items() if start <= day <= today}
    older = [day for day in record.days if day < start]
    if record.earlier is not None:
        older.append(record.earlier)
    kept[today] = min(kept.get(today, 0) + 1, _MAX_PER_DAY)
    return VisitRecord(days=kept, earlier=max(older, default=None))


def _seal(case: Case, visits_key: bytes, record: VisitRecord) -> bytes:
    return crypto.seal_visits(visits_key, encode(record), contexts.reporter_visits(case.uid))


def start_record(case: Case, visits_key: bytes, *, now: datetime, opened: bool) -> None:
    """Write the case's first record of visits: filing the report in the browser counts as the
    first opening (``opened``); a report a handler recorded for the reporter does not.

    Security property: sealed under the passphrase-derived ``visits_key`` and bound to the case;
    one size, so its length says nothing. Does not commit (the caller's use case does).
    """
    record = VisitRecord()
    if opened:
        record = with_visit(record, _today(now))
    case.reporter_visits = _seal(case, visits_key, record)


def record_visit(case: Case, visits_key: bytes, *, now: datetime) -> VisitFacts:
    """At a successful sign-in: what the record says of the visits before this one, then the
    record with this visit added, written back to the case.

    Security properties: a record that does not open or does not parse (forged, moved from
    another case, truncated) gives no facts, only ``UNREADABLE``, and a fresh record starts with
    this visit; nothing is stored in the clear. Does not commit (sign-in's transaction does).
    """
    today = _today(now)
    facts = VisitFacts(seen=VisitsSeen.NOT_KEPT)
    record = VisitRecord()
    if case.reporter_visits is not None:
        try:
            opened = crypto.open_visits(
                visits_key, case.reporter_visits, contexts.reporter_visits(case.uid)
            )
            record = decode(opened)
            facts = facts_of(record, today)
        except (crypto.CryptoError, ValueError):
            record = VisitRecord()
            facts = VisitFacts(seen=VisitsSeen.UNREADABLE)
    case.reporter_visits = _seal(case, visits_key, with_visit(record, today))
    return facts


def wrap_facts(facts: VisitFacts, cookie_key: bytes, case_uid: str) -> bytes:
    """``facts`` wrapped under the key in the reporter's cookie, for the reporter's session.

    Security property: like the session's case key, neither the database nor the cookie alone
    reads it; the blob has one size whatever it says.
    """
    last = facts.last_day.toordinal() if facts.last_day else 0
    plain = _FACTS.pack(facts.seen.value, last, facts.recent)
    return crypto.wrap_with_key(plain, cookie_key, contexts.reporter_visit_facts(case_uid))


def unwrap_facts(blob: bytes | None, cookie_key: bytes, case_uid: str) -> VisitFacts | None:
    """The facts kept with the reporter's session: None for a session from before they were
    kept; ``UNREADABLE`` for a blob that does not open (never facts from it)."""
    if blob is None:
        return None
    try:
        plain = crypto.unwrap_with_key(blob, cookie_key, contexts.reporter_visit_facts(case_uid))
        seen, last, recent = _FACTS.unpack(plain)
        return VisitFacts(
            seen=VisitsSeen(seen), last_day=_day(last) if last else None, recent=recent
        )
    except (crypto.CryptoError, ValueError, struct.error):
        return VisitFacts(seen=VisitsSeen.UNREADABLE)
