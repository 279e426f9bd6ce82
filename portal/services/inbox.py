"""The handler's inbox: one page of cases, filtered, searched and sorted on the server.

Listing never decrypts whole reports: only the short sealed preview of the rows on the page is
opened, with each case's key from the handler's own grant.

Every sort reads its page from an index (ix_cases_inbox for the default, ix_cases_sort_* for the
others) and moves by keyset: a page's cursor holds the sort key and id of its first or last
row, so that page 2,000 costs what page 2 does, and OFFSET is never used. Counts stop at
COUNT_CAP ("1,000+"): an exact count of 100,000 rows would cost more than the page itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

import crypto
from portal.i18n import N_
from portal.models import Case, CaseKeyGrant, CaseStatus, CaseView, Redaction, User
from portal.services import contexts, integrity, masking
from portal.services.references import REFERENCE_DIGITS as REFERENCE_DIGITS
from portal.services.references import reference as reference

# Words the inbox shows that are defined in English elsewhere (the status names, written
# ``status.value.capitalize()``, and the sortable columns' headers in the handler views): listed
# here for the catalogue, translated where the inbox template shows them, with _().
INBOX_WORDS = (
    N_("New"),
    N_("Acknowledged"),
    N_("Investigating"),
    N_("Resolved"),
    N_("Closed"),
    N_("Case"),
    N_("Next due"),
    N_("Status"),
    N_("Tier"),
    N_("Category"),
    N_("Level"),
    N_("Assigned"),
)

PAGE_SIZE = 50
COUNT_CAP = 1000
T = TypeVar("T", bound=tuple[Any, ...])
DUE_SOON = timedelta(hours=48)
_HEX = re.compile(r"[0-9a-f]*")


@dataclass(frozen=True)
class InboxFilters:
    status: CaseStatus | None = None
    tier: int | None = None
    category: str | None = None
    overdue: bool = False
    due_soon: bool = False
    mine: bool = False
    level: int | None = None
    unread: bool = False
    # What the handler typed in the reference search, as typed; see reference_prefixes.
    reference: str = ""


@dataclass(frozen=True)
class InboxRow:
    uid: str
    reference: str
    received_at: datetime
    status: CaseStatus
    tier: int
    category: str
    escalation_level: int
    next_due_at: datetime | None
    overdue: bool
    assignee_id: int | None
    # None when the preview or the handler's grant failed its integrity check: the row says so
    # and the rest of the page is shown; the case page itself refuses.
    preview: str | None
    # The reporter wrote since this handler last opened the case (or it was never opened).
    unread: bool = False


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    # The number of matching cases, counted up to the cap; ``more`` when there are more.
    total: int
    more: bool
    sort: str
    direction: str
    # Opaque cursors for the pages after and before this one, or None at either end.
    next_cursor: str | None = None
    previous_cursor: str | None = None
    filters: InboxFilters = field(default_factory=InboxFilters)


def reference_prefixes(text: str) -> list[str]:
    """The uid prefixes that a typed reference may stand for.

    Case, spaces and dashes are ignored. A leading "C" is the reference's own letter, but "C"
    is a hex digit too, so both readings are tried. A reference is a prefix of the uid, so the
    search is a range on the uid's unique index (no stored copy, no LIKE).
    """
    typed = re.sub(r"[\s\-\u2010-\u2015]", "", text).lower()
    candidates = [typed]
    if typed.startswith("c"):
        candidates.append(typed[1:])
    return [
        c
        for c in dict.fromkeys(candidates)
        if c and len(c) <= REFERENCE_DIGITS and _HEX.fullmatch(c) is not None
    ]


def _searched(query: Select[T], text: str) -> Select[T]:
    prefixes = reference_prefixes(text)
    if not prefixes:
        return query.where(false())
    # "g" sorts after every hex digit: [prefix, prefix + "g") is exactly the uids it starts.
    return query.where(or_(*(and_(Case.uid >= p, Case.uid < p + "g") for p in prefixes)))


def _unread(handler: User) -> ColumnElement[bool]:
    seen = exists().where(
        CaseView.case_id == Case.id,
        CaseView.user_id == handler.id,
        CaseView.last_opened_at >= Case.last_reporter_at,
    )
    return and_(Case.last_reporter_at.is_not(None), ~seen)


class _Unindexed(ColumnElement[Any]):
    """A column that SQLite must not pick an index for (``+column``); the same column elsewhere.

    SQLite has no statistics (the app never runs ANALYZE), so for "status = 'new'" it prefers
    the index that starts with the status and then sorts every matching case, thousands of
    them, when reading the sort's own index in order finds the page's 50 rows after a few
    hundred. PostgreSQL weighs both with its statistics and needs no help.
    """

    inherit_cache = True
    # SQLAlchemy reads this class attribute for the statement cache's key.
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_Unindexed)
def _unindexed_default(element: _Unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_Unindexed, "sqlite")
def _unindexed_sqlite(element: _Unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.column, **kw))


def _filtered(
    query: Select[T],
    handler: User,
    filters: InboxFilters,
    now: datetime,
    *,
    sort: str | None = None,
) -> Select[T]:
    """``query`` narrowed by ``filters``. With ``sort``, an equality filter on another column
    than the sort's own is kept off that column's index (see _Unindexed)."""

    def column(attribute: Any, key: str) -> Any:
        return attribute if sort is None or sort == key else _Unindexed(attribute)

    if filters.status is not None:
        query = query.where(column(Case.status, "status") == filters.status)
    if filters.tier is not None:
        query = query.where(column(Case.tier, "tier") == filters.tier)
    if filters.category:
        query = query.where(column(Case.category, "category") == filters.category)
    if filters.overdue:
        query = query.where(Case.next_due_at < now)
    if filters.due_soon:
        query = query.where(Case.next_due_at >= now, Case.next_due_at < now + DUE_SOON)
    if filters.mine:
        query = query.where(column(Case.assignee_id, "assigned") == handler.id)
    if filters.level is not None:
        query = query.where(column(Case.escalation_level, "level") == filters.level)
    if filters.unread:
        query = query.where(_unread(handler))
    if filters.reference.strip():
        query = _searched(query, filters.reference)
    return query


@dataclass(frozen=True)
class _Key:
    """One part of a sort key: the expression, how its cursor value is read back, and whether
    it may be NULL (then an ``IS NULL`` part comes just before it)."""

    expression: Any
    kind: str
    nullable: bool = False


_RECEIVED = (_Key(Case.received_at, "time"), _Key(Case.id, "int"))
SORTS: dict[str, tuple[_Key, ...]] = {
    # The default: soonest due first, cases with nothing due last (ix_cases_inbox).
    "due": (
        _Key(Case.next_due_at.is_(None), "bool"),
        _Key(Case.next_due_at, "time", nullable=True),
        *_RECEIVED,
    ),
    "received": _RECEIVED,
    # By the stored value (acknowledged, closed, investigating, new, resolved), as the index
    # holds it; a workflow order would need an index on an expression of the status.
    "status": (_Key(Case.status, "status"), *_RECEIVED),
    "tier": (_Key(Case.tier, "int"), *_RECEIVED),
    "category": (_Key(Case.category, "str"), *_RECEIVED),
    "level": (_Key(Case.escalation_level, "int"), *_RECEIVED),
    # Grouped by the handler assigned (by account, not by name), unassigned cases last.
    "assigned": (
        _Key(Case.assignee_id.is_(None), "bool"),
        _Key(Case.assignee_id, "int", nullable=True),
        *_RECEIVED,
    ),
}
DEFAULT_SORT = "due"
DIRECTIONS = ("asc", "desc")

# Kept for other readers of the default order (the inbox index serves it).
INBOX_ORDER = tuple(k.expression for k in SORTS[DEFAULT_SORT])


def _encode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "bool":
        # SQLite answers IS NULL with 0 or 1.
        return bool(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, CaseStatus):
        return value.value
    return value


def _decode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "time":
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("a cursor time without its zone")
        return moment
    if kind == "status":
        return CaseStatus(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not a number")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("not a boolean")
        return value
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _cursor(way: str, sort: str, direction: str, values: Sequence[Any]) -> str:
    encoded = [_encode(v, k.kind) for v, k in zip(values, SORTS[sort], strict=True)]
    raw = json.dumps([way, sort, direction, encoded], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str, sort: str, direction: str) -> tuple[str, list[Any]] | None:
    """("next" or "previous", the key values), or None for a cursor that is malformed or from
    another sort: the inbox then shows its first page rather than an error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        way, cursor_sort, cursor_direction, values = json.loads(raw)
        keys = SORTS[sort]
        if (cursor_sort, cursor_direction) != (sort, direction) or way not in ("n", "p"):
            return None
        if not isinstance(values, list) or len(values) != len(keys):
            return None
        decoded = [_decode(v, k.kind) for v, k in zip(values, keys, strict=True)]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        return None
    return way, decoded


