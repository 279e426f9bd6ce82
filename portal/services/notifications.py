"""Notifications through an outbox: written with the event, sent by the worker over SMTP.

A notification holds a case reference and a link, never case content. Anything that reaches a
mail header is refused if it carries a line break (header injection). Staff have no language of
their own on record, so every notification is written in the site's default language; a caller
that passes words of its own (``what``) writes them inside ``in_language(None)`` too.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.config import SmtpConfig
from portal.i18n import N_, _, in_language
from portal.models import Case, DigestEntry, DigestKind, OutboxMessage, OutboxState, User
from portal.services import batch, inbox
from portal.services.errors import InvalidInputError

if TYPE_CHECKING:
    from portal.services.clock import ClockSettings

# Retries back off exponentially from one minute, and never wait more than six hours.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
SMTP_TIMEOUT = 20


def header_safe(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise InvalidInputError(f"{what} may not contain a line break.")
    return value


def enqueue(
    session: Session, *, to: str, subject: str, body: str, recipient_id: int | None, now: datetime
) -> None:
    """Add a message to the outbox in the caller's transaction."""
    fields = {
        "recipient_id": recipient_id,
        "to_address": header_safe(to, "An address"),
        "subject": header_safe(subject, "A subject"),
        "body": body,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
        "sent_at": None,
    }
    batch.add(session, OutboxMessage, fields)


def notify_users(
    session: Session,
    users: Iterable[User],
    settings: ClockSettings,
    *,
    case: Case,
    what: str,
    now: datetime,
) -> int:
    """Tell each user (who has an address) that something happened on a case. Content-free.

    A tier 1 case is named critical in the subject: the tier is kept in the clear for the clock
    already, and the word makes the message stand out without saying what the report is about.
    """
    reference = inbox.reference(case)
    link = f"{settings.base_url}/staff/cases/{case.uid}"
    with in_language(None):
        # NOTE: In each of these, %(what)s is what happened, such as "overdue: acknowledge the
        # report" or "a new report arrived"; %(reference)s is the case's reference.
        if case.tier == 1:
            subject = _("Critical case %(reference)s: %(what)s", reference=reference, what=what)
            first = _(
                "Case %(reference)s is critical (tier 1): %(what)s. Please open it now.",
                reference=reference,
                what=what,
            )
        else:
            subject = _("Case %(reference)s: %(what)s", reference=reference, what=what)
            first = _("Case %(reference)s: %(what)s.", reference=reference, what=what)
        subject = f"[{settings.site_name}] {subject}"
        # NOTE: %(link)s is the address of the case page, on a line of its own.
        body = _(
            "%(first)s\n\nOpen the case (you will be asked to sign in):\n%(link)s\n\n"
            "This message holds no case content by design.\n",
            first=first,
            link=link,
        )
    count = 0
    for user in users:
        # An address that could break a header is never used; one bad account must not stop
        # the clock for every case.
        if not user.email or "\r" in user.email or "\n" in user.email:
            continue
        enqueue(
            session,
            to=user.email,
            subject=subject,
            body=body,
            recipient_id=user.id,
            now=now,
        )
        count += 1
    return count


def notify_admins_of_bad_key(
    session: Session,
    handlers: Sequence[User],
    settings: ClockSettings,
    *,
    case: Case | None,
    now: datetime,
) -> int:
    """Tell every active admin with an address that handlers were skipped for a new report
    because their public keys failed the integrity check (``case`` None: the report could not be
    filed at all). Content-free: the case reference, the usernames and what to do.
    """
    admins = session.scalars(
        select(User).where(User.is_admin.is_(True), User.active.is_(True), User.email.is_not(None))
    )
    names = ", ".join(repr(h.username) for h in handlers)
    with in_language(None):
        if case is None:
            subject = _("A report could not be filed")
            # NOTE: %(names)s lists the usernames of the handlers whose keys failed.
            what = _(
                "A reporter tried to file a report, but the public keys stored for %(names)s "
                "failed their integrity check and nobody else receives such reports, so it was "
                "not filed. The reporter was told and kept what they wrote.",
                names=names,
            )
        else:
            reference = inbox.reference(case)
            subject = _("A handler was not given case %(reference)s", reference=reference)
            # NOTE: %(names)s lists the usernames of the handlers whose keys failed.
            what = _(
                "A new report arrived as case %(reference)s. The public key stored for "
                "%(names)s failed its integrity check, so that account was not given the case. "
                "Everyone else who receives such reports was given it; nothing was lost.",
                reference=reference,
                names=names,
            )
        body = _(
            "%(what)s\n\nThe key may have been altered in the database. Check the account, "
            "reset it if needed, then ask a colleague who holds the case to grant it again.\n\n"
            "This message holds no case content by design.\n",
            what=what,
        )
    count = 0
    for admin in admins:
        if not admin.email or "\r" in admin.email or "\n" in admin.email:
            continue
        enqueue(
            session,
            to=admin.email,
            subject=f"[{settings.site_name}] {subject}",
            body=body,
            recipient_id=admin.id,
            now=now,
        )
        count += 1
    return count


