"""Staff sign-in with a password and a second factor, and the sessions that follow it."""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import crypto
from portal.argon2_gate import UNGATED, Argon2Gate
from portal.i18n import N_, _
from portal.models import StaffSession, User
from portal.services import accounts, audit, integrity, tokens
from portal.services.errors import ServiceError
from portal.services.lengths import (
    MAX_ONE_TIME_CODE_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_RECOVERY_KEY_LENGTH,
    check_lengths,
)

TOTP_PERIOD = 30
# One step either side absorbs clock drift between the phone and the server.
TOTP_WINDOW = 1
# Translated where it is raised, with _().
SIGN_IN_FAILED = N_("The username, password or one-time code is wrong.")


class SignInError(ServiceError):
    """Sign-in refused; the message never says which part was wrong."""


class StaffSessionExpiredError(ServiceError):
    """The session ended: idle too long, signed out, or the account was stopped."""


@dataclass(frozen=True)
class StaffLogin:
    """What the staff cookie holds: the session id and the key that unwraps the private key."""

    token: str
    cookie_key: bytes


@dataclass(frozen=True)
class PendingEnrolment:
    """A second factor being set up: its secret, and the recovery key to show again on every
    attempt (empty when there is none to show) until the first code is accepted."""

    totp_secret: str
    recovery_key: str = ""


@dataclass(frozen=True)
class StaffContext:
    """A signed-in staff member for one request."""

    user: User
    private_key: bytes
    second_factor_done: bool
    token: str


def _accept_totp(session: Session, user: User, secret: str, code: str, now: datetime) -> bool:
    """Check ``code`` against the current steps and consume its step for good.

    A step at or below the last one used is refused (replay). The step is taken by one
    conditional UPDATE that must change exactly one row, so that of several sign-ins racing
    with the same code only one wins: a check on the loaded row alone would let each of them
    see the step as unused.
    """
    code = "".join(code.split())
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    current = int(now.timestamp()) // TOTP_PERIOD
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * TOTP_PERIOD), code):
            return _consume_step(session, user, step)
    return False


def _consume_step(session: Session, user: User, step: int) -> bool:
    result = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def sign_in(
    session: Session,
    username: str,
    password: str,
    code: str,
    *,
    profile: crypto.Argon2Profile,
    now: datetime,
    gate: Argon2Gate = UNGATED,
) -> StaffLogin:
    """Check password and one-time code; open a session holding the private key wrapped.

    Exactly one Argon2id run per attempt, for an unknown username too (against a decoy), so the
    time taken does not reveal which accounts exist; it waits for a slot of ``gate``. Overlong
    input is refused (InvalidInputError) before it. Every attempt is audited, without an IP
    address. Commits once.
    """
    check_lengths(
        ("password", password, MAX_PASSWORD_LENGTH),
        ("one-time code", code, MAX_ONE_TIME_CODE_LENGTH),
    )
    user = session.scalar(
        select(User).where(User.username == accounts.normalise_username(username))
    )
    usable = user is not None and user.active and user.password_wrapped_key is not None
    blob = user.password_wrapped_key if usable and user is not None else None
    with gate.slot():
        keys = crypto.derive_for_blob(blob or tokens.decoy_blob(profile), password)
    if user is None or blob is None or user.password_verifier is None:
        audit.record(
            session,
            "sign_in_failed",
            now=now,
            actor_kind="anonymous",
            detail="unknown or inactive account",
        )
        session.commit()
        raise SignInError(_(SIGN_IN_FAILED))
    if not crypto.verifier_matches(user.password_verifier, keys.verifier):
        _fail(session, user, now, "wrong password")
    if user.totp_wrapped_secret is None:
        # The second factor was reset: a password alone never enrols a new one (whoever holds
        # only the password would own the account). The one-time link from the admin does.
        _fail(session, user, now, "no second factor; waiting for the re-enrolment link")
    private_key = crypto.unwrap_with_keys(blob, keys, accounts.private_key_context(user.username))
    _check_key_pair(session, user, private_key, now)
    secret = crypto.unwrap_with_key(
        user.totp_wrapped_secret, keys.wrapping_key, accounts.totp_context(user.username)
    ).decode()
    if not _accept_totp(session, user, secret, code, now):
        _fail(session, user, now, "wrong or reused one-time code")
    login = _open_session(session, user, private_key, now, None)
    audit.record(session, "sign_in", now=now, actor_id=user.id, subject_id=user.id)
    session.commit()
    return login


def _check_key_pair(session: Session, user: User, private_key: bytes, now: datetime) -> None:
    """Refuse the sign-in unless the stored public key is genuine and is this private key's.

    A database writer who put their own public key, or a whole key pair and password of their
    own, in this account's row would otherwise receive every case granted to it from now on.
    """
    try:
        public_key = integrity.user_public_key(session, user)
        genuine = crypto.public_key_from_private(private_key) == public_key
    except crypto.CryptoError:
        genuine = False
    if genuine:
        return
    audit.record(
        session,
        "sign_in_refused_bad_key",
        now=now,
        actor_kind="anonymous",
        subject_id=user.id,
        detail="the account's public key failed its integrity check",
    )
    session.commit()
    raise crypto.IntegrityCheckError("account public key did not verify")


