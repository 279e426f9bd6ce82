from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base
from portal.models.cases import _enum

# The width of the reasons' columns; the forms say the same.
MAX_REASON_LENGTH = 500


class IdentityRequestState(enum.Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"
    # An approval a custodian took back; the handler must ask again.
    REVOKED = "revoked"
    # An approval that ended when the case was closed.
    ENDED = "ended"


class IdentityRequest(Base):
    """A handler's request to see a confidential reporter's identity, and a custodian's answer.

    With at least one active custodian, a handler opens the identity only under an approved
    request for that case, made by that handler. The reasons are staff-written and kept in the
    clear, because the custodian holds no case key and must read them: the forms ask for the
    need (a witness interview, a referral to the police), never the report's content.
    """

    __tablename__ = "identity_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    handler_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(MAX_REASON_LENGTH))
    state: Mapped[IdentityRequestState] = mapped_column(
        _enum(IdentityRequestState, "identity_request_state"), index=True
    )
    requested_at: Mapped[datetime]
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    custodian_reason: Mapped[str | None] = mapped_column(String(MAX_REASON_LENGTH), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # Who took an approval back (a custodian; nobody when the case was closed), why and when.
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    ended_reason: Mapped[str | None] = mapped_column(String(MAX_REASON_LENGTH), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
