"""A reporter's way back in: receipt code and passphrase, and nothing else."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from portal.argon2_gate import UNGATED, Argon2Gate
from portal.i18n import N_, _
from portal.models import Case, ReporterSession
from portal.services import contexts, integrity, receipt_delays, tokens
from portal.services.errors import ServiceError
from portal.services.lengths import (
    MAX_PASSPHRASE_LENGTH,
    MAX_RECEIPT_CODE_LENGTH,
    check_lengths,
)
from portal.services.receipt_delays import DelayPolicy
from portal.services.reporting import visits
from portal.services.reporting.visits import VisitFacts

COOKIE_KEY_SIZE = 32
# Also what a deleted case's code gets: whether a case ever existed is not told.
NO_MATCH = N_(
    "That receipt code and passphrase do not match a report. A case may also have been deleted "
    "once the time it is kept after closing had run out."
)


class AccessDeniedError(ServiceError):
    """The receipt code and passphrase do not open a case. Deliberately says no more.

    ``retry_at`` is set when this failure started (or lengthened) a delay on the code: the same
    happens for a made-up code, so it tells nothing about whether a case exists.
    """

    def __init__(self, message: str | None = None, retry_at: datetime | None = None) -> None:
        super().__init__(_(NO_MATCH) if message is None else message)
        self.retry_at = retry_at


class TooManyAttemptsError(ServiceError):
    """An attempt on a receipt code before its delay ran out; no Argon2id work was done."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(_("Too many attempts for this receipt code."))
        self.retry_at = retry_at


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
    # What the record of visits said at sign-in (None for a session from before it was kept).
    visits: VisitFacts | None = None


def sign_in(
    session: Session,
    receipt_code: str,
    passphrase: str,
    *,
    pepper: bytes,
    profile: crypto.Argon2Profile,
    now: datetime,
    idle: timedelta,
    delays: DelayPolicy = DelayPolicy(),  # noqa: B008  (frozen, so one shared default is safe)
    gate: Argon2Gate = UNGATED,
    language: str | None = None,
) -> ReporterLogin:
    """Open the case for the reporter, or raise AccessDeniedError without saying which part failed.

    Overlong input is refused (InvalidInputError) and a code whose check digit fails is refused
    before any Argon2id work: the check digit is public, so answering at once tells nothing. A
    well-formed code, known or not, costs one Argon2id run (an unknown one against a decoy), so
    timing does not tell whether a case exists, and counts towards the code's delay; while the
    delay runs, TooManyAttemptsError is raised without any Argon2id work. The run waits for a
    slot of ``gate`` (Argon2BusyError if none frees; nothing is recorded then). The case key
    leaves only wrapped under a key for the reporter's cookie. The same Argon2id run opens the
    reporter's record of visits: what it said is kept with the session (wrapped like the case
    key), and this visit is added to it (services/reporting/visits.py). ``language``, the
    page's, becomes the case's: what the site writes to the reporter from then on is in it.
    Commits once.
    """
    check_lengths(
        ("receipt code", receipt_code, MAX_RECEIPT_CODE_LENGTH),
        ("passphrase", passphrase, MAX_PASSPHRASE_LENGTH),
    )
    try:
        code = crypto.normalize_receipt_code(receipt_code)
    except crypto.InvalidReceiptCodeError:
        raise AccessDeniedError() from None
    delay_key = crypto.receipt_delay_key(pepper, code)
    waiting_until = receipt_delays.retry_at(session, delay_key, now)
    if waiting_until is not None:
        raise TooManyAttemptsError(waiting_until)
    lookup = crypto.lookup_hmac(pepper, code)
    case = session.scalar(select(Case).where(Case.receipt_lookup == lookup))
    normalized = crypto.normalize_passphrase(passphrase)
    if case is not None:
        integrity.check_reporter_key(session, case)
    case_private_key = keys = None
    with gate.slot():
        if case is None:
            with contextlib.suppress(crypto.DecryptionError):
                crypto.unwrap_with_secret(tokens.decoy_blob(profile), normalized, b"decoy")
        else:
            with contextlib.suppress(crypto.DecryptionError):
                # One Argon2id run gives both the key that unwraps the case key and the one
                # that opens the record of visits.
                keys = crypto.derive_for_blob(case.reporter_wrapped_key, normalized)
                case_private_key = crypto.unwrap_with_keys(
                    case.reporter_wrapped_key, keys, contexts.reporter_key(case.uid)
                )
    if case is None or case_private_key is None or keys is None:
        retry = receipt_delays.record_failure(session, delay_key, now, delays)
        session.commit()
        raise AccessDeniedError(retry_at=retry)
    receipt_delays.clear(session, delay_key)
    if language is not None:
        case.language = language
    # Sessions left behind by closed browsers go as soon as anyone signs in.
    session.execute(delete(ReporterSession).where(ReporterSession.last_seen_at < now - idle))
    seen = visits.record_visit(case, keys.visits_key, now=now)
    token = secrets.token_urlsafe(32)
    cookie_key = secrets.token_bytes(COOKIE_KEY_SIZE)
    session.add(
        ReporterSession(
            id_hash=tokens.token_hash(token),
            case_id=case.id,
            wrapped_case_key=crypto.wrap_with_key(
                case_private_key, cookie_key, contexts.reporter_session(case.uid)
            ),
            wrapped_visits=visits.wrap_facts(seen, cookie_key, case.uid),
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
        raise SessionExpiredError(_("Your session has ended."))
    if now - row.last_seen_at > idle:
        session.delete(row)
        session.commit()
        raise SessionExpiredError(_("Your session ended after a period of inactivity."))
    case = session.get_one(Case, row.case_id)
    try:
        key = crypto.unwrap_with_key(
            row.wrapped_case_key, login.cookie_key, contexts.reporter_session(case.uid)
        )
    except crypto.DecryptionError:
        raise SessionExpiredError(_("Your session has ended.")) from None
    seen = visits.unwrap_facts(row.wrapped_visits, login.cookie_key, case.uid)
    row.last_seen_at = now
    session.commit()
    return ReporterContext(case=case, case_private_key=key, visits=seen)


def sign_out(session: Session, token: str) -> None:
    """End the session; the wrapped case key is deleted with it. Commits once."""
    session.execute(
        delete(ReporterSession).where(ReporterSession.id_hash == tokens.token_hash(token))
    )
    session.commit()
