"""Key escrow: the escrow public key, its escrow custodians' shares, the case keys sealed to it,
and the requests that M escrow custodians approve before the escrow private key is rebuilt."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base
from portal.models.cases import _enum


class Escrow(Base):
    """The escrow key pair's public half; its private half exists only as shares.

    One row at most. The public key is tagged with the integrity key (bound to this row), so a
    database writer cannot put a key of their own here and read every case sealed to it next.
    """

    __tablename__ = "escrows"
    __table_args__ = (CheckConstraint("threshold >= 2", name="threshold_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    public_key_tag: Mapped[bytes] = mapped_column(LargeBinary(32))
    # M: how many escrow custodians must approve before the private key is rebuilt.
    threshold: Mapped[int]
    # Goes up by one at each re-split; the shares of an earlier generation are deleted.
    generation: Mapped[int] = mapped_column(default=1)
    # The current split's SLIP-39 identifier (printed in every share's first words): a share of
    # an earlier split is refused with a clear message instead of failing to combine.
    split_id: Mapped[int]
    created_at: Mapped[datetime]


class EscrowCustodian(Base):
    """One escrow custodian of the current generation: a staff account holding its share sealed
    to that account's public key, or a person holding their share on paper (a name only)."""

    __tablename__ = "escrow_custodians"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (paper_name IS NULL)", name="staff_or_paper"),
        UniqueConstraint("escrow_id", "share_index", name="uq_escrow_custodians_share"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    escrow_id: Mapped[int] = mapped_column(ForeignKey("escrows.id", ondelete="CASCADE"))
    generation: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    paper_name: Mapped[str | None] = mapped_column(String(128), default=None)
    # The member index in the share's header (not secret): ties a typed paper share to its holder.
    share_index: Mapped[int]
    # The share's words sealed to the staff account's public key; None for paper custodians.
    sealed_share: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    share_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    added_at: Mapped[datetime]


class CaseEscrowKey(Base):
    """The case private key sealed to the escrow public key."""

    __tablename__ = "case_escrow_keys"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    escrow_id: Mapped[int] = mapped_column(
        ForeignKey("escrows.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sealed_case_key: Mapped[bytes] = mapped_column(LargeBinary)
    tag: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed_at: Mapped[datetime]


class EscrowRequestKind(enum.Enum):
    # Grant chosen cases to a chosen handler.
    RECOVERY = "recovery"
    # Re-split the same key to another set of escrow custodians or another threshold.
    CHANGE = "change"


class EscrowRequestState(enum.Enum):
    PENDING = "pending"
    DONE = "done"
    # Too many escrow custodians refused for M approvals to be possible.
    REFUSED = "refused"
    # The escrow custodians changed before it was done, or the requester withdrew it.
    CANCELLED = "cancelled"


class EscrowRequest(Base):
    """A request that M escrow custodians approve; each approval brings a share, sealed to the
    request's ephemeral public key, whose private key only the request's key holders can open."""

    __tablename__ = "escrow_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    escrow_id: Mapped[int] = mapped_column(ForeignKey("escrows.id", ondelete="CASCADE"))
    generation: Mapped[int]
    kind: Mapped[EscrowRequestKind] = mapped_column(_enum(EscrowRequestKind, "escrow_request_kind"))
    state: Mapped[EscrowRequestState] = mapped_column(
        _enum(EscrowRequestState, "escrow_request_state"), index=True
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(1000))
    # A recovery: who receives the cases, and which (case ids).
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    case_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # A change: the new threshold and escrow custodians ({"user_id": 3} or {"paper_name": "..."}).
    new_threshold: Mapped[int | None] = mapped_column(default=None)
    new_custodians: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    ephemeral_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    ephemeral_public_key_tag: Mapped[bytes] = mapped_column(LargeBinary(32))
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class EscrowRequestKey(Base):
    """The request's ephemeral private key sealed to one staff account that may complete it
    (each staff escrow custodian, and the requester). Deleted when the request closes."""

    __tablename__ = "escrow_request_keys"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("escrow_requests.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    tag: Mapped[bytes] = mapped_column(LargeBinary(32))


class EscrowApproval(Base):
    """One escrow custodian's answer to a request. An approval holds their share sealed to the
    request's ephemeral key until the request closes; then the share is deleted."""

    __tablename__ = "escrow_approvals"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("escrow_requests.id", ondelete="CASCADE"), primary_key=True
    )
    custodian_id: Mapped[int] = mapped_column(
        ForeignKey("escrow_custodians.id", ondelete="CASCADE"), primary_key=True
    )
    approved: Mapped[bool]
    # The staff member whose session gave the answer (for a paper share: who typed it in).
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sealed_share: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    share_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    decided_at: Mapped[datetime]
