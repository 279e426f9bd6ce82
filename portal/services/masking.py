"""Masking redacted words: the one function every output of a case goes through.

A phrase is matched without regard to the case of its letters, and any run of white space in
it matches any run in the text (a line break where the reporter wrapped a name): a name written
"JOHN SMITH" in one message and "John\\nSmith" in another is masked in both. Masking more than
asked is the safe side of the trade; the phrase list is the handler's, so they see what it hides
on the confirmation page before anything is saved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import _
from portal.models import Case, CaseKeyGrant, Redaction
from portal.services import contexts, integrity, messaging
from portal.services.attachments import AttachmentStore
from portal.services.messaging import AttachmentView, MessageView, ReportView

if TYPE_CHECKING:
    from portal.services.casework import CaseAccess


def marker() -> str:
    """What stands in the place of masked words, in the reader's language."""
    return _("[redacted]")


@dataclass(frozen=True)
class Masks:
    """What one reader gets of a case's redactions.

    ``hidden`` phrases are replaced by the marker in everything the reader is given; ``shown``
    phrases are ones this reader may see though they are redacted for others (the case page
    highlights them).
    """

    hidden: tuple[str, ...] = ()
    shown: tuple[str, ...] = ()

    def text(self, value: str) -> str:
        return mask(value, self.hidden)


NONE = Masks()


def split_phrases(typed: str) -> list[str]:
    """One phrase per line; blank lines and the white space around each phrase are dropped,
    and a phrase given twice counts once."""
    phrases: list[str] = []
    for line in typed.splitlines():
        phrase = " ".join(line.split())
        if phrase and phrase.casefold() not in {p.casefold() for p in phrases}:
            phrases.append(phrase)
    return phrases


def _pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    words = [phrase.split() for phrase in phrases]
    # Longest first, so that "John Smith" is masked whole rather than "John" and then " Smith".
    alternatives = sorted(
        (r"\s+".join(re.escape(w) for w in ws) for ws in words if ws), key=len, reverse=True
    )
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def occurs(text: str, phrase: str) -> bool:
    """Whether ``phrase`` is in ``text`` as masking would find it."""
    pattern = _pattern([phrase])
    return pattern is not None and pattern.search(text) is not None


def mask(text: str, phrases: Sequence[str]) -> str:
    """``text`` with every occurrence of every phrase replaced by the marker."""
    pattern = _pattern(phrases)
    if pattern is None or not text:
        return text
    return pattern.sub(marker(), text)


def mask_preview(text: str, phrases: Sequence[str]) -> str:
    """A shortened text (ending in "…") masked; a phrase cut off by the shortening is masked
    too, since its first letters may already tell it."""
    masked = mask(text, phrases)
    if not phrases or not masked.endswith("…"):
        return masked
    body = masked[:-1]
    folded = body.casefold()
    for phrase in phrases:
        start = phrase.casefold()
        for length in range(len(start) - 1, 0, -1):
            cut = len(body) - length
            # Only where a word begins: "in" ending a word is not the start of "Nina".
            if folded.endswith(start[:length]) and (cut == 0 or not body[cut - 1].isalnum()):
                return body[:cut] + marker() + "…"
    return masked


def spans(text: str, phrases: Sequence[str]) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each saying whether it is one of the phrases: for highlighting
    what others do not see."""
    pattern = _pattern(phrases)
    if pattern is None:
        return [(text, False)]
    pieces: list[tuple[str, bool]] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            pieces.append((text[at : match.start()], False))
        pieces.append((match.group(), True))
        at = match.end()
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


# --- a case's redactions, opened for one reader ------------------------------------------------


@dataclass(frozen=True)
class OpenedRedaction:
    row: Redaction
    phrases: tuple[str, ...]
    reason: str
    removal_reason: str | None


def redaction_bound(row: Redaction) -> bytes:
    """What a redaction's tag binds besides its place: the item and who made it."""
    return f"item:{row.item_kind}:{row.item_uid};by:{row.made_by}".encode()


