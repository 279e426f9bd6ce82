"""Staff accounts: creation, activation, and what admins do to them."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

import crypto
from portal.argon2_gate import UNGATED, Argon2Gate
from portal.i18n import N_, _, _n, in_language
from portal.models import CaseKeyGrant, Role, StaffSession, User, UserCategory
from portal.services import approvals, audit, integrity, notifications, tokens
from portal.services.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from portal.services.lengths import MAX_PASSWORD_LENGTH, too_long_message

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
# zxcvbn's scale: 3 is "safely unguessable" (about 10^10 guesses), the lowest it calls strong.
MIN_PASSWORD_SCORE = 3
# zxcvbn's time grows fast with length, and it refuses more than 72 characters; what follows
# only adds strength, so the first 72 are scored.
ZXCVBN_MAX_LENGTH = 72
TOTP_ISSUER = "Candor"
ACTIVATION_LIFETIME = timedelta(days=7)
# The columns' width (users.display_name and users.title).
MAX_NAME_LENGTH = 128
DEFAULT_TITLE = "Case handler"


# Translated where it is shown, with _().
RE_ENROL_LINK_DEAD = N_(
    "This link is not valid any more: it was used, or it expired. Nothing was changed. "
    "Ask an admin to reset your second factor again for a new link."
)


class LinkExpiredError(NotFoundError):
    """A one-time link that was used, expired, or never existed."""


@dataclass(frozen=True)
class Credentials:
    """What the account holder must see once and never again."""

    recovery_key: str
    totp_secret: str
    totp_uri: str
    private_key: bytes


@dataclass(frozen=True)
class NewAccount:
    user: User
    recovery_key: str
    totp_uri: str
    totp_secret: str


def private_key_context(username: str) -> bytes:
    """Associated data binding a wrapped private key to its account."""
    return f"candor:user:{username}:private-key".encode()


def totp_context(username: str) -> bytes:
    return f"candor:user:{username}:totp-secret".encode()


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_email(email: str) -> str | None:
    """An address for notifications, or None; one line only (it reaches a mail header)."""
    email = email.strip()
    if not email:
        return None
    if not EMAIL_PATTERN.fullmatch(email) or len(email) > 320:
        raise InvalidInputError(
            _("E-mail: enter an address like name@example.org, or leave it empty.")
        )
    return email


def normalise_username(text: str) -> str:
    """The form of a typed username that lookups and per-account limits use, so that
    "Hanna", " hanna" and full-width letters all count against the same account."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def user_inputs(username: str, display_name: str, email: str | None = None) -> list[str]:
    """What a password must not lean on: the account's own names, which an attacker knows."""
    words = [username, display_name, *display_name.split(), *re.split(r"[._-]", username)]
    if email:
        words.append(email.split("@", 1)[0])
    return [word for word in words if word]


