from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class ResponseTemplate(Base):
    """An admin's own text for one kind of message to the reporter in one language, in place of
    the shipped default. Organisation-written boilerplate with ``{placeholders}``, never case
    content: kept in the clear (docs/threat-model.md)."""

    __tablename__ = "response_templates"
    __table_args__ = (
        UniqueConstraint("kind", "language", name="uq_response_templates_kind_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
