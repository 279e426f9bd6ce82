"""Staff accounts: creation with a key pair, a recovery key and a second factor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import Role, User
from portal.services.errors import AlreadyExistsError, InvalidInputError

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "Candor"


@dataclass(frozen=True)
class NewAccount:
    """What the person creating an account must see once and never again."""

    user: User
    recovery_key: str
    totp_uri: str
    totp_secret: str


def private_key_context(username: str) -> bytes:
    """Associated data binding a wrapped private key to its account."""
    return f"candor:user:{username}:private-key".encode()


def totp_context(username: str) -> bytes:
    return f"candor:user:{username}:totp-secret".encode()


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    level: int,
    profile: crypto.Argon2Profile,
    now: datetime,
    issuer: str = TOTP_ISSUER,
) -> NewAccount:
    """Create a staff account with a fresh X25519 key pair.

    The private key leaves this function only wrapped (under the password through one Argon2id run,
    and under a random recovery key); the TOTP secret is wrapped under the password-derived key.
    Commits once.
    """
    username = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInputError(
            "Username: use 2 to 64 lower-case letters, digits, dots, dashes or underscores."
        )
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInputError("Display name: must not be empty.")
    if level not in (1, 2, 3):
        raise InvalidInputError("Level: must be 1 (handler), 2 (supervisor) or 3 (executive).")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"Password: use at least {MIN_PASSWORD_LENGTH} characters.")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AlreadyExistsError(f"Username {username!r} is taken.")

    keypair = crypto.generate_keypair()
    wrapped, verifier = crypto.wrap_with_secret(
        keypair.private_key, password, private_key_context(username), profile
    )
    keys = crypto.derive_for_blob(wrapped, password)
    recovery_text, recovery_bytes = crypto.generate_recovery_key()
    totp_secret = pyotp.random_base32()
    user = User(
        username=username,
        display_name=display_name,
        is_handler=role is Role.HANDLER,
        is_admin=role is Role.ADMIN,
        level=level,
        public_key=keypair.public_key,
        password_wrapped_key=wrapped,
        password_verifier=verifier,
        recovery_wrapped_key=crypto.wrap_with_key(
            keypair.private_key, recovery_bytes, private_key_context(username)
        ),
        totp_wrapped_secret=crypto.wrap_with_key(
            totp_secret.encode(), keys.wrapping_key, totp_context(username)
        ),
        created_at=now,
    )
    session.add(user)
    session.commit()
    uri = pyotp.TOTP(totp_secret).provisioning_uri(name=username, issuer_name=issuer)
    return NewAccount(user=user, recovery_key=recovery_text, totp_uri=uri, totp_secret=totp_secret)