def check_password(password: str, names: Sequence[str] = ()) -> None:
    """Refuse a staff password that is short or easy to guess.

    A staff password unwraps a handler's private key, so an offline guess against a copied
    database opens every case that handler holds; zxcvbn estimates how many guesses it takes,
    counting dictionary words, keyboard runs, repeats and the account's own ``names``.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            _("Password: use at least %(num)d characters.", num=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(too_long_message("password", MAX_PASSWORD_LENGTH))
    estimate = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=list(names))
    if estimate["score"] >= MIN_PASSWORD_SCORE:
        return
    feedback = estimate["feedback"]
    # zxcvbn's own advice is in English only; it is shown as it comes.
    advice = " ".join([feedback["warning"], *feedback["suggestions"]]).strip()
    if not advice:
        raise InvalidInputError(
            _(
                "Password: this one is too easy to guess. Nothing was saved; choose another. "
                "A few unrelated words make a strong password that is easy to remember."
            )
        )
    raise InvalidInputError(
        _(
            "Password: this one is too easy to guess. Nothing was saved; choose another. "
            "%(advice)s A few unrelated words make a strong password that is easy to remember.",
            advice=advice,
        )
    )


def wrap_totp_secret(user: User, totp_secret: str, keys: crypto.DerivedKeys) -> None:
    """Keep the TOTP secret only under the password-derived key."""
    user.totp_wrapped_secret = crypto.wrap_with_key(
        totp_secret.encode(), keys.wrapping_key, totp_context(user.username)
    )


def set_password(
    user: User, password: str, private_key: bytes, profile: crypto.Argon2Profile
) -> crypto.DerivedKeys:
    """Wrap ``private_key`` under ``password``; one Argon2id run also yields the login verifier."""
    check_password(password, user_inputs(user.username, user.display_name, user.email))
    wrapped, verifier = crypto.wrap_with_secret(
        private_key, password, private_key_context(user.username), profile
    )
    user.password_wrapped_key, user.password_verifier = wrapped, verifier
    return crypto.derive_for_blob(wrapped, password)


def issue_credentials(
    user: User, password: str, profile: crypto.Argon2Profile, issuer: str
) -> Credentials:
    """A fresh key pair, recovery key and TOTP secret for ``user``, wrapped as DESIGN.md says.

    The private key is wrapped under the password and under the recovery key; the TOTP secret
    under the password-derived key. Old case grants (sealed to an old key) become useless.
    """
    keypair = crypto.generate_keypair()
    keys = set_password(user, password, keypair.private_key, profile)
    recovery_text, recovery_bytes = crypto.generate_recovery_key()
    user.public_key = keypair.public_key
    user.recovery_wrapped_key = crypto.wrap_with_key(
        keypair.private_key, recovery_bytes, private_key_context(user.username)
    )
    totp_secret = pyotp.random_base32()
    wrap_totp_secret(user, totp_secret, keys)
    user.totp_last_step = None
    uri = pyotp.TOTP(totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)
    return Credentials(recovery_text, totp_secret, uri, keypair.private_key)


def _validate_identity(username: str, display_name: str, level: int) -> tuple[str, str]:
    username = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInputError(
            _("Username: use 2 to 64 lower-case letters, digits, dots, dashes or underscores.")
        )
    return username, _validate_profile(display_name, level)


def _validate_profile(display_name: str, level: int) -> str:
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInputError(_("Display name: must not be empty."))
    if len(display_name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            _("Display name: use at most %(num)d characters.", num=MAX_NAME_LENGTH)
        )
    if level not in (1, 2, 3):
        raise InvalidInputError(_("Level: must be 1 (handler), 2 (supervisor) or 3 (executive)."))
    return display_name


def _clean_title(title: str) -> str:
    title = title.strip() or DEFAULT_TITLE
    if len(title) > MAX_NAME_LENGTH:
        raise InvalidInputError(_("Title: use at most %(num)d characters.", num=MAX_NAME_LENGTH))
    return title


# Translated where it is shown, with _().
ONE_KIND_ALONE = N_(
    "A custodian or an analyst is neither handler nor admin: choose one of them alone."
)


def _check_kinds(is_handler: bool, is_admin: bool, is_custodian: bool, is_analyst: bool) -> None:
    """At least one kind; a custodian or an analyst is that alone.

    A custodian who also handled cases would approve their own look at an identity, and an
    analyst who handled cases would see content; neither may ever hold a case key.
    """
    if not (is_handler or is_admin or is_custodian or is_analyst):
        raise InvalidInputError(
            _("Choose at least one of handler and admin, or custodian, or analyst.")
        )
    if (is_custodian or is_analyst) and (is_handler or is_admin or (is_custodian and is_analyst)):
        raise InvalidInputError(_(ONE_KIND_ALONE))


def _ensure_free(session: Session, username: str) -> None:
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AlreadyExistsError(_("Username %(name)s is taken.", name=repr(username)))


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
    """Create an active staff account with its key pair (the command-line path). Commits once."""
    username, display_name = _validate_identity(username, display_name, level)
    check_password(password, user_inputs(username, display_name))
    _ensure_free(session, username)
    user = User(
        username=username,
        display_name=display_name,
        is_handler=role is Role.HANDLER,
        is_admin=role is Role.ADMIN,
        is_custodian=role is Role.CUSTODIAN,
        is_analyst=role is Role.ANALYST,
        level=level,
        created_at=now,
    )
    credentials = issue_credentials(user, password, profile, issuer)
    session.add(user)
    session.flush()  # the key's integrity tag is bound to the account's id
    integrity.sign_user_key(session, user)
    audit.record(session, "account_created", now=now, actor_kind="system", subject_id=user.id)
    session.commit()
    return NewAccount(user, credentials.recovery_key, credentials.totp_uri, credentials.totp_secret)


def invite_user(
    session: Session,
    admin: User,
    *,
    username: str,
    display_name: str,
    title: str,
    level: int,
    is_handler: bool,
    is_admin: bool,
    categories: Iterable[str],
    now: datetime,
    email: str = "",
    notice: approvals.Notice | None = None,
    is_custodian: bool = False,
    is_analyst: bool = False,
) -> tuple[User, str]:
    """Create an account that waits for its holder to follow a one-time activation link.

    Returns the user and the link's token; only its hash is stored. The handler role waits for
    a second person's approval (see ``approvals``); ``notice`` says where to tell the approvers.
    Commits once.
    """
    username, display_name = _validate_identity(username, display_name, level)
    title = _clean_title(title)
    _check_kinds(is_handler, is_admin, is_custodian, is_analyst)
    _ensure_free(session, username)
    token = secrets.token_urlsafe(32)
    user = User(
        email=clean_email(email),
        username=username,
        display_name=display_name,
        title=title,
        # Nobody yet: what the account receives is set below, through the approval rule.
        is_handler=False,
        is_admin=is_admin,
        is_custodian=is_custodian,
        is_analyst=is_analyst,
        level=1,
        activation_lookup=tokens.token_hash(token),
        activation_expires_at=now + ACTIVATION_LIFETIME,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(session, "account_invited", now=now, actor_id=admin.id, subject_id=user.id)
    approvals.apply_or_hold(
        session,
        admin,
        user,
        is_handler=is_handler,
        level=level,
        categories=categories,
        now=now,
        notice=notice,
    )
    session.commit()
    return user, token


def find_invited(session: Session, token: str, now: datetime) -> User | None:
    user = _find_by_link(session, token, now)
    # A re-enrolment link must never reach activation, which would issue a new key pair.
    return None if user is None or user.activated else user


def _find_by_link(session: Session, token: str, now: datetime) -> User | None:
    user = session.scalar(select(User).where(User.activation_lookup == tokens.token_hash(token)))
    if user is None or user.activation_expires_at is None or user.activation_expires_at < now:
        return None
    return user


def activate(
    session: Session,
    token: str,
    password: str,
    *,
    profile: crypto.Argon2Profile,
    issuer: str,
    now: datetime,
    gate: Argon2Gate = UNGATED,
) -> tuple[User, Credentials]:
    """Set the password and issue the key pair, recovery key and TOTP secret. Commits once.

    The password is checked (length first) before the Argon2id runs, which wait for a slot of
    ``gate``.
    """
    user = find_invited(session, token, now)
    if user is None:
        raise NotFoundError(
            _("This activation link is not valid any more. Ask an admin for a new one.")
        )
    check_password(password)
    with gate.slot():
        credentials = issue_credentials(user, password, profile, issuer)
    integrity.sign_user_key(session, user)
    user.activation_lookup = None
    user.activation_expires_at = None
    audit.record(session, "account_activated", now=now, actor_id=user.id, subject_id=user.id)
    session.commit()
    return user, credentials


def set_categories(session: Session, user: User, categories: Iterable[str]) -> None:
    session.execute(delete(UserCategory).where(UserCategory.user_id == user.id))
    for category in sorted(set(categories)):
        session.add(UserCategory(user_id=user.id, category=category))


def user_categories(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(UserCategory.category)
            .where(UserCategory.user_id == user_id)
            .order_by(UserCategory.category)
        )
    )


@dataclass(frozen=True)
class Account:
    """A staff account with the categories it receives (none: every category)."""

    user: User
    categories: tuple[str, ...]


def list_accounts(session: Session) -> list[Account]:
    """Every staff account, by username, with its categories (two queries, not one per user)."""
    users = session.scalars(select(User).order_by(User.username)).all()
    categories: dict[int, list[str]] = {}
    rows = session.execute(
        select(UserCategory.user_id, UserCategory.category).order_by(UserCategory.category)
    )
    for user_id, category in rows:
        categories.setdefault(user_id, []).append(category)
    return [Account(user, tuple(categories.get(user.id, ()))) for user in users]


def update_user(
    session: Session,
    admin: User,
    user: User,
    *,
    display_name: str,
    title: str,
    level: int,
    is_handler: bool,
    is_admin: bool,
    categories: Iterable[str],
    now: datetime,
    email: str = "",
    notice: approvals.Notice | None = None,
    is_custodian: bool = False,
    is_analyst: bool = False,
) -> None:
    """Change what an admin may change about an account; the username and keys stay.

    What makes the account receive more (handler role, categories, a higher level) waits for a
    second person's approval; what makes it receive less applies at once (see ``approvals``).

    An admin cannot drop their own admin flag, so the site never loses its last admin by a slip.
    The audit entry names the fields that changed, never their values. Commits once.
    """
    display_name = _validate_profile(display_name, level)
    title = _clean_title(title)
    _check_kinds(is_handler, is_admin, is_custodian, is_analyst)
    if (is_custodian or is_analyst) and _holds_cases(session, user):
        raise InvalidInputError(
            _(
                "This account holds cases as a handler, and a custodian or an analyst holds "
                "none. Nothing was saved. Let it hand its cases on first, or invite a new "
                "account for the new role."
            )
        )
    if user.id == admin.id and user.is_admin and not is_admin:
        raise InvalidInputError(_("You cannot remove your own admin rights; ask another admin."))
    new_categories = sorted(set(categories))
    changed = [
        name
        for name, old, new in (
            ("display name", user.display_name, display_name),
            ("title", user.title, title),
            ("e-mail", user.email, clean_email(email)),
            ("level", user.level, level),
            ("handler", user.is_handler, is_handler),
            ("admin", user.is_admin, is_admin),
            ("custodian", user.is_custodian, is_custodian),
            ("analyst", user.is_analyst, is_analyst),
            ("categories", user_categories(session, user.id), new_categories),
        )
        if old != new
    ]
    user.display_name, user.title = display_name, title
    user.email = clean_email(email)
    user.is_admin = is_admin
    user.is_custodian, user.is_analyst = is_custodian, is_analyst
    approvals.apply_or_hold(
        session,
        admin,
        user,
        is_handler=is_handler,
        level=level,
        categories=new_categories,
        now=now,
        notice=notice,
    )
    audit.record(
        session,
        "account_updated",
        now=now,
        actor_id=admin.id,
        subject_id=user.id,
        detail="changed: " + (", ".join(changed) or "nothing"),
    )
    session.commit()


def _holds_cases(session: Session, user: User) -> bool:
    return (
        session.scalar(select(CaseKeyGrant.case_id).where(CaseKeyGrant.user_id == user.id).limit(1))
        is not None
    )


def list_custodians(session: Session) -> list[User]:
    """Every active custodian, by username: who decides requests to see an identity."""
    return list(
        session.scalars(
            select(User)
            .where(User.is_custodian.is_(True), User.active.is_(True))
            .order_by(User.username)
        )
    )


def deactivate(session: Session, admin: User, user: User, now: datetime) -> None:
    """Stop an account and end its sessions at once. Commits once.

    An admin cannot stop their own account: that could leave the site with no admin at all.
    """
    if user.id == admin.id:
        raise InvalidInputError(_("You cannot deactivate your own account; ask another admin."))
    user.active = False
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    audit.record(session, "account_deactivated", now=now, actor_id=admin.id, subject_id=user.id)
    session.commit()


def reset_second_factor(
    session: Session, admin: User, user: User, now: datetime, *, base_url: str, site_name: str
) -> str:
    """Forget the TOTP secret and issue a one-time re-enrolment link. Commits once.

    A password alone never enrols a new authenticator (whoever learnt the password would take
    the account over); the link, shown once to the admin and e-mailed if the account has an
    address, does, together with the password. Returns the link's token; only its hash is kept,
    in the activation columns, which an activated account does not otherwise use.
    """
    if not user.activated:
        # Its activation link is what sets the second factor up; a new link here would kill it.
        raise InvalidInputError(
            _(
                "This account is not activated yet, so it has no second factor to reset. Nothing "
                "was changed; its activation link sets one up."
            )
        )
    token = secrets.token_urlsafe(32)
    user.totp_wrapped_secret = None
    user.totp_last_step = None
    user.activation_lookup = tokens.token_hash(token)
    user.activation_expires_at = now + ACTIVATION_LIFETIME
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    if user.email and "\r" not in user.email and "\n" not in user.email:
        # In the site's language: the account holder's own choice of language is not known.
        with in_language(None):
            subject = _("[%(site)s] Set up your second factor again", site=site_name)
            body = _n(
                "An admin reset the second factor of your account %(username)s.\n\n"
                "Open this link, type your password and set up a new authenticator app. "
                "It works once, for %(num)d day:\n%(link)s\n\n"
                "If you did not expect this, tell your admins through another channel.\n",
                "An admin reset the second factor of your account %(username)s.\n\n"
                "Open this link, type your password and set up a new authenticator app. "
                "It works once, for %(num)d days:\n%(link)s\n\n"
                "If you did not expect this, tell your admins through another channel.\n",
                ACTIVATION_LIFETIME.days,
                username=user.username,
                link=re_enrol_link(base_url, token),
            )
        notifications.enqueue(
            session, to=user.email, subject=subject, body=body, recipient_id=user.id, now=now
        )
    audit.record(session, "second_factor_reset", now=now, actor_id=admin.id, subject_id=user.id)
    session.commit()
    return token


def re_enrol_link(base_url: str, token: str) -> str:
    return f"{base_url}/staff/re-enrol/{token}"


def find_re_enrolment(session: Session, token: str, now: datetime) -> User | None:
    """The account whose second-factor reset issued this link, while the link lives."""
    user = _find_by_link(session, token, now)
    if user is None or not user.activated or user.totp_wrapped_secret is not None:
        return None
    return user if user.active else None


def reset_without_recovery(session: Session, admin: User, user: User, now: datetime) -> str:
    """Start the account afresh with a new activation link.

    The old key pair is dropped, so this handler loses every case until a colleague grants it
    again; the admin is warned of that before this runs. Returns the new link's token. Commits once.
    """
    token = secrets.token_urlsafe(32)
    user.public_key = None
    user.public_key_tag = None
    user.password_wrapped_key = None
    user.password_verifier = None
    user.recovery_wrapped_key = None
    user.totp_wrapped_secret = None
    user.totp_last_step = None
    user.activation_lookup = tokens.token_hash(token)
    user.activation_expires_at = now + ACTIVATION_LIFETIME
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.execute(delete(CaseKeyGrant).where(CaseKeyGrant.user_id == user.id))
    audit.record(session, "account_reset", now=now, actor_id=admin.id, subject_id=user.id)
    session.commit()
    return token


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(_("No such account."))
    return user


def set_notification_preference(
    session: Session, user: User, *, by_digest: bool, now: datetime
) -> None:
    """The handler's own choice: new reports, reporter's messages and appeals told at once or in
    the daily digest (a tier 1 case is told at once whatever is chosen). Audited. Commits once.

    Events already kept for the digest stay there and go out with the next one, so a change
    loses nothing.
    """
    if user.notify_by_digest == by_digest:
        return
    user.notify_by_digest = by_digest
    audit.record(
        session,
        "notification_preference_changed",
        now=now,
        actor_id=user.id,
        subject_id=user.id,
        detail="in the daily digest" if by_digest else "immediately",
    )
    session.commit()
