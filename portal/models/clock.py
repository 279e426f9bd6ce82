from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base
from portal.models.cases import _enum


class DeadlineState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


class Deadline(Base):
    """One running instance of a policy's clock on one case.

    ``next_action_at`` is the next time the worker has something to do (a warning, the due time,
    an escalation step); it is None once nothing is left, so a pass reads only what is due.
    ``steps_done`` counts the scheduled actions already taken: the worker advances it under a
    lock held until its transaction commits, so an action happens once however many workers run.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("case_id", "policy", "clock", name="uq_deadlines_case_policy_clock"),
        Index("ix_deadlines_next_action_at", "next_action_at"),
        # The statistics page: deadlines due in a period, by clock and state, from the index.
        Index("ix_deadlines_due_stats", "due_at", "state", "policy", "clock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Looked up by the unique index on (case_id, policy, clock), whose leading column it is.
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    policy: Mapped[str] = mapped_column(String(64))
    clock: Mapped[str] = mapped_column(String(64))
    state: Mapped[DeadlineState] = mapped_column(_enum(DeadlineState, "deadline_state"))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    # Seconds spent paused so far, counted as the clock counts time (a working-day clock counts
    # only working days), against the clock's cap.
    paused_seconds: Mapped[int] = mapped_column(default=0)
    extensions: Mapped[int] = mapped_column(default=0)
    # The escalation level this deadline has driven the case to.
    level_reached: Mapped[int] = mapped_column(default=1)
    steps_done: Mapped[int] = mapped_column(default=0)
    next_action_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def name(self) -> str:
        """How the audit trail names it: the policy and the clock ("eu-directive/acknowledge")."""
        return f"{self.policy}/{self.clock}"


class OutboxState(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """A notification written in the same transaction as the event that caused it.

    Never holds case content: a case reference and a link, nothing a reporter wrote.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next_attempt", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState, "outbox_state"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class DigestKind(enum.Enum):
    """What a digest entry tells: a new report, a reporter's message, an appeal."""

    REPORT = "report"
    MESSAGE = "message"
    APPEAL = "appeal"


class DigestEntry(Base):
    """An event on a case kept for a handler's next daily digest (they chose the digest).

    Only the case and the kind of event, never content; the digest that lists it deletes it in
    the same transaction, so an entry is told exactly once and nothing is lost before then.
    """

    __tablename__ = "digest_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DigestKind] = mapped_column(_enum(DigestKind, "digest_kind"))
    created_at: Mapped[datetime]


class CategoryPolicy(Base):
    """One of the policies an admin chose for a category, over the configuration's default.

    A category with rows here runs all of them on its new cases; ``position`` keeps the order
    they are shown in.
    """

    __tablename__ = "category_policies"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class HolidaySettings(Base):
    """The admin's choice of public holidays for working-day deadlines (one row, id 1).

    Without a row the configuration's ``[clock] country`` and ``subdivision`` apply.
    ``closing_days`` lists the organisation's own closing days, ISO dates one per line.
    """

    __tablename__ = "holiday_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(8))
    subdivision: Mapped[str] = mapped_column(String(16), default="")
    closing_days: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]


class PolicyReview(Base):
    """When a policy was last reviewed and by whom, one row per policy name.

    ``counted_from`` is when the site first used the policy (the first clock pass that found a
    category running it), so a policy never reviewed is due one interval after that.
    ``reminded_due_at`` is the due date the admins were last reminded of: the reminder for a due
    date goes out once, however many passes or workers see it.
    """

    __tablename__ = "policy_reviews"

    policy: Mapped[str] = mapped_column(String(64), primary_key=True)
    counted_from: Mapped[datetime]
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reminded_due_at: Mapped[datetime | None] = mapped_column(default=None)


class PolicyVersion(Base):
    """One version of a policy an organisation made from a preset, as its text (TOML, read by
    the same parser as the presets). Versions are never changed: an edit adds the next one, so a
    deadline that started under a version keeps its rules, and ``(name, version)`` is a safe
    cache key in every process.
    """

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_policy_versions_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(48))
    version: Mapped[int]
    content: Mapped[str] = mapped_column(Text)
    # The preset the policy was first made from.
    based_on: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # What the admin said changed (or "Created from ..." for the first version).
    note: Mapped[str] = mapped_column(String(500))
