from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class SiteSetting(Base):
    """One section of the site's settings as an admin saved it (JSON), overriding the
    configuration's; no row, or a null value, means the configuration's defaults."""

    __tablename__ = "site_settings"

    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text, default=None)
    # Read as a whole (the newest) by every instance to tell whether its cache is stale.
    updated_at: Mapped[datetime] = mapped_column(index=True)
