from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base
from portal.models.cases import _enum


class RecipientChangeState(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    # A later edit of the same account asked for something else; this one was never decided.
    WITHDRAWN = "withdrawn"


class RecipientChange(Base):
    """A change that would make an account receive reports it does not receive today.

    The account's own columns keep the approved state, which is all that intake, escalation and
    grants read; this row holds what was asked for until a second person decides. Rows stay after
    the decision, so the history of who asked and who decided survives beside the audit trail.
    """

    __tablename__ = "recipient_changes"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    # What the account is to become once approved.
    is_handler: Mapped[bool]
    level: Mapped[int]
    # Category keys; empty means every category, as for the account itself.
    categories: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[RecipientChangeState] = mapped_column(
        _enum(RecipientChangeState, "recipient_change_state")
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
