from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    # Stored by value with a check constraint rather than a PostgreSQL type, so that a new value
    # needs no type migration.
    return Enum(
        kind,
        values_callable=lambda e: [m.value for m in e],
        name=name,
        length=24,
        native_enum=False,
        create_constraint=True,
    )


class CaseStatus(enum.Enum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"


class AuthorKind(enum.Enum):
    REPORTER = "reporter"
    HANDLER = "handler"
    SYSTEM = "system"


class EventKind(enum.Enum):
    """Typed events that start and stop clocks; never a status anyone can toggle."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    FEEDBACK_SENT = "feedback_sent"
    DECISION_SENT = "decision_sent"
    RESOLVED = "resolved"
    APPEAL_FILED = "appeal_filed"
    REPORTER_MESSAGE = "reporter_message"
    # seeds/000: a complaint is settled by a resolution sent to the reporter, or by the reporter
    # saying they are satisfied; never by a status anyone can set and unset.
    RESOLUTION_SENT = "resolution_sent"
    REPORTER_SATISFIED = "reporter_satisfied"
    # A resolved or closed case opened again; a clock whose policy names it in ``resume_on``
    # runs again to its own due time.
    REOPENED = "reopened"
    # seeds/002, lines 80-82: an appeal goes to the Company Secretary first, who answers it or
    # refers it on; the reporter still unhappy takes it to the committee, whose recorded
    # majority decision ends it. Where no secretary is set, it goes to the committee at once.
    SECRETARY_ASKED = "secretary_asked"
    SECRETARY_ANSWERED = "secretary_answered"
    COMMITTEE_ASKED = "committee_asked"
    COMMITTEE_DECIDED = "committee_decided"
    # A handler changed the case's tier; a clock whose policy names it in ``recompute_on`` is
    # due again from its own start at the new tier's duration (seeds/000: a critical matter is
    # answered within 15 minutes, whenever it is found to be critical).
    TIER_CHANGED = "tier_changed"
    # Directive art. 18(2)-(4): the reporter of an oral report checks the handler's minutes and
    # corrects or approves them; a handler may revise them after a correction, asking again.
    MINUTES_CORRECTED = "minutes_corrected"
    MINUTES_REVISED = "minutes_revised"
    MINUTES_APPROVED = "minutes_approved"


class Case(Base):
    """What a report opens. Content lives only in sealed columns; see docs/threat-model.md."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("tier BETWEEN 1 AND 3", name="tier_range"),
        # The inbox's sort order, then every column it filters on: a page and a filtered count
        # read this index alone.
        Index(
            "ix_cases_inbox",
            text("(next_due_at IS NULL)"),
            "next_due_at",
            "received_at",
            "id",
            "status",
            "tier",
            "category",
            "assignee_id",
            "escalation_level",
        ),
        # The statistics page: the reports of a period, and the open cases by status and age,
        # each read from an index alone (a case row holds the sealed report).
        Index("ix_cases_received_stats", "received_at", "category", "tier", "status", "channel"),
        Index("ix_cases_status_received", "status", "received_at"),
        # One index per inbox sort (the column, then received_at and id as tie-breakers), so
        # that every sort reads its page, forward or back from a keyset cursor, from an index.
        Index("ix_cases_sort_received", "received_at", "id"),
        Index("ix_cases_sort_status", "status", "received_at", "id"),
        Index("ix_cases_sort_tier", "tier", "received_at", "id"),
        Index("ix_cases_sort_category", "category", "received_at", "id"),
        Index("ix_cases_sort_level", "escalation_level", "received_at", "id"),
        Index(
            "ix_cases_sort_assigned",
            text("(assignee_id IS NULL)"),
            "assignee_id",
            "received_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, so that URLs and associated data never reveal how many cases exist.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    # HMAC-SHA256(pepper, receipt code): the receipt code itself is never stored.
    receipt_lookup: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # HMAC of the intake form's one-time token: a form posted twice opens one case.
    submission_lookup: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The case private key wrapped under Argon2id(passphrase, per-case salt kept in the blob).
    reporter_wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The reporter's record of their own visits (crypto/visits.py): sealed under a key that only
    # the passphrase derives, one size whatever it holds. None on cases from before it was kept.
    reporter_visits: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # Integrity tags (HMAC under the configuration's integrity key, bound to this case) of the
    # public key and of each sealed column: a database writer can neither forge nor swap them.
    # None on rows from before tags existed, which are refused until signed by the operator.
    public_key_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    reporter_wrapped_key_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    sealed_report_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    sealed_identity_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    sealed_preview_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    category: Mapped[str] = mapped_column(String(64))
    # The names of the policies whose clocks run on this case, fixed when it is filed.
    policies: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    tier: Mapped[int]
    # Who the reporter said they are (a key of the site's [intake] groups: "employee",
    # "vendor", ...), or None when they preferred not to say. A choice from a fixed list, never
    # free text; in the clear because the clock reads it to choose the escalation ladder.
    reporter_group: Mapped[str | None] = mapped_column(String(32), default=None)
    # The language the reporter uses (a code from the site's list, such as "de"; NULL reads as
    # the site's default): what the site writes to the reporter is in it.
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"))
    confidential: Mapped[bool]
    escalation_level: Mapped[int] = mapped_column(default=1)
    sealed_report: Mapped[bytes] = mapped_column(LargeBinary)
    # Name and contact of a confidential reporter, sealed apart from the report so that reading
    # them can be gated and audited on its own.
    sealed_identity: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    received_at: Mapped[datetime]
    # A short summary sealed to the case key, so an inbox page opens only its own rows' previews.
    sealed_preview: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), default=None, index=True
    )
    # What a closed case came to (e.g. "substantiated"); a fixed vocabulary, never free text.
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    # The earliest due time of the case's running deadlines; the inbox sorts on it.
    next_due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # How a report recorded by a handler came in ("telephone", "post", ...; None for the web
    # form). In the clear because the statistics count reports by channel.
    channel: Mapped[str | None] = mapped_column(String(16), default=None)
    # The reporter reports on someone else's behalf or as a third-party witness (seeds/002).
    third_party: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Where the minutes of an oral report stand: "awaiting" the reporter's approval,
    # "corrected" by the reporter, or "approved"; None for a report the reporter wrote.
    minutes_state: Mapped[str | None] = mapped_column(String(16), default=None)
    # When the reporter last wrote (the report itself, then each message): the inbox marks a
    # case unread for a handler whose last opening of it is older. A time, never content.
    last_reporter_at: Mapped[datetime | None] = mapped_column(default=None)
    # Retention (services/retention.py): the case is deleted a category's number of days after
    # it was closed, unless a handler at level 2 or above holds it (a legal hold, with a short
    # reason in the clear: staff are told not to put case content in it).
    closed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    held_at: Mapped[datetime | None] = mapped_column(default=None)
    hold_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    retention_reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when the case was crypto-shredded: keys and ciphertexts are gone; the row keeps that a
    # report existed, its dates, category, channel and outcome.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set while a deletion's attachment files are being discarded (after the keys and
    # ciphertexts went); a worker killed meanwhile finishes it on its next pass.
    shredding_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class CaseKeyGrant(Base):
    """The case private key sealed to one handler's public key."""

    __tablename__ = "case_key_grants"
    __table_args__ = (Index("ix_case_key_grants_user_case", "user_id", "case_id"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sealed_case_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Integrity tag of the sealed key (see Case.public_key_tag).
    tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    granted_at: Mapped[datetime]
    # Whether this handler sees the originals of parts redacted before they were granted the
    # case (services/redaction.py). Grants from before redactions existed hold the originals.
    with_originals: Mapped[bool] = mapped_column(default=False, server_default=text("true"))


class CaseView(Base):
    """When one handler last opened one case's page: the inbox's "unread" mark compares it with
    the case's ``last_reporter_at``."""

    __tablename__ = "case_views"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_opened_at: Mapped[datetime]


class CaseOpening(Base):
    """A case already opened in one staff session: "case opened" is audited once per session
    per case, not on every page load. Rows go with their session."""

    __tablename__ = "case_openings"

    # StaffSession.id_hash (SHA-256 of the cookie's session id), never the id itself.
    session_id_hash: Mapped[bytes] = mapped_column(
        LargeBinary(32),
        ForeignKey("staff_sessions.id_hash", ondelete="CASCADE"),
        primary_key=True,
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CaseExclusion(Base):
    """A handler the reporter excluded: never sealed the case key, never shown the case."""

    __tablename__ = "case_exclusions"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class CaseRecusal(Base):
    """A handler who gave up access to a case; their key grant is gone and they are skipped."""

    __tablename__ = "case_recusals"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    recused_at: Mapped[datetime]


class Note(Base):
    """An internal entry that only handlers see, sealed to the case key."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_case_created", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sealed_body: Mapped[bytes] = mapped_column(LargeBinary)
    # Integrity tag of the sealed body, bound to the case, this entry and its author.
    tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    created_at: Mapped[datetime]


class Message(Base):
    """One entry of the thread between the reporter and the handlers."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_case_created", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_kind: Mapped[AuthorKind] = mapped_column(_enum(AuthorKind, "author_kind"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    sealed_body: Mapped[bytes] = mapped_column(LargeBinary)
    # Integrity tag of the sealed body, bound to the case, this entry and its author.
    tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    created_at: Mapped[datetime]
    # What the message is (acknowledgement, feedback, decision, ...; see messaging.MESSAGE_KINDS):
    # a plain string rather than a checked enum, so a new kind needs no migration. None on rows
    # written before it was kept and not derivable from the case's events.
    kind: Mapped[str | None] = mapped_column(String(24), default=None)


class Attachment(Base):
    """An encrypted file. Its name, type, size and file key are sealed to the case key."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # None for files sent with the report itself.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), default=None, index=True
    )
    author_kind: Mapped[AuthorKind] = mapped_column(_enum(AuthorKind, "author_kind"))
    sealed_meta: Mapped[bytes] = mapped_column(LargeBinary)
    # Integrity tag of the sealed metadata, bound to the case, this file, its message and author.
    tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    created_at: Mapped[datetime]


class CaseEvent(Base):
    """A typed event on a case, which the clock reads to start and stop deadlines."""

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case_kind", "case_id", "kind"),
        # The statistics page: a case's first event of a kind, from the index alone.
        Index("ix_case_events_case_kind_at", "case_id", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "event_kind"))
    occurred_at: Mapped[datetime]


class SiteText(Base):
    """Staff-edited text (sanitised HTML), such as other ways to report."""

    __tablename__ = "site_texts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    html: Mapped[str]
    updated_at: Mapped[datetime]


class ReporterSession(Base):
    """A reporter's signed-in session. The case key is here only wrapped under a key that lives
    in the reporter's cookie, so neither the database nor the cookie alone opens the case."""

    __tablename__ = "reporter_sessions"

    # SHA-256 of the random session id in the cookie.
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    wrapped_case_key: Mapped[bytes] = mapped_column(LargeBinary)
    # What the visit record said at sign-in (services/reporting/visits.py), wrapped under the
    # cookie's key like the case key, so the case page shows it for the whole visit.
    wrapped_visits: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
    # The proofs of the messages sent in this session (services/reporting/proofs.py), wrapped
    # under the cookie's key like the case key: offered for download until the session ends.
    wrapped_proofs: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class ReceiptCodeDelay(Base):
    """Failed check-backs on one receipt code, and the earliest time of the next attempt.

    Keyed by HMAC(pepper, "delay" label, canonical code), never by the code, which is a locator:
    the table cannot be searched for a code without the pepper, and cannot be joined to the case
    it may belong to. A row exists for made-up codes too, so it does not tell that a case exists.
    """

    __tablename__ = "receipt_code_delays"

    key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failures: Mapped[int]
    # Attempts before this time are refused without any Argon2id work.
    not_before: Mapped[datetime | None]
    # Rows quiet for a day are forgotten (and deleted), so a flood of made-up codes cannot fill
    # the table.
    last_failure_at: Mapped[datetime] = mapped_column(index=True)


class PendingReceipt(Base):
    """The receipt of a just-filed report, kept until the reporter confirms they saved it.

    Wrapped under a key derived from the intake form's one-time token, which only the reporter's
    browser holds: a second post of the same form shows the same receipt again instead of opening
    a second case, and the database alone cannot reveal it.
    """

    __tablename__ = "pending_receipts"

    submission_lookup: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    wrapped_receipt: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)


class StaffDraft(Base):
    """A handler's reply or note that arrived after the staff session had ended.

    Sealed to the case public key (which the server holds), so the server can keep it without
    being able to read it; the handler's browser holds the token that finds it again, and the
    case key that opens it comes only with the next sign-in.
    """

    __tablename__ = "staff_drafts"

    # SHA-256 of the random token kept in the handler's cookie.
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # "reply" or "note": which form on the case page gets the text back.
    kind: Mapped[str] = mapped_column(String(16))
    sealed_body: Mapped[bytes] = mapped_column(LargeBinary)
    # Integrity tag over the sealed body, its place and its kind (see services/integrity.py).
    tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    created_at: Mapped[datetime] = mapped_column(index=True)
