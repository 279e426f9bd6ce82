"""Redacting parts of a case for colleagues granted it later, for exports and statistics.

A handler names the exact words to mask in one item (a report answer, a message, a note or an
attachment's name) and why. What is masked and why are case content, so both are sealed to the
case public key; the row keeps in the clear only which item, who and when. The original stays
as it was: the handlers who held the case when it was redacted go on reading it (highlighted),
and a colleague granted the case later reads the masked version unless their grant says
otherwise (services/masking.py applies the masks wherever content is opened for a handler).

This is an access rule kept by the server, not by cryptography: a later colleague holds the
case key like everyone else, so a changed server (or someone with the database and that
colleague's password) could still open the originals. See docs/threat-model.md.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _, _l, _n
from portal.models import Attachment, CaseKeyGrant, Message, Note, Redaction, User
from portal.services import audit, contexts, integrity, masking
from portal.services.attachments import AttachmentMeta
from portal.services.casework import CaseAccess
from portal.services.errors import InvalidInputError, NotFoundError

ITEM_KINDS = {
    "report": _l("Report"),
    "message": _l("Message"),
    "note": _l("Note"),
    "attachment": _l("File name"),
}
MAX_PHRASES = 50
MAX_PHRASE_LENGTH = 200
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Item:
    """One item of a case that can be redacted, as this handler reads it."""

    kind: str
    uid: str
    # Which answer of the report, or empty: the form says what the item is.
    label: str
    text: str

    @property
    def kind_label(self) -> str:
        return str(ITEM_KINDS[self.kind])


@dataclass(frozen=True)
class Proposal:
    """A redaction checked and shown before it is saved."""

    item: Item
    phrases: tuple[str, ...]
    reason: str
    # The item as colleagues granted the case later will read it.
    masked: str


@dataclass(frozen=True)
class RedactionView:
    uid: str
    item_kind: str
    item_label: str
    made_by: str
    made_at: datetime
    # Masked as everything else is for this handler; the phrases only for those who see them.
    reason: str
    phrases: tuple[str, ...]
    phrase_count: int
    removed_at: datetime | None
    removed_by: str
    removal_reason: str
    may_remove: bool

    @property
    def kind_label(self) -> str:
        return str(ITEM_KINDS.get(self.item_kind, self.item_kind))


def item_of(session: Session, access: CaseAccess, kind: str, uid: str) -> Item:
    """The item as this handler reads it (masked for them); NotFoundError if it is not one of
    this case's."""
    case, key, masks = access.case, access.case_private_key, access.masks
    if kind == "report":
        answers = masking.report_for(session, access).answers
        if not uid.isdigit() or int(uid) >= len(answers) or not answers[int(uid)][1]:
            raise NotFoundError(_("No such part of the case."))
        label, answer = answers[int(uid)]
        return Item(kind, uid, label, answer)
    if kind == "message":
        message = session.scalar(
            select(Message).where(Message.case_id == case.id, Message.uid == uid)
        )
        if message is None:
            raise NotFoundError(_("No such part of the case."))
        body = integrity.open_item(
            session,
            key,
            message.sealed_body,
            message.tag,
            *integrity.message_place(case.uid, message),
        )
        return Item(kind, uid, "", masks.text(body.decode()))
    if kind == "note":
        note = session.scalar(select(Note).where(Note.case_id == case.id, Note.uid == uid))
        if note is None:
            raise NotFoundError(_("No such part of the case."))
        body = integrity.open_item(
            session, key, note.sealed_body, note.tag, *integrity.note_place(case.uid, note)
        )
        return Item(kind, uid, "", masks.text(body.decode()))
    if kind == "attachment":
        attachment = session.scalar(
            select(Attachment).where(Attachment.case_id == case.id, Attachment.uid == uid)
        )
        if attachment is None:
            raise NotFoundError(_("No such part of the case."))
        meta = AttachmentMeta.from_bytes(
            integrity.open_item(
                session,
                key,
                attachment.sealed_meta,
                attachment.tag,
                *integrity.attachment_place(case.uid, attachment),
            )
        )
        return Item(kind, uid, "", masks.text(meta.name))
    raise NotFoundError(_("No such part of the case."))


def propose(
    session: Session, access: CaseAccess, kind: str, uid: str, typed: str, reason: str
) -> Proposal:
    """Check a redaction before it is shown for confirmation; changes nothing.

    Each phrase must be in the item as this handler reads it, so a handler who reads a masked
    version cannot find out what is under a mask by guessing.
    """
    item = item_of(session, access, kind, uid)
    phrases = masking.split_phrases(typed)
    reason = reason.strip()
    if not phrases:
        raise InvalidInputError(_("Give the exact words to mask, one phrase per line."))
    if len(phrases) > MAX_PHRASES:
        raise InvalidInputError(
            _n(
                "Give at most %(num)d phrase at a time.",
                "Give at most %(num)d phrases at a time.",
                MAX_PHRASES,
            )
        )
    long = next((p for p in phrases if len(p) > MAX_PHRASE_LENGTH), None)
    if long is not None:
        raise InvalidInputError(
            _n(
                "A phrase may be at most %(num)d character long.",
                "A phrase may be at most %(num)d characters long.",
                MAX_PHRASE_LENGTH,
            )
        )
    missing = [p for p in phrases if not masking.occurs(item.text, p)]
    if missing:
        # NOTE: %(phrase)s is what the handler typed; it is shown back to them only.
        raise InvalidInputError(
            _(
                "“%(phrase)s” is not in this text. Copy the words exactly as they are written.",
                phrase=missing[0],
            )
        )
    if not reason:
        raise InvalidInputError(_("Say why these words are redacted."))
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInputError(
            _n(
                "The reason may be at most %(num)d character long.",
                "The reason may be at most %(num)d characters long.",
                MAX_REASON_LENGTH,
            )
        )
    # As later colleagues will read it: with what is redacted already, here or elsewhere.
    masked = masking.mask(item.text, [*phrases, *access.masks.shown])
    return Proposal(item, tuple(phrases), reason, masked)


