"""Redactions: parts of a case masked for colleagues granted it later, for exports and
statistics (services/redaction.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class Redaction(Base):
    """One redaction of one item of a case. What is masked and why are sealed to the case key:
    the masked words are case content. The clear columns say only which item, who and when."""

    __tablename__ = "redactions"
    __table_args__ = (Index("ix_redactions_case", "case_id", "made_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, so that URLs and associated data never reveal how many redactions exist.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    # "report" (item_uid: the answer's position), "message", "note" or "attachment" (its uid).
    item_kind: Mapped[str] = mapped_column(String(16))
    item_uid: Mapped[str] = mapped_column(String(32))
    made_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[datetime]
    # JSON {"phrases": [...], "reason": "..."} sealed to the case public key; its integrity tag
    # binds it to this row, the item and who made it.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    # The reason for removing it, sealed like the reason for making it.
    sealed_removal: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    removal_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