def _after(keys: Sequence[_Key], values: Sequence[Any], ascending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys``, as one row-value comparison,
    which both databases answer from the sort's index.

    A NULL in a row value makes the comparison unknown, so a nullable part is left out when the
    cursor's value is NULL: its IS NULL part before it already places the row, and within the
    NULL group the part is the same for every row.
    """
    kept = [
        (key.expression, value)
        for key, value in zip(keys, values, strict=True)
        if not (key.nullable and value is None)
    ]
    left = tuple_(*(expression for expression, _ in kept))
    # Each value bound with its column's type (the status enum, the app's UTC datetimes).
    right = tuple_(*(literal(value, type_=expression.type) for expression, value in kept))
    return left > right if ascending else left < right


def _count(session: Session, ids: Select[Any], cap: int) -> tuple[int, bool]:
    found = session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery())) or 0
    return min(found, cap), found > cap


def list_cases(
    session: Session,
    handler: User,
    private_key: bytes,
    filters: InboxFilters,
    *,
    now: datetime,
    sort: str = DEFAULT_SORT,
    direction: str = "asc",
    cursor: str = "",
    page_size: int | None = None,
    count_cap: int | None = None,
) -> InboxPage:
    """One page of the cases this handler holds a key for, in the chosen order.

    The page is chosen on narrow columns through the sort's index, moving from the cursor by
    keyset; only its rows are loaded whole, and only their previews are opened.
    """
    if sort not in SORTS:
        sort = DEFAULT_SORT
    if direction not in DIRECTIONS:
        direction = "asc"
    size = PAGE_SIZE if page_size is None else page_size
    keys = SORTS[sort]
    ascending = direction == "asc"
    holds = exists().where(CaseKeyGrant.case_id == Case.id, CaseKeyGrant.user_id == handler.id)
    ids = _filtered(select(Case.id).where(holds), handler, filters, now)
    total, more = _count(session, ids, COUNT_CAP if count_cap is None else count_cap)

    read = _read_cursor(cursor, sort, direction) if cursor else None
    way = read[0] if read is not None else "n"
    # A "previous" page is read backwards from its cursor, then turned round.
    forward = ascending if way == "n" else not ascending
    query = _filtered(
        select(Case.id, *(k.expression for k in keys)).where(holds),
        handler,
        filters,
        now,
        sort=sort,
    )
    if read is not None:
        query = query.where(_after(keys, read[1], forward))
    order = [k.expression.asc() if forward else k.expression.desc() for k in keys]
    found = list(session.execute(query.order_by(*order).limit(size + 1)))
    beyond = len(found) > size
    found = found[:size]
    if way == "p":
        found.reverse()
    page_ids = [row[0] for row in found]

    cases = {
        case.id: (case, grant)
        for case, grant in session.execute(
            select(Case, CaseKeyGrant)
            .join(CaseKeyGrant, CaseKeyGrant.case_id == Case.id)
            .where(CaseKeyGrant.user_id == handler.id, Case.id.in_(page_ids))
        ).tuples()
    }
    # Only the page's cases with a redaction in force open their redactions, for the preview.
    redacted = set(
        session.scalars(
            select(Redaction.case_id).where(
                Redaction.case_id.in_(page_ids), Redaction.removed_at.is_(None)
            )
        )
    )
    opened = {
        case_id: last_opened_at
        for case_id, last_opened_at in session.execute(
            select(CaseView.case_id, CaseView.last_opened_at).where(
                CaseView.user_id == handler.id, CaseView.case_id.in_(page_ids)
            )
        ).tuples()
    }
    rows = [
        _row(
            session,
            *cases[case_id],
            handler,
            private_key,
            now,
            opened.get(case_id),
            redacted=case_id in redacted,
        )
        for case_id in page_ids
        if case_id in cases
    ]
    has_next = beyond if way == "n" else read is not None
    has_previous = read is not None if way == "n" else beyond
    return InboxPage(
        rows=rows,
        total=total,
        more=more,
        sort=sort,
        direction=direction,
        next_cursor=(_cursor("n", sort, direction, found[-1][1:]) if has_next and found else None),
        previous_cursor=(
            _cursor("p", sort, direction, found[0][1:]) if has_previous and found else None
        ),
        filters=filters,
    )


def _preview(
    session: Session,
    case: Case,
    grant: CaseKeyGrant,
    handler: User,
    private_key: bytes,
    redacted: bool,
) -> str | None:
    """The opened preview, or None when it or the grant fails: one bad row must not take the
    whole inbox down, and what fails is never half-shown. Words redacted for this handler are
    masked, as on the case page."""
    try:
        integrity.case_public_key(session, case)
        case_key = integrity.open_item(
            session,
            private_key,
            grant.sealed_case_key,
            grant.tag,
            contexts.case_key(case.uid, handler.id),
        )
        preview = integrity.open_item(
            session,
            case_key,
            case.sealed_preview,
            case.sealed_preview_tag,
            contexts.preview(case.uid),
        ).decode()
        if not redacted:
            return preview
        masks = masking.masks_for_grant(session, case, case_key, grant)
        return masking.mask_preview(preview, masks.hidden)
    except (crypto.DecryptionError, UnicodeDecodeError):
        return None


def _row(
    session: Session,
    case: Case,
    grant: CaseKeyGrant,
    handler: User,
    private_key: bytes,
    now: datetime,
    last_opened_at: datetime | None = None,
    *,
    redacted: bool = False,
) -> InboxRow:
    preview = _preview(session, case, grant, handler, private_key, redacted)
    unread = case.last_reporter_at is not None and (
        last_opened_at is None or case.last_reporter_at > last_opened_at
    )
    return InboxRow(
        uid=case.uid,
        reference=reference(case),
        received_at=case.received_at,
        status=case.status,
        tier=case.tier,
        category=case.category,
        escalation_level=case.escalation_level,
        next_due_at=case.next_due_at,
        overdue=case.next_due_at is not None and case.next_due_at < now,
        assignee_id=case.assignee_id,
        preview=preview,
        unread=unread,
    )
