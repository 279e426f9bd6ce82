"""Filing a report: keys, sealing, the receipt, and the first event for the clock."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from portal.argon2_gate import UNGATED, Argon2Gate
from portal.config import IntakeConfig
from portal.i18n import N_, _, _l
from portal.models import (
    Attachment,
    AuthorKind,
    Case,
    CaseEvent,
    CaseExclusion,
    CaseKeyGrant,
    CaseStatus,
    DigestKind,
    EventKind,
    PendingReceipt,
    User,
    UserCategory,
)
from portal.services import audit, case_news, clock, contexts, integrity, notifications
from portal.services.attachments import AttachmentStore, EncryptedUpload, commit_with_files
from portal.services.clock import versions
from portal.services.errors import InvalidInputError, ServiceError
from portal.services.reporting import proof_items, visits
from portal.services.staff import escrow as escrow_keys

MAX_ANSWER_LENGTH = 20_000
MAX_IDENTITY_LENGTH = 500
MAX_FILES = 20
# How long a receipt can be shown again (a reload, a second post) before it is forgotten.
PENDING_RECEIPT_LIFETIME = timedelta(hours=1)
TIERS = {1: "critical", 2: "high", 3: "other"}
# The one answer of a report recorded by a handler: their minutes or transcript.
# Kept with the sealed report as written here; translated where it is shown (``_(label)``).
MINUTES_LABEL = N_("Minutes of the report")
GROUP_NOT_LISTED = _l("“Who are you?”: choose one of the answers listed, or “Prefer not to say”.")
NOBODY_CAN_RECEIVE = _l(
    "Your report could not be filed because no handler can receive it right now, so nothing "
    "was saved. Please try again later, or use one of the other ways to report."
)


class AlreadyFiledError(ServiceError):
    """This form was filed and its receipt confirmed as saved; it cannot be shown again."""


# How a report made to a handler came in (services/oral.py), as the end of "You made your report
# ..." and "Received ... and recorded by a handler.": each language words the whole phrase
# (German "telefonisch", not "by Telefon"). Here, with the reporter's words, because the reporter
# reads it.
CHANNEL_HOW = {
    # NOTE: ends "You made your report %(how)s." and "Received %(how)s and recorded by a handler."
    "telephone": N_("by telephone"),
    "voice_message": N_("by voice message"),
    "post": N_("by post"),
    "email": N_("by e-mail"),
    "meeting": N_("in a meeting in person"),
}


@dataclass(frozen=True)
class Recipient:
    """A handler who may receive a report, as the reporter sees them."""

    id: int
    display_name: str
    title: str


@dataclass(frozen=True)
class Submission:
    form_token: str
    category: str
    tier: int
    answers: dict[str, str]
    confidential: bool = False
    name: str = ""
    contact: str = ""
    excluded_handler_ids: frozenset[int] = frozenset()
    uploads: Sequence[EncryptedUpload] = field(default_factory=tuple)
    # The reporter's answer to a policy's late-window question ("more than a month ago?"):
    # True, False, or None when not answered. Kept only when the category's policy asks.
    late: bool | None = None
    # Who the reporter said they are: a key of the site's groups, or "" for "prefer not to say".
    group: str = ""
    # The reporter reports on someone else's behalf or as a third-party witness (seeds/002).
    third_party: bool = False
    # A report a handler records on the reporter's behalf (services/oral.py): the channel it
    # came in by, when it was received, and the handler's minutes in place of the answers.
    channel: str | None = None
    received_at: datetime | None = None
    minutes: str = ""
    # The language of the page the report was filed on (a code from the site's list).
    language: str | None = None


@dataclass(frozen=True)
class Receipt:
    """Shown to the reporter once; nobody can recover it afterwards."""

    receipt_code: str
    passphrase: str
    # (what will be done, by when), from the case's deadlines.
    expectations: tuple[tuple[str, datetime], ...]
    # The files sent with the report and what cleaning did to each, for the receipt page.
    files: tuple[ReceiptFile, ...] = ()
    # A tier 1 report: the receipt tells the reporter to call the emergency services if a life
    # is at risk now, since a report is read by people, not at once.
    critical: bool = False
    # The language the organisation's automatic messages to the reporter are written in (a
    # code from the site's list; None reads as the site's default).
    language: str | None = None
    # The signed proof of report (services/reporting/proof_items.py), when the site signs them.
    proof: proof_items.ProofFile | None = None


@dataclass(frozen=True)
class ReceiptFile:
    name: str
    cleaning: str
    kind: str


def new_form_token() -> str:
    return secrets.token_urlsafe(32)


def list_recipients(session: Session, category: str | None = None) -> list[Recipient]:
    """Every active handler who would receive a new report, in ladder order.

    A handler with no categories receives every category; otherwise only their own. With no
    ``category``, everyone who might receive a report (what the intake form shows).
    """
    query = (
        select(User)
        .where(
            User.is_handler.is_(True),
            User.active.is_(True),
            User.public_key.is_not(None),
        )
        .order_by(User.level, User.display_name)
    )
    if category is not None:
        restricted = select(UserCategory.user_id).where(UserCategory.user_id == User.id)
        own = restricted.where(UserCategory.category == category)
        query = query.where(or_(~restricted.exists(), own.exists()))
    return [
        Recipient(id=u.id, display_name=u.display_name, title=u.title)
        for u in session.scalars(query)
    ]


def validate(
    submission: Submission, intake: IntakeConfig, recipients: Sequence[Recipient]
) -> list[str]:
    """Every problem with the submission, in words for the reporter; empty when it may be filed."""
    problems = []
    # Only the categories offered now: a retired one names old cases, never a new report.
    if submission.category not in {c.key for c in intake.categories}:
        problems.append(_("Choose what the report is about."))
    if submission.tier not in TIERS:
        problems.append(_("Say whether anyone is in immediate danger or the matter is critical."))
    if submission.group and intake.group(submission.group) is None:
        problems.append(str(GROUP_NOT_LISTED))
    if submission.channel is not None:
        if not submission.minutes.strip():
            problems.append(_("Write the minutes or the transcript of the report."))
        if len(submission.minutes) > MAX_ANSWER_LENGTH:
            problems.append(
                _(
                    "The minutes are longer than %(limit)d characters.",
                    limit=MAX_ANSWER_LENGTH,
                )
            )
    for question in intake.questions if submission.channel is None else ():
        answer = submission.answers.get(question.key, "").strip()
        if question.required and not answer:
            problems.append(_("Answer “%(question)s”.", question=question.label))
        if len(answer) > MAX_ANSWER_LENGTH:
            problems.append(
                _(
                    "“%(question)s” is longer than %(limit)d characters.",
                    question=question.label,
                    limit=MAX_ANSWER_LENGTH,
                )
            )
    if submission.confidential and not (submission.name.strip() and submission.contact.strip()):
        problems.append(_("To report confidentially, give your name and a way to contact you."))
    if max(len(submission.name), len(submission.contact)) > MAX_IDENTITY_LENGTH:
        problems.append(
            _(
                "Name and contact must be under %(limit)d characters.",
                limit=MAX_IDENTITY_LENGTH,
            )
        )
    remaining = [r for r in recipients if r.id not in submission.excluded_handler_ids]
    if not remaining:
        problems.append(_("At least one handler must remain to receive the report."))
    if len(submission.uploads) > MAX_FILES:
        problems.append(_("Attach at most %(num)d files.", num=MAX_FILES))
    problems.extend(
        _("The file “%(name)s” is larger than the limit.", name=u.name)
        for u in submission.uploads
        if u.too_large
    )
    return problems


def submit_report(
    session: Session,
    submission: Submission,
    *,
    intake: IntakeConfig,
    pepper: bytes,
    profile: crypto.Argon2Profile,
    store: AttachmentStore,
    clock_settings: clock.ClockSettings,
    now: datetime,
    gate: Argon2Gate = UNGATED,
    recorded_by: User | None = None,
    proof_key: bytes | None = None,
) -> Receipt:
    """Open a case for the report and return its receipt.

    With ``proof_key`` (the site's Ed25519 key), the receipt carries a signed proof of report,
    computed now while the server holds the plaintext; its salt exists only in the proof, kept
    with the pending receipt (wrapped under the form's token) until the reporter confirms.

    The one Argon2id run waits for a slot of ``gate``; if none frees, Argon2BusyError leaves
    nothing written, and the same form may be sent again.

    The case private key is sealed only to the handlers the reporter did not exclude, and wrapped
    for the reporter under Argon2id(passphrase, per-case salt). Everything the reporter wrote is
    sealed to the case public key. Posting the same form again returns the same receipt and opens
    no second case. Commits once.
    """
    submission_lookup = crypto.lookup_hmac(pepper, f"submission:{submission.form_token}")
    existing = _existing_receipt(session, submission, submission_lookup, now)
    if existing is not None:
        _discard(store, submission.uploads)
        return existing

    recipients = list_recipients(session, submission.category)
    problems = validate(submission, intake, recipients)
    if problems:
        _discard(store, submission.uploads)
        raise InvalidInputError(" ".join(problems))
    category = intake.category(submission.category)
    if category is None:  # validate() refused an unknown category already
        raise InvalidInputError(_("Choose what the report is about."))
    # A report recorded by a handler runs its clocks from when it was received.
    received_at = submission.received_at or now
    keypair = crypto.generate_keypair()
    receipt_code, receipt_lookup = _new_receipt_code(session, pepper)
    passphrase = crypto.generate_passphrase()
    uid = secrets.token_hex(16)
    # Argon2id (and any wait for its slot) before the first write: on SQLite a write holds the
    # database's one write lock until the commit, and a flood must not hold it while it waits.
    # Until then this transaction only reads, so discarding a refused form's files (a write of
    # their own, in the database store) never waits on it either.
    with gate.slot():
        wrapped_key, reporter_keys = crypto.wrap_with_secret_keys(
            keypair.private_key,
            crypto.normalize_passphrase(passphrase),
            contexts.reporter_key(uid),
            profile,
        )
    session.execute(
        delete(PendingReceipt).where(PendingReceipt.created_at < now - PENDING_RECEIPT_LIFETIME)
    )
    case = Case(
        uid=uid,
        receipt_lookup=receipt_lookup,
        submission_lookup=submission_lookup,
        public_key=keypair.public_key,
        reporter_wrapped_key=b"",
        category=category.key,
        # Each custom policy at its latest version, fixed for the life of the case.
        policies=versions.pin_versions(session, clock.policies_for(session, intake, category.key)),
        tier=submission.tier,
        # Checked against the site's list above: a key from it, never what was typed.
        reporter_group=submission.group or None,
        language=submission.language,
        status=CaseStatus.NEW,
        confidential=submission.confidential,
        escalation_level=1,
        sealed_report=b"",
        received_at=received_at,
        third_party=submission.third_party,
        channel=submission.channel,
        minutes_state=None if submission.channel is None else "awaiting",
        # Unread for every handler until they open it.
        last_reporter_at=received_at,
    )
    case.reporter_wrapped_key = wrapped_key
    # Filing the report in the browser is the reporter's first opening of the case; a report a
    # handler recorded for them is not one.
    visits.start_record(case, reporter_keys.visits_key, now=now, opened=recorded_by is None)
    integrity.tag_reporter_key(session, case)
    integrity.sign_case_key(session, case)
    report = {
        "category": category.label,
        "tier": submission.tier,
        "answers": [
            {"label": q.label, "answer": submission.answers.get(q.key, "").strip()}
            for q in intake.questions
        ],
    }
    if submission.channel is not None:
        report["answers"] = [{"label": MINUTES_LABEL, "answer": submission.minutes.strip()}]
        report["channel"] = submission.channel
    if clock.late_window_of(session, case.policies) is not None:
        # Sealed with the report, not a clear column: whether the events are old says something
        # about them, and only the handlers who read the report need it.
        report["late"] = submission.late
    case.sealed_report, case.sealed_report_tag = integrity.seal_item(
        session, keypair.public_key, json.dumps(report).encode(), contexts.report(case.uid)
    )
    first_answer = next(
        (text for q in intake.questions if (text := submission.answers.get(q.key, "").strip())), ""
    )
    if submission.channel is not None:
        first_answer = submission.minutes.strip()
    case.sealed_preview, case.sealed_preview_tag = integrity.seal_item(
        session, keypair.public_key, _preview(first_answer).encode(), contexts.preview(case.uid)
    )
    if submission.confidential:
        identity = {"name": submission.name.strip(), "contact": submission.contact.strip()}
        case.sealed_identity, case.sealed_identity_tag = integrity.seal_item(
            session, keypair.public_key, json.dumps(identity).encode(), contexts.identity(case.uid)
        )
    session.add(case)
    try:
        # PostgreSQL checks the unique submission lookup here, at the insert, not at commit.
        session.flush()
    except IntegrityError:
        return _lost_race(session, store, submission, submission_lookup, now)

    receiving = [r.id for r in recipients if r.id not in submission.excluded_handler_ids]
    skipped = _grant_to_receiving(session, case, keypair.private_key, receiving, now)
    if len(skipped) == len(receiving):
        # Nobody could be given the case key: a case nobody can read helps no one. Nothing is
        # kept, and the reporter is told so while they still have what they wrote.
        session.rollback()
        _discard(store, submission.uploads)
        _tell_admins_of_bad_keys(session, skipped, None, clock_settings, now)
        session.commit()
        raise InvalidInputError(str(NOBODY_CAN_RECEIVE))
    _tell_admins_of_bad_keys(session, skipped, case, clock_settings, now)
    # Under escrow from the start: no case is lost to one forgotten password.
    escrow_keys.seal_escrow_copy(session, case, keypair.private_key, now)
    for excluded in submission.excluded_handler_ids & {r.id for r in recipients}:
        session.add(CaseExclusion(case_id=case.id, user_id=excluded))
    add_attachments(session, case, submission.uploads, AuthorKind.REPORTER, None, now)
    session.add(CaseEvent(case_id=case.id, kind=EventKind.RECEIVED, occurred_at=received_at))
    # A report recorded after it was received runs its clocks from the time received; the
    # warnings already past when it is recorded are skipped, as at any start.
    clock.apply_event(
        session,
        case,
        EventKind.RECEIVED,
        now=received_at,
        settings=clock_settings,
        recorded_at=now,
    )
    case_news.tell_holders(session, case, DigestKind.REPORT, clock_settings, now=now)

    if recorded_by is not None:
        # A handler recorded the report on the reporter's behalf (services/oral.py).
        audit.record(
            session,
            "oral_report_recorded",
            now=now,
            actor_id=recorded_by.id,
            case_id=case.id,
            detail=f"channel: {submission.channel}",
        )
    files = tuple(ReceiptFile(u.name, u.cleaning.value, u.kind.value) for u in submission.uploads)
    proof = None
    if proof_key is not None and recorded_by is None:
        # As sealed in the report above, so that a handler can rebuild the same bytes.
        answers = [(q.label, submission.answers.get(q.key, "").strip()) for q in intake.questions]
        item = proof_items.canonical_report(
            category.label, submission.tier, answers, [u.name for u in submission.uploads]
        )
        proof = proof_items.make_proof(proof_key, case, "report", 1, received_at, item)
    receipt = Receipt(
        receipt_code,
        passphrase,
        tuple(clock.expectations(session, case)),
        files,
        critical=case.tier == 1,
        language=case.language,
        proof=proof,
    )
    # A receipt recorded by a handler is shown to them once and never kept: a second post of
    # the same form is refused as already filed.
    if recorded_by is None:
        session.add(
            PendingReceipt(
                submission_lookup=submission_lookup,
                case_id=case.id,
                wrapped_receipt=crypto.wrap_with_key(
                    json.dumps(
                        [
                            receipt_code,
                            passphrase,
                            [[f.name, f.cleaning, f.kind] for f in files],
                            _proof_fields(proof),
                        ]
                    ).encode(),
                    submission.form_token.encode(),
                    contexts.pending_receipt(case.uid),
                ),
                created_at=now,
            )
        )
    # The files first, then the one commit: a case never names a file that is not there. If
    # the store refuses, nothing is written; if the database fails at the commit, the files go.
    try:
        commit_with_files(session, store, submission.uploads)
    except IntegrityError:
        return _lost_race(session, store, submission, submission_lookup, now)
    return receipt


def _lost_race(
    session: Session,
    store: AttachmentStore,
    submission: Submission,
    submission_lookup: bytes,
    now: datetime,
) -> Receipt:
    """The same form raced in on another connection and opened the case: show its receipt."""
    session.rollback()
    _discard(store, submission.uploads)
    existing = _existing_receipt(session, submission, submission_lookup, now)
    if existing is None:
        raise InvalidInputError(
            _(
                "The report could not be filed just now; what you typed is kept below. "
                "Send it again."
            )
        )
    return existing


def _grant_to_receiving(
    session: Session,
    case: Case,
    case_private_key: bytes,
    receiving: Sequence[int],
    now: datetime,
) -> list[User]:
    """Seal the case key to every receiving handler whose public key verifies; return the others.

    A handler whose key is malformed or fails its integrity check (a database writer may have
    put their own key there) gets nothing sealed to it; the report still reaches everyone else,
    so one bad row cannot stop intake.
    """
    skipped = []
    for user in session.scalars(select(User).where(User.id.in_(receiving)).order_by(User.id)):
        try:
            public_key = integrity.user_public_key(session, user)
            blob, tag = integrity.seal_item(
                session, public_key, case_private_key, contexts.case_key(case.uid, user.id)
            )
        except crypto.CryptoError:
            skipped.append(user)
            continue
        session.add(
            CaseKeyGrant(
                case_id=case.id, user_id=user.id, sealed_case_key=blob, tag=tag, granted_at=now
            )
        )
    return skipped


def _tell_admins_of_bad_keys(
    session: Session,
    skipped: Sequence[User],
    case: Case | None,
    settings: clock.ClockSettings,
    now: datetime,
) -> None:
    """An audit entry per skipped handler and one content-free e-mail to each admin."""
    if not skipped:
        return
    for user in skipped:
        audit.record(
            session,
            "grant_skipped_bad_key" if case is not None else "report_refused_bad_keys",
            now=now,
            actor_kind="system",
            case_id=case.id if case is not None else None,
            subject_id=user.id,
            detail="public key failed its integrity check; nothing was sealed to it",
        )
    notifications.notify_admins_of_bad_key(session, skipped, settings, case=case, now=now)


def add_attachments(
    session: Session,
    case: Case,
    uploads: Sequence[EncryptedUpload],
    author_kind: AuthorKind,
    message_id: int | None,
    now: datetime,
) -> None:
    """Record uploads as the case's attachments; their metadata is sealed to the case key."""
    public_key = integrity.case_public_key(session, case) if uploads else b""
    for upload in uploads:
        meta = upload.meta()
        sealed_meta, tag = integrity.seal_item(
            session,
            public_key,
            meta.to_bytes(),
            contexts.attachment_meta(case.uid, upload.uid),
            integrity.attachment_bound(author_kind, message_id),
        )
        session.add(
            Attachment(
                uid=upload.uid,
                case_id=case.id,
                message_id=message_id,
                author_kind=author_kind,
                sealed_meta=sealed_meta,
                tag=tag,
                created_at=now,
            )
        )


def confirm_receipt_saved(session: Session, form_token: str, *, pepper: bytes) -> None:
    """Forget the pending receipt: from now on nobody can show it again."""
    lookup = crypto.lookup_hmac(pepper, f"submission:{form_token}")
    pending = session.get(PendingReceipt, lookup)
    if pending is not None:
        session.delete(pending)
        session.commit()


def show_pending_receipt(session: Session, form_token: str, *, pepper: bytes) -> Receipt:
    """The receipt again, for the printable view; only the form's own token opens it."""
    lookup = crypto.lookup_hmac(pepper, f"submission:{form_token}")
    pending = session.get(PendingReceipt, lookup)
    if pending is None:
        raise AlreadyFiledError(_("This receipt is no longer available."))
    return _unwrap_pending(session, pending, form_token)


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _existing_receipt(
    session: Session, submission: Submission, lookup: bytes, now: datetime
) -> Receipt | None:
    pending = session.get(PendingReceipt, lookup)
    # An expired one is deleted with the others once the new case is written.
    if pending is not None and _as_utc(pending.created_at) >= now - PENDING_RECEIPT_LIFETIME:
        return _unwrap_pending(session, pending, submission.form_token)
    if session.scalar(select(Case.id).where(Case.submission_lookup == lookup)) is not None:
        raise AlreadyFiledError(
            _("This report has already been filed, and its receipt was confirmed as saved.")
        )
    return None


def _unwrap_pending(session: Session, pending: PendingReceipt, form_token: str) -> Receipt:
    case = session.get_one(Case, pending.case_id)
    code, passphrase, *rest = json.loads(
        crypto.unwrap_with_key(
            pending.wrapped_receipt, form_token.encode(), contexts.pending_receipt(case.uid)
        )
    )
    files = tuple(ReceiptFile(*f) for f in rest[0]) if rest else ()
    return Receipt(
        code,
        passphrase,
        tuple(clock.expectations(session, case)),
        files,
        critical=case.tier == 1,
        language=case.language,
        proof=_proof_from(rest[1]) if len(rest) > 1 else None,
    )


def _proof_fields(proof: proof_items.ProofFile | None) -> str | None:
    # The proof's own text: the pending receipt holds it as the reporter will download it.
    return None if proof is None else proof_items.render_fields(proof)


def _proof_from(fields: str | None) -> proof_items.ProofFile | None:
    return None if fields is None else proof_items.parse(fields)


def _new_receipt_code(session: Session, pepper: bytes) -> tuple[str, bytes]:
    # 15 random digits make a collision vanishingly rare; still, never hand out a taken code.
    while True:
        code = crypto.generate_receipt_code()
        lookup = crypto.lookup_hmac(pepper, crypto.normalize_receipt_code(code))
        if session.scalar(select(Case.id).where(Case.receipt_lookup == lookup)) is None:
            return code, lookup


PREVIEW_LENGTH = 140


def _preview(text: str) -> str:
    """The start of the first answer, on one line: enough to tell cases apart in the inbox."""
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_LENGTH else line[: PREVIEW_LENGTH - 1] + "…"


def _discard(store: AttachmentStore, uploads: Sequence[EncryptedUpload]) -> None:
    for upload in uploads:
        store.discard(upload.uid)
