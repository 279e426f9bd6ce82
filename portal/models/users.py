from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class Role(enum.Enum):
    """What an account is created as; an admin may also be made a handler.

    A custodian (who approves handlers' requests to see a confidential reporter's identity) and
    an analyst (who sees the statistics) are neither handler nor admin, and never hold a case key.
    """

    HANDLER = "handler"
    ADMIN = "admin"
    CUSTODIAN = "custodian"
    ANALYST = "analyst"


class User(Base):
    """A staff account: a handler, an admin, or both; or a custodian, or an analyst.

    The private key is stored only wrapped: once under the password (Argon2id), once under the
    recovery key. The TOTP secret is wrapped under the password-derived key too, so a copy of the
    database yields neither the second factor nor any case. Until the account is activated, the
    key columns are empty and only the hash of the one-time activation link is kept.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    # The role shown to reporters beside the display name, e.g. "Compliance officer".
    title: Mapped[str] = mapped_column(String(128), default="Case handler")
    is_handler: Mapped[bool] = mapped_column(default=False)
    # An admin who is not also a handler reads no case.
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Custodian of reporters' identities: decides handlers' requests to see one; reads no case.
    # A flag beside is_handler and is_admin (not a role column), so that every query that picks
    # recipients by is_handler leaves custodians and analysts out with no change.
    is_custodian: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Sees the statistics (figures of the whole organisation) and nothing of any case.
    is_analyst: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Escalation level: 1 handler, 2 supervisor, 3 executive or committee.
    level: Mapped[int] = mapped_column(default=1)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    # Integrity tag of the public key, bound to this account's id: a key a database writer puts
    # here is refused before anything is sealed to it.
    public_key_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    password_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    password_verifier: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    recovery_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # None after an admin resets the second factor: the one-time link then enrols a new one.
    totp_wrapped_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # The last accepted TOTP time step, so a code is refused the second time it is used.
    totp_last_step: Mapped[int | None] = mapped_column(default=None)
    # SHA-256 of the one-time link's token, while the account waits for it: the activation link
    # before the account has a password, the re-enrolment link after a second-factor reset.
    activation_lookup: Mapped[bytes | None] = mapped_column(
        LargeBinary(32), unique=True, default=None
    )
    activation_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(default=True)
    # Where notifications go (a case reference and a link, never content); optional.
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    # The handler's choice: a new report, a reporter's message or an appeal on their cases is
    # told at once (False) or listed in the daily digest (True). A tier 1 case is told at once
    # whatever the choice.
    notify_by_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]

    @property
    def role(self) -> Role:
        if self.is_custodian:
            return Role.CUSTODIAN
        if self.is_analyst:
            return Role.ANALYST
        return Role.ADMIN if self.is_admin else Role.HANDLER

    @property
    def activated(self) -> bool:
        return self.password_wrapped_key is not None


class UserCategory(Base):
    """A category whose new reports a handler receives."""

    __tablename__ = "user_categories"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(64), primary_key=True)


class StaffSession(Base):
    """A signed-in handler or admin. The private key is here only wrapped under a key that lives
    in the cookie; the database never holds it in a usable form."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    # False until a new second factor is confirmed (at activation, or after an admin reset it).
    second_factor_done: Mapped[bool] = mapped_column(default=True)
    # The TOTP secret being enrolled (with the recovery key to show again, after activation),
    # wrapped under the cookie key, until its first code is shown.
    pending_totp_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
