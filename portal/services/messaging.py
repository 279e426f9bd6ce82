"""The thread between reporter and handlers: sealed to the case public key, read with its
private key."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import N_, _, _n
from portal.models import Attachment, AuthorKind, Case, CaseEvent, EventKind, Message, Note, User
from portal.services import batch, contexts, integrity
from portal.services.attachments import (
    AttachmentMeta,
    AttachmentStore,
    EncryptedUpload,
    commit_with_files,
)
from portal.services.cleaning import CleaningStatus, Kind
from portal.services.errors import InvalidInputError, NotFoundError
from portal.services.intake import MAX_ANSWER_LENGTH, MAX_FILES, add_attachments


@dataclass(frozen=True)
class AttachmentView:
    uid: str
    name: str
    content_type: str
    size: int
    cleaning: CleaningStatus = CleaningStatus.UNCHECKED
    kind: Kind = Kind.OTHER


# What a message of the thread is, by the value kept in ``messages.kind``, and the words both the
# handlers' and the reporter's pages show for it. A kind is set where the message is sent.
MESSAGE_KINDS = {
    "acknowledgement": N_("Acknowledgement"),
    "feedback": N_("Feedback"),
    "decision": N_("Decision"),
    "resolution": N_("Resolution"),
    "request_info": N_("Request for information"),
    "reply": N_("Reply"),
    "secretary_answer": N_("The Company Secretary's answer"),
    "committee_decision": N_("The committee's decision"),
    "automatic": N_("Automatic message"),
    "reporter": N_("Reporter"),
}
# A row written before kinds were kept, whose kind could not be told from the case's events.
UNKNOWN_KIND = "message"
UNKNOWN_KIND_LABEL = N_("Message")
_KIND_BY_AUTHOR = {
    AuthorKind.REPORTER: "reporter",
    AuthorKind.SYSTEM: "automatic",
    AuthorKind.HANDLER: "reply",
}


def kind_label(kind: str) -> str:
    """The words for a message kind, in the page's language; "Message" for one not known."""
    return _(MESSAGE_KINDS.get(kind, UNKNOWN_KIND_LABEL))


@dataclass(frozen=True)
class MessageView:
    author_kind: AuthorKind
    author_name: str
    body: str
    created_at: datetime
    attachments: tuple[AttachmentView, ...]
    kind: str = UNKNOWN_KIND
    uid: str = ""

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)


@dataclass(frozen=True)
class ReportView:
    category: str
    tier: int
    answers: tuple[tuple[str, str], ...]
    attachments: tuple[AttachmentView, ...]
    # The reporter's answer to the policy's late-window question; None when not asked or not
    # answered.
    late: bool | None = None


def add_message(
    session: Session,
    case: Case,
    body: str,
    *,
    author_kind: AuthorKind,
    author: User | None = None,
    kind: str | None = None,
    uploads: Sequence[EncryptedUpload] = (),
    store: AttachmentStore | None,
    now: datetime,
    commit: bool = True,
) -> None:
    """Add a message to the thread, sealed to the case public key.

    The server can add to a case without being able to read it. ``kind`` (one of
    ``MESSAGE_KINDS``) says what the message is; without it, the author's kind tells (a reply, the
    reporter's message, an automatic message). Commits once, unless the caller's use case goes
    on (``commit=False``: the caller commits and then commits the uploads).
    """
    if kind is None:
        kind = _KIND_BY_AUTHOR[author_kind]
    if kind not in MESSAGE_KINDS:
        raise InvalidInputError(_("Unknown kind of message."))
    body = body.strip()
    if not body and not uploads:
        raise InvalidInputError(_("Write a message or attach a file."))
    if len(body) > MAX_ANSWER_LENGTH:
        raise InvalidInputError(
            _n(
                "The message is longer than %(num)d character.",
                "The message is longer than %(num)d characters.",
                MAX_ANSWER_LENGTH,
            )
        )
    if len(uploads) > MAX_FILES:
        raise InvalidInputError(
            _n("Attach at most %(num)d file.", "Attach at most %(num)d files.", MAX_FILES)
        )
    too_large = [u.name for u in uploads if u.too_large]
    if too_large:
        # NOTE: %(name)s is the name of the file the person chose.
        raise InvalidInputError(
            _("The file “%(name)s” is larger than the limit.", name=too_large[0])
        )
    uid = secrets.token_hex(16)
    author_id = author.id if author is not None else None
    # A swapped case key is refused here, before the server seals anything to it.
    sealed_body, tag = integrity.seal_item(
        session,
        integrity.case_public_key(session, case),
        body.encode(),
        contexts.message(case.uid, uid),
        integrity.message_bound(author_kind, author_id),
    )
    fields = {
        "uid": uid,
        "case_id": case.id,
        "author_kind": author_kind,
        "author_id": author_id,
        "sealed_body": sealed_body,
        "tag": tag,
        "created_at": now,
        "kind": kind,
    }
    if uploads:
        message = Message(**fields)
        session.add(message)
        session.flush()  # the attachments need the message's id
        add_attachments(session, case, uploads, author_kind, message.id, now)
    else:
        batch.add(session, Message, fields)
    if author_kind is AuthorKind.REPORTER:
        session.add(CaseEvent(case_id=case.id, kind=EventKind.REPORTER_MESSAGE, occurred_at=now))
        # The inbox marks the case unread for each handler who has not opened it since.
        case.last_reporter_at = now
    if not commit:
        return
    commit_with_files(session, store, uploads)


