"""Keeping nothing longer than allowed: retention per category, legal holds, and deletion.

Directive (EU) 2019/1937 art. 18 and the GDPR's storage limitation: a report is kept no longer
than is necessary. A closed case is deleted a number of days after it was closed (the
configuration's default, or what an admin set for its category), unless a handler at level 2 or
above holds it (a legal hold, audited). Deletion is crypto-shredding: the case key in every form
(the handlers' grants, the reporter's wrapped key, reporter sessions, pending receipts) goes
first, then every ciphertext and every attachment file. What stays is what the organisation must
be able to show (that a report existed, its dates, category, channel and outcome) and the audit
trail, whose hash chain is only ever appended to, so it still verifies.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session, defer

from portal.config import Category, IntakeConfig, RetentionConfig
from portal.i18n import _, in_language
from portal.models import (
    Attachment,
    Case,
    CaseKeyGrant,
    CaseStatus,
    Message,
    MinutesVersion,
    Note,
    PendingReceipt,
    ReporterSession,
    SiteSetting,
    StaffDraft,
    User,
)
from portal.services import audit, case_news, notifications, site_settings
from portal.services.errors import InvalidInputError, ServiceError

if TYPE_CHECKING:
    from portal.services.clock import ClockSettings

SECTION = site_settings.RETENTION
# A hundred years: more is a typing mistake, not a policy.
MAX_DAYS = 36500
MAX_REASON = 200
# The level from which a handler may put a case on hold (a supervisor).
HOLD_LEVEL = 2


SEALED_COLUMNS = (
    Case.sealed_report,
    Case.sealed_identity,
    Case.sealed_preview,
    Case.reporter_wrapped_key,
)


class HoldNotAllowedError(ServiceError):
    """The handler is below the level that may put a case on hold or lift a hold."""


class FileStore(Protocol):
    def discard(self, uid: str) -> None: ...


@dataclass(frozen=True)
class RetentionResult:
    deleted: int
    reminded: int


def category_days(session: Session) -> dict[str, int]:
    """The days an admin set per category; a category not listed keeps the default."""
    row = session.get(SiteSetting, SECTION)
    if row is None or row.value is None:
        return {}
    saved = json.loads(row.value)
    return {str(key): int(days) for key, days in saved.items()}


def days_for(category: str, saved: Mapping[str, int], config: RetentionConfig) -> int:
    return saved.get(category, config.default_days)


@dataclass(frozen=True)
class KeptFor:
    """How long one category's cases are kept (label None: every category alike)."""

    label: str | None
    days: int


def kept_for(
    saved: Mapping[str, int], config: RetentionConfig, categories: Sequence[Category]
) -> list[KeptFor]:
    """What the landing page tells reporters: one duration, or one per category if they differ."""
    kept = [KeptFor(c.label, days_for(c.key, saved, config)) for c in categories]
    if len({k.days for k in kept}) <= 1:
        return [KeptFor(None, kept[0].days if kept else config.default_days)]
    return kept


def deletion_due(case: Case, days: int) -> datetime | None:
    """When the case will be deleted; None while it is open, held, or already deleted."""
    if case.closed_at is None or case.held_at is not None or case.deleted_at is not None:
        return None
    return case.closed_at + timedelta(days=days)


def parse_days(value: str) -> int | None:
    """An admin's entry: empty is the default (None), else whole days from 1 to MAX_DAYS."""
    text = value.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise InvalidInputError(
            _(
                "Days to keep a case: enter a whole number of days from 1 to %(max)d, or leave "
                "it empty for the default.",
                max=MAX_DAYS,
            )
        )
    return int(text)


