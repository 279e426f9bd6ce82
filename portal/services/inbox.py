"""The handler's inbox: one page of cases, filtered and sorted on the server.

Listing never decrypts whole reports: only the short sealed preview of the rows on the page is
opened, with each case's key from the handler's own grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil
from typing import Any, TypeVar

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import Case, CaseKeyGrant, CaseStatus, User
from portal.services import contexts, integrity

PAGE_SIZE = 50
T = TypeVar("T", bound=tuple[Any, ...])
DUE_SOON = timedelta(hours=48)


@dataclass(frozen=True)
class InboxFilters:
    status: CaseStatus | None = None
    tier: int | None = None
    category: str | None = None
    overdue: bool = False
    due_soon: bool = False
    mine: bool = False
    level: int | None = None


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


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    pages: int
    filters: InboxFilters = field(default_factory=InboxFilters)


def reference(case: Case) -> str:
    """A short reference for staff and notifications; says nothing about the case."""
    return f"C-{case.uid[:8].upper()}"


def _filtered(query: Select[T], handler: User, filters: InboxFilters, now: datetime) -> Select[T]:
    if filters.status is not None:
        query = query.where(Case.status == filters.status)
    if filters.tier is not None:
        query = query.where(Case.tier == filters.tier)
    if filters.category:
        query = query.where(Case.category == filters.category)
    if filters.overdue:
        query = query.where(Case.next_due_at < now)
    if filters.due_soon:
        query = query.where(Case.next_due_at >= now, Case.next_due_at < now + DUE_SOON)
    if filters.mine:
        query = query.where(Case.assignee_id == handler.id)
    if filters.level is not None:
        query = query.where(Case.escalation_level == filters.level)
    return query


# The inbox's order; ix_cases_inbox serves it (and the filtered columns follow in that index).
INBOX_ORDER = (Case.next_due_at.is_(None), Case.next_due_at, Case.received_at, Case.id)


def list_cases(
    session: Session,
    handler: User,
    private_key: bytes,
    filters: InboxFilters,
    *,
    page: int,
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> InboxPage:
    """One page of the cases this handler holds a key for, soonest due first.

    The page is chosen on narrow columns through the inbox index; only its rows are loaded
    whole, and only their previews are opened.
    """
    holds = exists().where(CaseKeyGrant.case_id == Case.id, CaseKeyGrant.user_id == handler.id)
    ids = _filtered(select(Case.id).where(holds), handler, filters, now)
    if filters == InboxFilters():
        total = session.scalar(
            select(func.count()).select_from(CaseKeyGrant).where(CaseKeyGrant.user_id == handler.id)
        )
    else:
        total = session.scalar(select(func.count()).select_from(ids.subquery()))
    total = total or 0
    pages = max(1, ceil(total / page_size))
    page = min(max(1, page), pages)
    page_ids = list(
        session.scalars(ids.order_by(*INBOX_ORDER).limit(page_size).offset((page - 1) * page_size))
    )
    rows = session.execute(
        select(Case, CaseKeyGrant.sealed_case_key, CaseKeyGrant.tag)
        .join(CaseKeyGrant, CaseKeyGrant.case_id == Case.id)
        .where(CaseKeyGrant.user_id == handler.id, Case.id.in_(page_ids))
        .order_by(*INBOX_ORDER)
    ).tuples()
    return InboxPage(
        rows=[
            _row(session, case, sealed_key, tag, handler, private_key, now)
            for case, sealed_key, tag in rows
        ],
        total=total,
        page=page,
        pages=pages,
        filters=filters,
    )


def _preview(
    session: Session,
    case: Case,
    sealed_key: bytes,
    tag: bytes | None,
    handler: User,
    private_key: bytes,
) -> str | None:
    """The opened preview, or None when it or the grant fails: one bad row must not take the
    whole inbox down, and what fails is never half-shown."""
    try:
        integrity.case_public_key(session, case)
        case_key = integrity.open_item(
            session, private_key, sealed_key, tag, contexts.case_key(case.uid, handler.id)
        )
        return integrity.open_item(
            session,
            case_key,
            case.sealed_preview,
            case.sealed_preview_tag,
            contexts.preview(case.uid),
        ).decode()
    except (crypto.DecryptionError, UnicodeDecodeError):
        return None


def _row(
    session: Session,
    case: Case,
    sealed_key: bytes,
    tag: bytes | None,
    handler: User,
    private_key: bytes,
    now: datetime,
) -> InboxRow:
    preview = _preview(session, case, sealed_key, tag, handler, private_key)
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
    )