DIGEST_SUBJECT = N_("Daily summary of your cases")


def queue_daily_digests(
    session: Session, settings: ClockSettings, *, now: datetime, counts: bool = True
) -> int:
    """Once a local day, tell each handler with an address how many of their cases are overdue
    or due within 48 hours, and list the cases with new reports, reporter's messages or appeals
    kept for their digest since the last one: counts, references and links, nothing of what any
    case holds. An entry waits until a digest lists it, then goes in the same transaction, so it
    is told once and never lost. With ``counts`` False (the site's daily summary of due cases
    is off) only the handlers with entries waiting get a digest, holding the list alone: a
    handler who chose the digest is told even so. Commits once."""
    from portal.models import Case, CaseKeyGrant

    zone = settings.calendar.zone
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    with in_language(None):
        subject = f"[{settings.site_name}] {_(DIGEST_SUBJECT)}"
    already = set(
        session.scalars(
            select(OutboxMessage.recipient_id).where(
                OutboxMessage.subject == subject, OutboxMessage.created_at >= midnight
            )
        )
    )
    queued = 0
    handlers = select(User).where(
        User.is_handler.is_(True), User.active.is_(True), User.email.is_not(None)
    )
    if not counts:
        handlers = handlers.where(User.id.in_(select(DigestEntry.user_id)))
    for user in session.scalars(handlers):
        if user.id in already or not user.email or "\r" in user.email or "\n" in user.email:
            continue
        mine = (
            select(func.count())
            .select_from(Case)
            .join(CaseKeyGrant, CaseKeyGrant.case_id == Case.id)
            .where(CaseKeyGrant.user_id == user.id)
        )
        overdue = soon = 0
        if counts:
            overdue = session.scalar(mine.where(Case.next_due_at < now)) or 0
            soon = (
                session.scalar(
                    mine.where(
                        Case.next_due_at >= now, Case.next_due_at < now + timedelta(hours=48)
                    )
                )
                or 0
            )
        entries = session.execute(
            select(DigestEntry.id, DigestEntry.kind, Case)
            .join(Case, Case.id == DigestEntry.case_id)
            .where(DigestEntry.user_id == user.id)
            .order_by(DigestEntry.created_at, DigestEntry.id)
        ).all()
        if not overdue and not soon and not entries:
            continue
        inbox_link = f"{settings.base_url}/staff/inbox"
        with in_language(None):
            totals = ""
            if counts:
                totals = _(
                    "Overdue: %(overdue)d. Due within 48 hours: %(soon)d.",
                    overdue=overdue,
                    soon=soon,
                )
                totals += "\n\n"
            news = _digest_news(settings, [(kind, case) for _id, kind, case in entries])
            # NOTE: %(link)s is the address of the inbox, on a line of its own.
            footer = _("Your inbox (you will be asked to sign in):\n%(link)s\n", link=inbox_link)
            body = totals + news + footer
        enqueue(
            session,
            to=user.email,
            subject=subject,
            body=body,
            recipient_id=user.id,
            now=now,
        )
        if entries:
            session.execute(delete(DigestEntry).where(DigestEntry.id.in_([e[0] for e in entries])))
        queued += 1
    session.commit()
    return queued