def save_category_days(
    session: Session,
    intake: IntakeConfig,
    entries: Mapping[str, str],
    *,
    actor_id: int,
    now: datetime,
) -> None:
    """Save the days per category (validated; empty means the default). Audited; commits."""
    known = {c.key for c in intake.categories}
    chosen: dict[str, int] = {}
    for key, value in entries.items():
        if key not in known:
            raise InvalidInputError(_("Category: choose one of the list."))
        days = parse_days(value)
        if days is not None:
            chosen[key] = days
    site_settings.save_retention_days(session, chosen, actor_id=actor_id, now=now)


def place_hold(session: Session, case: Case, handler: User, reason: str, *, now: datetime) -> None:
    """Put a legal hold on the case: it is not deleted while held. Level 2 and above; audited.

    The reason is kept in the clear beside the case (at most one line of MAX_REASON
    characters); it must name the matter (a court order, an inquiry), never the report's content.
    """
    _check_level(handler)
    text = reason.strip()
    if not text:
        raise InvalidInputError(_("Give the reason for the hold."))
    if len(text) > MAX_REASON or "\n" in text or "\r" in text:
        raise InvalidInputError(
            _("The reason for the hold: one line of at most %(max)d characters.", max=MAX_REASON)
        )
    if case.deleted_at is not None:
        raise InvalidInputError(_("The case has been deleted."))
    case.held_at = now
    case.hold_reason = text
    audit.record(session, "hold_placed", now=now, actor_id=handler.id, case_id=case.id)
    session.commit()


def lift_hold(session: Session, case: Case, handler: User, *, now: datetime) -> None:
    """Lift the legal hold: the case's retention runs again (from its closing). Audited."""
    _check_level(handler)
    if case.held_at is None:
        raise InvalidInputError(_("The case is not on hold."))
    case.held_at = None
    case.hold_reason = None
    # A reminder before the hold does not count: the handlers are told again before deletion.
    case.retention_reminded_at = None
    audit.record(session, "hold_lifted", now=now, actor_id=handler.id, case_id=case.id)
    session.commit()


def _check_level(handler: User) -> None:
    if not handler.is_handler or handler.level < HOLD_LEVEL:
        raise HoldNotAllowedError(_("Only a handler at level 2 or above may hold a case."))


def apply_retention(
    session: Session,
    *,
    now: datetime,
    config: RetentionConfig,
    store: FileStore,
    settings: ClockSettings,
) -> RetentionResult:
    """One pass: finish interrupted deletions, remind, then delete what has run out.

    Each case is its own transaction, so a worker killed midway leaves every case either whole
    or deleted; a deletion whose files were not all discarded is finished on the next pass. A
    pass reads, from indexes, only the cases with something to do.
    """
    # Closed before retention was kept: the time runs from now, never from a guess.
    session.execute(
        update(Case)
        .where(Case.status == CaseStatus.CLOSED, Case.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    for case_id in session.scalars(select(Case.id).where(Case.shredding_at.is_not(None))).all():
        _discard_files(session, case_id, store)
    saved = category_days(session)
    reminded = deleted = 0
    for case in _cases_due(session, now, saved, config):
        due = deletion_due(case, days_for(case.category, saved, config))
        if due is None:
            continue
        if due <= now:
            deleted += delete_case(session, case, store, now=now)
        elif config.remind_days and case.retention_reminded_at is None:
            _remind(session, case, due, settings, now=now)
            reminded += 1
    return RetentionResult(deleted=deleted, reminded=reminded)


def _cases_due(
    session: Session, now: datetime, saved: Mapping[str, int], config: RetentionConfig
) -> list[Case]:
    """Closed, not held, not deleted, and due to be deleted or (not yet told) reminded."""

    def due(days: int) -> ColumnElement[bool]:
        deleted_from = now - timedelta(days=days)
        reminded_from = deleted_from + timedelta(days=config.remind_days)
        return and_(
            Case.closed_at <= reminded_from,
            or_(Case.retention_reminded_at.is_(None), Case.closed_at <= deleted_from),
        )

    by_category = [and_(Case.category == key, due(days)) for key, days in saved.items()]
    default = and_(Case.category.not_in(list(saved)), due(config.default_days))
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.status == CaseStatus.CLOSED,
                Case.held_at.is_(None),
                Case.deleted_at.is_(None),
                or_(default, *by_category),
            )
            .order_by(Case.closed_at, Case.id)
            # The sealed columns are never opened here, only emptied.
            .options(*(defer(column, raiseload=True) for column in SEALED_COLUMNS))
            # Read afresh: a hold placed or lifted since the session last read the case counts.
            .execution_options(populate_existing=True)
        )
    )


