from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class CompanySecretary(Base):
    """The staff account an admin made Company Secretary (one row, id 1; none: no secretary).

    seeds/002, line 80: "If you disagree with the decision the first point of contact is the
    Company Secretary." Without a row an appeal goes straight to the committee.
    """

    __tablename__ = "company_secretary"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime]


class CommitteeMeeting(Base):
    """One date of the committee's meetings, as an admin set the schedule (seeds/002, line 82:
    "Held bi-monthly throughout the calendar year"). An appeal before the committee is due at the
    first meeting after it reached the committee."""

    __tablename__ = "committee_meetings"

    day: Mapped[date] = mapped_column(primary_key=True)
    added_at: Mapped[datetime]


class CommitteeVote(Base):
    """One committee member's vote on a case's appeal: "uphold" or "dismiss".

    Changeable until the committee's decision is recorded; every change is audited.
    """

    __tablename__ = "committee_votes"
    __table_args__ = (CheckConstraint("vote IN ('uphold', 'dismiss')", name="vote_kind"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    vote: Mapped[str] = mapped_column(String(16))
    voted_at: Mapped[datetime]


class CommitteeDecision(Base):
    """The committee's recorded decision on a case's appeal: the outcome and the count it
    rested on (seeds/002, line 82: "The final decision will sit with a majority vote of the
    committee")."""

    __tablename__ = "committee_decisions"
    __table_args__ = (CheckConstraint("outcome IN ('uphold', 'dismiss')", name="outcome_kind"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    upheld: Mapped[int]
    dismissed: Mapped[int]
    members: Mapped[int]
    decided_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
