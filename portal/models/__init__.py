"""Typed SQLAlchemy models: tables and columns only, no queries, no crypto, no Flask."""

from portal.models.approvals import RecipientChange, RecipientChangeState
from portal.models.audit import AuditEntry, AuditHead
from portal.models.base import Base
from portal.models.cases import (
    Attachment,
    AuthorKind,
    Case,
    CaseEvent,
    CaseExclusion,
    CaseKeyGrant,
    CaseOpening,
    CaseRecusal,
    CaseStatus,
    CaseView,
    EventKind,
    Message,
    Note,
    PendingReceipt,
    ReceiptCodeDelay,
    ReporterSession,
    SiteText,
    StaffDraft,
)
from portal.models.clock import (
    CategoryPolicy,
    Deadline,
    DeadlineState,
    DigestEntry,
    DigestKind,
    HolidaySettings,
    OutboxMessage,
    OutboxState,
    PolicyReview,
    PolicyVersion,
)
from portal.models.committee import (
    CommitteeDecision,
    CommitteeMeeting,
    CommitteeVote,
    CompanySecretary,
)
from portal.models.escrow import (
    CaseEscrowKey,
    Escrow,
    EscrowApproval,
    EscrowCustodian,
    EscrowRequest,
    EscrowRequestKey,
    EscrowRequestKind,
    EscrowRequestState,
)
from portal.models.follow_ups import CaseFollowUp
from portal.models.identity import IdentityRequest, IdentityRequestState
from portal.models.oral import CaseLink, MinutesVersion
from portal.models.redactions import Redaction
from portal.models.responses import ResponseTemplate
from portal.models.site import SiteSetting
from portal.models.storage import AttachmentChunk
from portal.models.training import TrainingCompletion, TrainingRequirement
from portal.models.users import Role, StaffSession, User, UserCategory

__all__ = [
    "Attachment",
    "AttachmentChunk",
    "AuditEntry",
    "AuditHead",
    "AuthorKind",
    "Base",
    "Case",
    "CaseEscrowKey",
    "CaseEvent",
    "CaseExclusion",
    "CaseFollowUp",
    "CaseKeyGrant",
    "CaseLink",
    "CaseOpening",
    "CaseRecusal",
    "CaseStatus",
    "CaseView",
    "CategoryPolicy",
    "CommitteeDecision",
    "CommitteeMeeting",
    "CommitteeVote",
    "CompanySecretary",
    "Deadline",
    "DeadlineState",
    "DigestEntry",
    "DigestKind",
    "Escrow",
    "EscrowApproval",
    "EscrowCustodian",
    "EscrowRequest",
    "EscrowRequestKey",
    "EscrowRequestKind",
    "EscrowRequestState",
    "EventKind",
    "HolidaySettings",
    "IdentityRequest",
    "IdentityRequestState",
    "Message",
    "MinutesVersion",
    "Note",
    "OutboxMessage",
    "OutboxState",
    "PendingReceipt",
    "PolicyReview",
    "PolicyVersion",
    "ReceiptCodeDelay",
    "RecipientChange",
    "RecipientChangeState",
    "Redaction",
    "ReporterSession",
    "ResponseTemplate",
    "Role",
    "SiteSetting",
    "SiteText",
    "StaffDraft",
    "StaffSession",
    "TrainingCompletion",
    "TrainingRequirement",
    "User",
    "UserCategory",
]