def removal_bound(row: Redaction) -> bytes:
    return f"by:{row.removed_by}".encode()


def open_redactions(
    session: Session, case: Case, case_private_key: bytes, *, removed: bool = False
) -> list[OpenedRedaction]:
    """The case's redactions in force (and the removed ones too when ``removed``), oldest first,
    opened with the case key; one that fails its check refuses them all (DecryptionError)."""
    query = select(Redaction).where(Redaction.case_id == case.id)
    if not removed:
        query = query.where(Redaction.removed_at.is_(None))
    opened = []
    for row in session.scalars(query.order_by(Redaction.made_at, Redaction.id)):
        content = json.loads(
            integrity.open_item(
                session,
                case_private_key,
                row.sealed,
                row.tag,
                contexts.redaction(case.uid, row.uid),
                redaction_bound(row),
            )
        )
        removal = None
        if row.sealed_removal is not None:
            removal = integrity.open_item(
                session,
                case_private_key,
                row.sealed_removal,
                row.removal_tag,
                contexts.redaction_removal(case.uid, row.uid),
                removal_bound(row),
            ).decode()
        opened.append(
            OpenedRedaction(row, tuple(content["phrases"]), str(content["reason"]), removal)
        )
    return opened


def sees_original(grant: CaseKeyGrant, row: Redaction) -> bool:
    """Who held the case when it was redacted keeps seeing the original; a colleague granted it
    later sees it only when their grant says so."""
    return grant.with_originals or grant.granted_at <= row.made_at


def masks_for_grant(
    session: Session, case: Case, case_private_key: bytes, grant: CaseKeyGrant
) -> Masks:
    """What the holder of ``grant`` gets masked (and highlighted) of this case."""
    hidden: list[str] = []
    shown: list[str] = []
    for redaction in open_redactions(session, case, case_private_key):
        (shown if sees_original(grant, redaction.row) else hidden).extend(redaction.phrases)
    return Masks(tuple(hidden), tuple(p for p in shown if p not in hidden))


def export_masks(session: Session, case: Case, case_private_key: bytes) -> Masks:
    """An export leaves the site: every redaction in force is masked in it, whoever exports."""
    return Masks(
        tuple(p for r in open_redactions(session, case, case_private_key) for p in r.phrases)
    )


def has_redactions(session: Session, case: Case) -> bool:
    return (
        session.scalar(
            select(Redaction.id)
            .where(Redaction.case_id == case.id, Redaction.removed_at.is_(None))
            .limit(1)
        )
        is not None
    )


# --- the case's content as one handler may read it ---------------------------------------------


def mask_attachment(view: AttachmentView, masks: Masks) -> AttachmentView:
    return replace(view, name=masks.text(view.name)) if masks.hidden else view


def report_for(session: Session, access: CaseAccess) -> ReportView:
    """The report as this handler may read it: redacted words masked."""
    report = messaging.read_report(session, access.case, access.case_private_key)
    masks = access.masks
    if not masks.hidden:
        return report
    return replace(
        report,
        answers=tuple((label, masks.text(answer)) for label, answer in report.answers),
        attachments=tuple(mask_attachment(a, masks) for a in report.attachments),
    )


def thread_for(session: Session, access: CaseAccess) -> list[MessageView]:
    """The thread as this handler may read it: redacted words masked in bodies and file names."""
    thread = messaging.read_thread(session, access.case, access.case_private_key)
    masks = access.masks
    if not masks.hidden:
        return thread
    return [
        replace(
            m,
            body=masks.text(m.body),
            attachments=tuple(mask_attachment(a, masks) for a in m.attachments),
        )
        for m in thread
    ]


def attachment_for(
    session: Session, access: CaseAccess, attachment_uid: str, store: AttachmentStore
) -> tuple[AttachmentView, Iterator[bytes]]:
    """An attachment's content for this handler, its name masked as theirs is (the file itself
    is not altered by a redaction)."""
    view, chunks = messaging.open_attachment(
        session, access.case, access.case_private_key, attachment_uid, store
    )
    return mask_attachment(view, access.masks), chunks
