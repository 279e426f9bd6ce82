"""Small factories for test data, built through the services."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy.orm import Session

import crypto
from portal.models import Role, User
from portal.services import accounts

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def make_handler(
    db: Session, username: str, *, level: int = 1, title: str = "Compliance officer"
) -> User:
    account = accounts.create_user(
        db,
        username=username,
        display_name=username.title(),
        role=Role.HANDLER,
        password=PASSWORD,
        level=level,
        profile=crypto.TEST,
        now=NOW,
    )
    account.user.title = title
    db.commit()
    return account.user


def handler_private_key(user: User) -> bytes:
    return crypto.unwrap_with_secret(
        user.password_wrapped_key, PASSWORD, accounts.private_key_context(user.username)
    )


def file_bytes(name: str, data: bytes) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name
