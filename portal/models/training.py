from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base

# Who a requirement applies to. "handlers" is narrowed by min_level (1: every handler).
AUDIENCES = ("handlers", "admins", "custodians", "analysts", "staff")


class TrainingRequirement(Base):
    """A training that staff must have completed (seeds/002: "appropriate level of training and
    competence"; seeds/003: "Training requirements"), defined by an admin.

    Retired rather than deleted, so that the completions recorded against it keep their name.
    """

    __tablename__ = "training_requirements"
    __table_args__ = (
        CheckConstraint(
            "audience IN ('handlers', 'admins', 'custodians', 'analysts', 'staff')",
            name="audience_kind",
        ),
        CheckConstraint("min_level BETWEEN 1 AND 3", name="min_level_range"),
        CheckConstraint(
            "valid_months IS NULL OR valid_months BETWEEN 1 AND 600", name="valid_months_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(16))
    # For the audience "handlers": the lowest escalation level it applies to.
    min_level: Mapped[int] = mapped_column(default=1)
    # How long a completion counts, in calendar months; None: it never expires.
    valid_months: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class TrainingCompletion(Base):
    """One staff member's completion of a required training, on a day, as an admin recorded it."""

    __tablename__ = "training_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("training_requirements.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    completed_on: Mapped[date]
    # The admin's optional note (the provider, a certificate number); never case content.
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