def _fail(session: Session, user: User, now: datetime, why: str) -> NoReturn:
    audit.record(
        session, "sign_in_failed", now=now, actor_kind="anonymous", subject_id=user.id, detail=why
    )
    session.commit()
    raise SignInError(_(SIGN_IN_FAILED))


def _open_session(
    session: Session,
    user: User,
    private_key: bytes,
    now: datetime,
    pending: PendingEnrolment | None,
) -> StaffLogin:
    # A new random id at every sign-in: a session id fixed before sign-in is never promoted.
    token = secrets.token_urlsafe(32)
    cookie_key = secrets.token_bytes(32)
    context = _session_context(user)
    session.add(
        StaffSession(
            id_hash=tokens.token_hash(token),
            user_id=user.id,
            wrapped_private_key=crypto.wrap_with_key(private_key, cookie_key, context),
            second_factor_done=pending is None,
            # The recovery key rides along, wrapped under the cookie key like the secret, so a
            # mistyped code never loses it; it goes with the row once enrolment completes.
            pending_totp_wrapped=(
                crypto.wrap_with_key(
                    json.dumps(
                        {"totp": pending.totp_secret, "recovery_key": pending.recovery_key}
                    ).encode(),
                    cookie_key,
                    context + b":totp",
                )
                if pending is not None
                else None
            ),
            created_at=now,
            last_seen_at=now,
        )
    )
    return StaffLogin(token=token, cookie_key=cookie_key)


def open_session_after_activation(
    session: Session, user: User, credentials: accounts.Credentials, now: datetime
) -> StaffLogin:
    """Sign the new account holder in; the session is limited until the first TOTP code."""
    pending = PendingEnrolment(credentials.totp_secret, credentials.recovery_key)
    login = _open_session(session, user, credentials.private_key, now, pending)
    session.commit()
    return login


def pending_enrolment(session: Session, login: StaffLogin) -> PendingEnrolment | None:
    """The second factor this session is setting up, or None once there is nothing pending."""
    row = session.get(StaffSession, tokens.token_hash(login.token))
    if row is None or row.pending_totp_wrapped is None:
        return None
    user = session.get_one(User, row.user_id)
    try:
        plain = crypto.unwrap_with_key(
            row.pending_totp_wrapped, login.cookie_key, _session_context(user) + b":totp"
        )
    except crypto.DecryptionError:
        return None
    if not plain.startswith(b"{"):
        # Written before the recovery key was kept with it: the bare secret.
        return PendingEnrolment(plain.decode())
    fields = json.loads(plain)
    return PendingEnrolment(str(fields["totp"]), str(fields.get("recovery_key", "")))


def session_username(session: Session, login: StaffLogin) -> str:
    row = session.get(StaffSession, tokens.token_hash(login.token))
    return session.get_one(User, row.user_id).username if row is not None else ""


def confirm_second_factor(session: Session, login: StaffLogin, code: str, *, now: datetime) -> bool:
    """Finish enrolment when ``code`` matches the new secret. Commits once."""
    if len(code) > MAX_ONE_TIME_CODE_LENGTH:
        return False
    row = session.get(StaffSession, tokens.token_hash(login.token))
    pending = pending_enrolment(session, login)
    if row is None or pending is None:
        return False
    user = session.get_one(User, row.user_id)
    if not _accept_totp(session, user, pending.totp_secret, code, now):
        return False
    row.second_factor_done = True
    row.pending_totp_wrapped = None
    audit.record(session, "second_factor_enrolled", now=now, actor_id=user.id, subject_id=user.id)
    session.commit()
    return True


def resume(session: Session, login: StaffLogin, *, now: datetime, idle: timedelta) -> StaffContext:
    """The signed-in staff member; raises StaffSessionExpiredError after ``idle``. Commits."""
    row = session.get(StaffSession, tokens.token_hash(login.token))
    if row is None:
        raise StaffSessionExpiredError(_("Your session has ended. Sign in again."))
    user = session.get_one(User, row.user_id)
    if now - row.last_seen_at > idle or not user.active:
        session.delete(row)
        session.commit()
        raise StaffSessionExpiredError(
            _("Your session ended after a period of inactivity. Sign in again.")
        )
    try:
        private_key = crypto.unwrap_with_key(
            row.wrapped_private_key, login.cookie_key, _session_context(user)
        )
    except crypto.DecryptionError:
        raise StaffSessionExpiredError(_("Your session has ended. Sign in again.")) from None
    row.last_seen_at = now
    session.commit()
    return StaffContext(user, private_key, row.second_factor_done, login.token)


def sign_out(session: Session, token: str, now: datetime) -> None:
    row = session.get(StaffSession, tokens.token_hash(token))
    if row is not None:
        audit.record(session, "sign_out", now=now, actor_id=row.user_id, subject_id=row.user_id)
        session.delete(row)
    session.commit()