def _remind(
    session: Session, case: Case, due: datetime, settings: ClockSettings, *, now: datetime
) -> None:
    with in_language(None):
        # NOTE: %(date)s is the day the case will be deleted (YYYY-MM-DD, UTC).
        what = _(
            "it will be deleted on %(date)s unless a handler at level 2 or above puts it on hold",
            date=due.date().isoformat(),
        )
    holders = case_news.holders_to_tell(session, case)
    notifications.notify_users(session, holders, settings, case=case, what=what, now=now)
    case.retention_reminded_at = now
    audit.record(session, "retention_reminder", now=now, actor_kind="system", case_id=case.id)
    session.commit()


def delete_case(session: Session, case: Case, store: FileStore, *, now: datetime) -> bool:
    """Crypto-shred the case: keys first, then every ciphertext, then the attachment files.

    The keys and ciphertexts go in one transaction; the files, which live outside the database,
    after it commits (their keys went with it, so a file left by a crash is unreadable, and the
    next pass discards it). The receipt code's lookup is replaced by random bytes, so the code
    gets the same answer as one never issued. Returns False, changing nothing, if the case was
    held, opened again or deleted by another worker since it was read.
    """
    case_id = case.id
    # The claim: a conditional UPDATE takes the row's lock and is re-checked against a hold or
    # a reopening committed meanwhile (PostgreSQL re-reads the row; SQLite has one writer).
    claimed = session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            Case.status == CaseStatus.CLOSED,
            Case.held_at.is_(None),
            Case.deleted_at.is_(None),
        )
        .values(deleted_at=now, shredding_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        session.rollback()
        return False
    for model in (CaseKeyGrant, ReporterSession, PendingReceipt, StaffDraft):
        session.execute(delete(model).where(model.case_id == case_id))
    case.reporter_wrapped_key = b""
    case.reporter_wrapped_key_tag = None
    case.receipt_lookup = secrets.token_bytes(32)
    case.submission_lookup = secrets.token_bytes(32)
    case.sealed_report = b""
    case.sealed_report_tag = None
    case.sealed_identity = None
    case.sealed_identity_tag = None
    case.sealed_preview = b""
    case.sealed_preview_tag = None
    session.execute(delete(Note).where(Note.case_id == case_id))
    session.execute(delete(MinutesVersion).where(MinutesVersion.case_id == case_id))
    # Message bodies and file metadata (which holds each file's key) are emptied; the rows go
    # with the files, so that a file is never left without a row that names it.
    session.execute(
        update(Message).where(Message.case_id == case_id).values(sealed_body=b"", tag=None)
    )
    session.execute(
        update(Attachment).where(Attachment.case_id == case_id).values(sealed_meta=b"", tag=None)
    )
    case.hold_reason = None
    case.deleted_at = now
    case.shredding_at = now
    audit.record(session, "case_deleted", now=now, actor_kind="system", case_id=case_id)
    session.commit()
    _discard_files(session, case_id, store)
    return True


def _discard_files(session: Session, case_id: int, store: FileStore) -> None:
    uids = session.scalars(select(Attachment.uid).where(Attachment.case_id == case_id)).all()
    for uid in uids:
        store.discard(uid)
    session.execute(delete(Attachment).where(Attachment.case_id == case_id))
    session.execute(delete(Message).where(Message.case_id == case_id))
    session.execute(update(Case).where(Case.id == case_id).values(shredding_at=None))
    session.commit()
