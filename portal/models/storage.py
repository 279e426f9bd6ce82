"""The shared attachment store's table (used when ``storage.backend = "database"``)."""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class AttachmentChunk(Base):
    """One piece of an attachment's encrypted stream: ciphertext only, keyed by the attachment's
    uid and the piece's position. No foreign key: a file is written while its upload arrives,
    before the case (and its attachment row) exists."""

    __tablename__ = "attachment_chunks"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # True until the case that names the file is committed; an old pending file is an upload
    # that no case took.
    pending: Mapped[bool] = mapped_column(default=True)