def change_password(
    session: Session,
    context: StaffContext,
    current: str,
    new: str,
    *,
    profile: crypto.Argon2Profile,
    now: datetime,
    gate: Argon2Gate = UNGATED,
) -> None:
    """Re-wrap the private key and the TOTP secret under the new password. Commits once.

    Both passwords are checked (lengths first) before the Argon2id runs, which share one slot
    of ``gate``.
    """
    user = context.user
    check_lengths(("current password", current, MAX_PASSWORD_LENGTH))
    accounts.check_password(new)
    if user.password_wrapped_key is None or user.password_verifier is None:
        raise SignInError(_("This account has no password yet."))
    with gate.slot():
        old_keys = crypto.derive_for_blob(user.password_wrapped_key, current)
        if not crypto.verifier_matches(user.password_verifier, old_keys.verifier):
            raise SignInError(_("The current password is wrong."))
        totp_secret = None
        if user.totp_wrapped_secret is not None:
            totp_secret = crypto.unwrap_with_key(
                user.totp_wrapped_secret,
                old_keys.wrapping_key,
                accounts.totp_context(user.username),
            ).decode()
        new_keys = accounts.set_password(user, new, context.private_key, profile)
    if totp_secret is not None:
        accounts.wrap_totp_secret(user, totp_secret, new_keys)
    # Other sessions of this account end; this one stays.
    session.execute(
        delete(StaffSession).where(
            StaffSession.user_id == user.id,
            StaffSession.id_hash != tokens.token_hash(context.token),
        )
    )
    audit.record(session, "password_changed", now=now, actor_id=user.id, subject_id=user.id)
    session.commit()


def recover(
    session: Session,
    username: str,
    recovery_key: str,
    new_password: str,
    *,
    profile: crypto.Argon2Profile,
    now: datetime,
    gate: Argon2Gate = UNGATED,
) -> StaffLogin:
    """Set a new password with the recovery key; cases stay readable. Commits once.

    The old second factor was wrapped under the lost password, so a new one is set up at once,
    in the limited session this opens: holding the recovery key is what allows it, as the
    one-time link does after an admin reset. Lengths are checked before any Argon2id run, which
    waits for a slot of ``gate``.
    """
    check_lengths(("recovery key", recovery_key, MAX_RECOVERY_KEY_LENGTH))
    accounts.check_password(new_password)
    user = session.scalar(
        select(User).where(User.username == accounts.normalise_username(username))
    )
    refused = SignInError(_("The username or recovery key is wrong."))
    if user is None or user.recovery_wrapped_key is None or not user.active:
        raise refused
    try:
        private_key = crypto.unwrap_with_key(
            user.recovery_wrapped_key,
            crypto.parse_recovery_key(recovery_key),
            accounts.private_key_context(user.username),
        )
    except (crypto.InvalidRecoveryKeyError, crypto.DecryptionError):
        audit.record(
            session, "recovery_failed", now=now, actor_kind="anonymous", subject_id=user.id
        )
        session.commit()
        raise refused from None
    with gate.slot():
        keys = accounts.set_password(user, new_password, private_key, profile)
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    login = _open_session(session, user, private_key, now, _new_second_factor(user, keys))
    audit.record(session, "account_recovered", now=now, actor_id=user.id, subject_id=user.id)
    session.commit()
    return login


def re_enrol(
    session: Session,
    token: str,
    password: str,
    *,
    profile: crypto.Argon2Profile,
    now: datetime,
    gate: Argon2Gate = UNGATED,
) -> StaffLogin:
    """Follow the one-time link an admin's second-factor reset issued: check the password, then
    open a limited session that sets up a new authenticator. The link dies here. Commits once.

    One Argon2id run per attempt (waiting for a slot of ``gate``), against a decoy when the link
    is not valid, so the time taken does not tell a live link from a dead one.
    """
    check_lengths(("password", password, MAX_PASSWORD_LENGTH))
    user = accounts.find_re_enrolment(session, token, now)
    blob = user.password_wrapped_key if user is not None else None
    with gate.slot():
        keys = crypto.derive_for_blob(blob or tokens.decoy_blob(profile), password)
    if user is None or blob is None or user.password_verifier is None:
        raise accounts.LinkExpiredError(_(accounts.RE_ENROL_LINK_DEAD))
    if not crypto.verifier_matches(user.password_verifier, keys.verifier):
        audit.record(
            session, "re_enrolment_failed", now=now, actor_kind="anonymous", subject_id=user.id
        )
        session.commit()
        raise SignInError(_("The password is wrong. Type the password you sign in with."))
    private_key = crypto.unwrap_with_keys(blob, keys, accounts.private_key_context(user.username))
    user.activation_lookup = None
    user.activation_expires_at = None
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    login = _open_session(session, user, private_key, now, _new_second_factor(user, keys))
    audit.record(session, "second_factor_link_used", now=now, actor_id=user.id, subject_id=user.id)
    session.commit()
    return login


def _new_second_factor(user: User, keys: crypto.DerivedKeys) -> PendingEnrolment:
    secret = pyotp.random_base32()
    accounts.wrap_totp_secret(user, secret, keys)
    user.totp_last_step = None
    return PendingEnrolment(secret)


def _session_context(user: User) -> bytes:
    return f"candor:user:{user.username}:staff-session".encode()
