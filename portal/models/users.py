from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class Role(enum.Enum):
    HANDLER = "handler"
    ADMIN = "admin"


class User(Base):
    """A staff account: a handler (with a key pair) or an admin.

    The private key is stored only wrapped: once under the password (Argon2id), once under the
    recovery key. The TOTP secret is wrapped under the password-derived key too, so a copy of the
    database yields neither the second factor nor any case.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    # The role shown to reporters beside the display name, e.g. "Compliance officer".
    title: Mapped[str] = mapped_column(String(128), default="Case handler")
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            values_callable=lambda e: [m.value for m in e],
            name="role",
            length=16,
            # A check constraint rather than a PostgreSQL type: new values need no type migration.
            native_enum=False,
            create_constraint=True,
        )
    )
    # Escalation level: 1 handler, 2 supervisor, 3 executive or committee.
    level: Mapped[int] = mapped_column(default=1)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    password_wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    password_verifier: Mapped[bytes] = mapped_column(LargeBinary(32))
    recovery_wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    totp_wrapped_secret: Mapped[bytes] = mapped_column(LargeBinary)
    # The last accepted TOTP time step, so a code is refused the second time it is used.
    totp_last_step: Mapped[int | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