# The digest's headings, one per kind of event kept for it.
DIGEST_HEADINGS = {
    DigestKind.REPORT: N_("New reports since the last summary:"),
    DigestKind.MESSAGE: N_("Cases where the reporter wrote since the last summary:"),
    DigestKind.APPEAL: N_("Cases with an appeal since the last summary:"),
}


def _digest_news(settings: ClockSettings, entries: Sequence[tuple[DigestKind, Case]]) -> str:
    """References and links only, each case once under each heading, in the language of the
    moment."""
    text = ""
    for kind, heading in DIGEST_HEADINGS.items():
        cases = list({case.id: case for k, case in entries if k is kind}.values())
        if cases:
            lines = "".join(
                f"- {inbox.reference(c)}: {settings.base_url}/staff/cases/{c.uid}\n" for c in cases
            )
            text += f"{_(heading)}\n{lines}\n"
    return text


@dataclass(frozen=True)
class DeliveryResult:
    sent: int
    retried: int
    failed: int


def deliver_due(
    session: Session, smtp: SmtpConfig, *, now: datetime, batch: int = 50
) -> DeliveryResult:
    """Send what is due in the outbox; a failure is retried later, then given up and shown.

    On PostgreSQL the rows being sent are locked (SKIP LOCKED), so several workers never send
    the same message. Commits once.
    """
    if not smtp.host:
        return DeliveryResult(0, 0, 0)
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query))
    sent = retried = failed = 0
    if due:
        try:
            with _connect(smtp) as connection:
                for message in due:
                    outcome = _send_one(connection, smtp, message, now)
                    sent += outcome == "sent"
                    retried += outcome == "retry"
                    failed += outcome == "failed"
        except (OSError, smtplib.SMTPException) as exc:
            # The server could not be reached at all: every message waits for the next try.
            for message in due:
                if message.state is OutboxState.PENDING and message.sent_at is None:
                    outcome = _failed_attempt(message, smtp, now, exc)
                    retried += outcome == "retry"
                    failed += outcome == "failed"
    session.commit()
    return DeliveryResult(sent, retried, failed)


def _connect(smtp: SmtpConfig) -> smtplib.SMTP:
    if smtp.security == "tls":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        connection = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
    try:
        if smtp.security == "starttls":
            connection.starttls(context=ssl.create_default_context())
        if smtp.username:
            connection.login(smtp.username, smtp.password)
    except BaseException:
        connection.close()
        raise
    return connection


def _send_one(
    connection: smtplib.SMTP, smtp: SmtpConfig, message: OutboxMessage, now: datetime
) -> str:
    try:
        email = _email(smtp, message)
    except Exception as exc:  # building a message touches no network: this is never transient
        # A row that cannot be made into a safe e-mail (a line break in a header, say, written
        # around enqueue) will never be sendable: give it up now, shown to the admins, and let
        # the batch go on. Raising here would undo the batch's commit, so the messages already
        # sent in it would go out again on every pass.
        message.attempts += 1
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        message.state = OutboxState.FAILED
        return "failed"
    try:
        connection.send_message(email)
    except (smtplib.SMTPException, OSError) as exc:
        return _failed_attempt(message, smtp, now, exc)
    message.state = OutboxState.SENT
    message.sent_at = now
    message.attempts += 1
    return "sent"


def _email(smtp: SmtpConfig, message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = header_safe(smtp.from_address, "The sender")
    email["To"] = header_safe(message.to_address, "An address")
    email["Subject"] = header_safe(message.subject, "A subject")
    email.set_content(message.body)
    return email


def _failed_attempt(message: OutboxMessage, smtp: SmtpConfig, now: datetime, exc: Exception) -> str:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:500]
    if message.attempts >= smtp.max_attempts:
        message.state = OutboxState.FAILED
        return "failed"
    delay = min(FIRST_RETRY * (2 ** (message.attempts - 1)), LONGEST_RETRY)
    message.next_attempt_at = now + delay
    return "retry"


def failed_messages(session: Session) -> list[OutboxMessage]:
    """Messages given up on, for the admins' page."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.FAILED)
            .order_by(OutboxMessage.created_at.desc())
        )
    )
