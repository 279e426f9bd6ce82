"""Typed SQLAlchemy models: tables and columns only, no queries, no crypto, no Flask."""

from portal.models.base import Base
from portal.models.cases import (
    Attachment,
    AuthorKind,
    Case,
    CaseEvent,
    CaseExclusion,
    CaseKeyGrant,
    CaseStatus,
    EventKind,
    Message,
    PendingReceipt,
    ReporterSession,
    SiteText,
)
from portal.models.users import Role, User

__all__ = [
    "Attachment",
    "AuthorKind",
    "Base",
    "Case",
    "CaseEvent",
    "CaseExclusion",
    "CaseKeyGrant",
    "CaseStatus",
    "EventKind",
    "Message",
    "PendingReceipt",
    "ReporterSession",
    "Role",
    "SiteText",
    "User",
]