def seal_note(session: Session, case: Case, author: User, body: str, *, now: datetime) -> Note:
    """Add an internal note, sealed to the case public key, in the caller's transaction."""
    uid = secrets.token_hex(16)
    sealed_body, tag = integrity.seal_item(
        session,
        integrity.case_public_key(session, case),
        body.encode(),
        contexts.note(case.uid, uid),
        integrity.note_bound(author.id),
    )
    note = Note(
        uid=uid,
        case_id=case.id,
        author_id=author.id,
        sealed_body=sealed_body,
        tag=tag,
        created_at=now,
    )
    session.add(note)
    return note


def read_report(session: Session, case: Case, case_private_key: bytes) -> ReportView:
    """The decrypted report. A tampered ciphertext raises DecryptionError: nothing half-shown.

    A case whose public key fails its check is refused here too, before anyone reads on and
    answers into a case that would seal their answer to someone else's key.
    """
    integrity.case_public_key(session, case)
    report = json.loads(
        integrity.open_item(
            session,
            case_private_key,
            case.sealed_report,
            case.sealed_report_tag,
            contexts.report(case.uid),
        )
    )
    attachments = session.scalars(
        select(Attachment)
        .where(Attachment.case_id == case.id, Attachment.message_id.is_(None))
        .order_by(Attachment.id)
    )
    return ReportView(
        category=report["category"],
        tier=int(report["tier"]),
        answers=tuple((a["label"], a["answer"]) for a in report["answers"]),
        attachments=tuple(
            _attachment_view(session, case, a, case_private_key) for a in attachments
        ),
        late=report.get("late"),
    )


def read_thread(session: Session, case: Case, case_private_key: bytes) -> list[MessageView]:
    """Every message of the case, oldest first, decrypted with the case key.

    All of it is opened before anything is returned, so a tampered entry refuses the page
    rather than showing part of the thread.
    """
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.case_id == case.id)
            .order_by(Message.created_at, Message.id)
        )
    )
    files: dict[int, list[AttachmentView]] = {}
    for attachment in session.scalars(
        select(Attachment)
        .where(Attachment.case_id == case.id, Attachment.message_id.is_not(None))
        .order_by(Attachment.id)
    ):
        files.setdefault(attachment.message_id or 0, []).append(
            _attachment_view(session, case, attachment, case_private_key)
        )
    author_ids = sorted({m.author_id for m in messages if m.author_id is not None})
    names: dict[int, str] = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(author_ids))
        ).all()
    }
    return [
        MessageView(
            author_kind=m.author_kind,
            author_name=names.get(m.author_id, "") if m.author_id is not None else "",
            body=integrity.open_item(
                session,
                case_private_key,
                m.sealed_body,
                m.tag,
                *integrity.message_place(case.uid, m),
            ).decode(),
            created_at=m.created_at,
            attachments=tuple(files.get(m.id, ())),
            kind=_stored_kind(m),
            uid=m.uid,
        )
        for m in messages
    ]


def _stored_kind(message: Message) -> str:
    if message.kind is not None:
        return message.kind
    # Older rows: the author tells a reporter's or an automatic message for certain; a handler's
    # older reply or request for information cannot be told apart, so it is just "Message".
    if message.author_kind is AuthorKind.HANDLER:
        return UNKNOWN_KIND
    return _KIND_BY_AUTHOR[message.author_kind]


def open_attachment(
    session: Session,
    case: Case,
    case_private_key: bytes,
    attachment_uid: str,
    store: AttachmentStore,
    *,
    author_kinds: frozenset[AuthorKind] | None = None,
) -> tuple[AttachmentView, Iterator[bytes]]:
    """An attachment of ``case`` with its decrypted content as a stream of verified chunks."""
    attachment = session.scalar(
        select(Attachment).where(Attachment.case_id == case.id, Attachment.uid == attachment_uid)
    )
    if attachment is None or (
        author_kinds is not None and attachment.author_kind not in author_kinds
    ):
        raise NotFoundError(_("No such attachment."))
    meta = _meta(session, case, attachment, case_private_key)
    return _view(attachment, meta), store.read(attachment.uid, meta.file_key)


def _meta(
    session: Session, case: Case, attachment: Attachment, case_private_key: bytes
) -> AttachmentMeta:
    return AttachmentMeta.from_bytes(
        integrity.open_item(
            session,
            case_private_key,
            attachment.sealed_meta,
            attachment.tag,
            *integrity.attachment_place(case.uid, attachment),
        )
    )


def _attachment_view(
    session: Session, case: Case, attachment: Attachment, case_private_key: bytes
) -> AttachmentView:
    return _view(attachment, _meta(session, case, attachment, case_private_key))


def _view(attachment: Attachment, meta: AttachmentMeta) -> AttachmentView:
    return AttachmentView(
        attachment.uid, meta.name, meta.content_type, meta.size, meta.cleaning, meta.kind
    )
