from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class CaseFollowUp(Base):
    """A follow-up action of the case's policy, recorded as done by a handler (seeds/002: after
    an upheld complaint, "identify any other member who has been affected", ...).

    Only which action, when and by whom: what was done is written in a sealed note.
    """

    __tablename__ = "case_follow_ups"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    policy: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    done_at: Mapped[datetime]
    done_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
