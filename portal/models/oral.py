"""Minutes of oral reports and links between cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base
from portal.models.cases import AuthorKind, _enum


class MinutesVersion(Base):
    """A later version of an oral report's minutes: the reporter's correction or the handler's
    revision, sealed to the case key. The first version is the report itself."""

    __tablename__ = "minutes_versions"
    __table_args__ = (Index("ix_minutes_versions_case_created", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_kind: Mapped[AuthorKind] = mapped_column(_enum(AuthorKind, "author_kind"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    sealed_text: Mapped[bytes] = mapped_column(LargeBinary)
    # Integrity tag of the sealed text, bound to the case, this version and its author.
    tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    created_at: Mapped[datetime]


class CaseLink(Base):
    """Two cases about the same matter. Stored once per pair, the lower id first."""

    __tablename__ = "case_links"
    __table_args__ = (CheckConstraint("case_id < other_id", name="ordered"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    other_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]