def make_redaction(
    session: Session,
    access: CaseAccess,
    kind: str,
    uid: str,
    typed: str,
    reason: str,
    *,
    now: datetime,
) -> Redaction:
    """Mask the phrases for colleagues granted the case later, exports and statistics; the
    words and the reason are sealed to the case key, the act audited. Commits once."""
    proposal = propose(session, access, kind, uid, typed, reason)
    case = access.case
    row = Redaction(
        uid=secrets.token_hex(16),
        case_id=case.id,
        item_kind=kind,
        item_uid=uid,
        made_by=access.handler.id,
        made_at=now,
        sealed=b"",
    )
    content = {"phrases": list(proposal.phrases), "reason": proposal.reason}
    # A swapped case key is refused here, before the server seals anything to it.
    row.sealed, row.tag = integrity.seal_item(
        session,
        integrity.case_public_key(session, case),
        json.dumps(content).encode(),
        contexts.redaction(case.uid, row.uid),
        masking.redaction_bound(row),
    )
    session.add(row)
    audit.record(
        session,
        "redaction_made",
        now=now,
        actor_id=access.handler.id,
        case_id=case.id,
        detail=f"redaction {row.uid[:8]} of {kind} {uid[:8]}",
    )
    session.commit()
    return row


def redactions_of(session: Session, access: CaseAccess) -> list[RedactionView]:
    """Every redaction of the case, the removed ones too, oldest first, as this handler may
    read them: the masked words only for those who see the originals."""
    grant = _grant(session, access)
    opened = masking.open_redactions(session, access.case, access.case_private_key, removed=True)
    ids = {r.row.made_by for r in opened} | {r.row.removed_by for r in opened if r.row.removed_by}
    names = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(ids))
        ).tuples()
    }
    masks = access.masks
    labels: Sequence[str] = ()
    if any(r.row.item_kind == "report" for r in opened):
        labels = [label for label, _answer in masking.report_for(session, access).answers]
    views = []
    for r in opened:
        row = r.row
        sees = row.removed_at is not None or masking.sees_original(grant, row)
        views.append(
            RedactionView(
                uid=row.uid,
                item_kind=row.item_kind,
                item_label=_item_label(labels, row),
                made_by=names.get(row.made_by, ""),
                made_at=row.made_at,
                reason=masks.text(r.reason),
                phrases=r.phrases if sees else (),
                phrase_count=len(r.phrases),
                removed_at=row.removed_at,
                removed_by=names.get(row.removed_by, "") if row.removed_by else "",
                removal_reason=masks.text(r.removal_reason or ""),
                may_remove=row.removed_at is None and sees,
            )
        )
    return views


def get_redaction(session: Session, access: CaseAccess, redaction_uid: str) -> RedactionView:
    """One redaction in force that this handler may remove; NotFoundError otherwise."""
    found = next(
        (v for v in redactions_of(session, access) if v.uid == redaction_uid and v.may_remove),
        None,
    )
    if found is None:
        raise NotFoundError(_("No such redaction."))
    return found


def remove_redaction(
    session: Session, access: CaseAccess, redaction_uid: str, reason: str, *, now: datetime
) -> None:
    """Show the masked words again to everyone who holds the case; only a handler who sees the
    original may. The reason is sealed like the redaction's, the act audited. Commits once."""
    get_redaction(session, access, redaction_uid)
    reason = reason.strip()
    if not reason:
        raise InvalidInputError(_("Say why the redaction is removed."))
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInputError(
            _n(
                "The reason may be at most %(num)d character long.",
                "The reason may be at most %(num)d characters long.",
                MAX_REASON_LENGTH,
            )
        )
    case = access.case
    row = session.scalars(
        select(Redaction).where(Redaction.case_id == case.id, Redaction.uid == redaction_uid)
    ).one()
    row.removed_at = now
    row.removed_by = access.handler.id
    row.sealed_removal, row.removal_tag = integrity.seal_item(
        session,
        integrity.case_public_key(session, case),
        reason.encode(),
        contexts.redaction_removal(case.uid, row.uid),
        masking.removal_bound(row),
    )
    audit.record(
        session,
        "redaction_removed",
        now=now,
        actor_id=access.handler.id,
        case_id=case.id,
        detail=f"redaction {row.uid[:8]} of {row.item_kind} {row.item_uid[:8]}",
    )
    session.commit()


def _grant(session: Session, access: CaseAccess) -> CaseKeyGrant:
    grant = session.get(CaseKeyGrant, (access.case.id, access.handler.id))
    if grant is None:
        raise NotFoundError(_("No such case."))
    return grant


def _item_label(labels: Sequence[str], row: Redaction) -> str:
    """Which answer of the report; for the other kinds, the kind says enough."""
    if row.item_kind != "report":
        return ""
    index = int(row.item_uid) if row.item_uid.isdigit() else -1
    return labels[index] if 0 <= index < len(labels) else ""
