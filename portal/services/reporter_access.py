"""A reporter's way back in: receipt code and passphrase, and nothing else."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from portal.models import Case, ReporterSession
from portal.services import contexts, integrity, tokens
from portal.services.errors import ServiceError

COOKIE_KEY_SIZE = 32


class AccessDeniedError(ServiceError):
    """The receipt code and passphrase do not open a case. Deliberately says no more."""


class SessionExpiredError(ServiceError):
    """The reporter's session ended (idle too long, or signed out)."""


@dataclass(frozen=True)
class ReporterLogin:
    """What the reporter's cookie holds: the session id and the key that unwraps the case key."""

    token: str
    cookie_key: bytes


@dataclass(frozen=True)
class ReporterContext:
    """A signed-in reporter: their case and its private key, for this request only."""

    case: Case
    case_private_key: bytes


def sign_in(
    session: Session,
    receipt_code: str,
    passphrase: str,
    *,
    pepper: bytes,
    profile: crypto.Argon2Profile,
    now: datetime,
    idle: timedelta,
) -> ReporterLogin:
    """Open the case for the reporter, or raise AccessDeniedError without saying which part failed.

    An unknown or mistyped receipt code costs one Argon2id run too, so timing does not tell
    whether a case exists. The case key leaves only wrapped under a key for the reporter's cookie.
    Commits once.
    """
    case = None
    try:
        code = crypto.normalize_receipt_code(receipt_code)
    except crypto.InvalidReceiptCodeError:
        code = None
    if code is not None:
        lookup = crypto.lookup_hmac(pepper, code)
        case = session.scalar(select(Case).where(Case.receipt_lookup == lookup))
    normalized = crypto.normalize_passphrase(passphrase)
    if case is None:
        with contextlib.suppress(crypto.DecryptionError):
            crypto.unwrap_with_secret(tokens.decoy_blob(profile), normalized, b"decoy")
        raise AccessDeniedError("That receipt code and passphrase do not match a report.")
    integrity.check_reporter_key(session, case)
    try:
        case_private_key = crypto.unwrap_with_secret(
            case.reporter_wrapped_key, normalized, contexts.reporter_key(case.uid)
        )
    except crypto.DecryptionError:
        raise AccessDeniedError("That receipt code and passphrase do not match a report.") from None
    # Sessions left behind by closed browsers go as soon as anyone signs in.
    session.execute(delete(ReporterSession).where(ReporterSession.last_seen_at < now - idle))
    token = secrets.token_urlsafe(32)
    cookie_key = secrets.token_bytes(COOKIE_KEY_SIZE)
    session.add(
        ReporterSession(
            id_hash=tokens.token_hash(token),
            case_id=case.id,
            wrapped_case_key=crypto.wrap_with_key(
                case_private_key, cookie_key, contexts.reporter_session(case.uid)
            ),
            last_seen_at=now,
        )
    )
    session.commit()
    return ReporterLogin(token=token, cookie_key=cookie_key)


def resume(
    session: Session, login: ReporterLogin, *, now: datetime, idle: timedelta
) -> ReporterContext:
    """The signed-in reporter for this request; raises SessionExpiredError after ``idle``.

    Commits the new last-seen time.
    """
    row = session.get(ReporterSession, tokens.token_hash(login.token))
    if row is None:
        raise SessionExpiredError("Your session has ended.")
    if now - row.last_seen_at > idle:
        session.delete(row)
        session.commit()
        raise SessionExpiredError("Your session ended after a period of inactivity.")
    case = session.get_one(Case, row.case_id)
    try:
        key = crypto.unwrap_with_key(
            row.wrapped_case_key, login.cookie_key, contexts.reporter_session(case.uid)
        )
    except crypto.DecryptionError:
        raise SessionExpiredError("Your session has ended.") from None
    row.last_seen_at = now
    session.commit()
    return ReporterContext(case=case, case_private_key=key)


def sign_out(session: Session, token: str) -> None:
    """End the session; the wrapped case key is deleted with it. Commits once."""
    session.execute(
        delete(ReporterSession).where(ReporterSession.id_hash == tokens.token_hash(token))
    )
    session.commit()
