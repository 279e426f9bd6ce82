"""A case leaves the site: as a PDF, or as a zip of that PDF and the decrypted files.

Everything is opened and verified before anything is handed back, so a tampered message,
note or file stops the export as a whole: nothing is ever half-exported. The export is
audited (its format and whether the zip was encrypted, never the passphrase), and the
reporter's identity goes into it only when this handler has already revealed it on the case
page, recorded as one more look at it.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO
from zoneinfo import ZoneInfo

import pyzipper
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import IntakeConfig
from portal.i18n import _
from portal.models import AuditEntry
from portal.services import audit, identity_access, integrity, masking, messaging
from portal.services.attachments import AttachmentStore
from portal.services.case_document import CaseContents, FileEntry, render_case
from portal.services.casework import CaseAccess, notes_for, open_identity
from portal.services.errors import InvalidInputError
from portal.services.inbox import reference

# WinZip AES-256 keys come from PBKDF2 over the passphrase: a short one falls to guessing
# offline, since the file can be copied anywhere.
MIN_PASSPHRASE_LENGTH = 12
MAX_PASSPHRASE_LENGTH = 1024
_UNSAFE = re.compile(r"[^\w.\- ()]+")


@dataclass(frozen=True)
class ExportedFile:
    """One download: its name, and its bytes in a file object positioned at the start."""

    name: str
    content: IO[bytes]
    size: int


def has_revealed_identity(session: Session, access: CaseAccess) -> bool:
    """Whether this handler has looked at the reporter's identity on this case (audited)."""
    return (
        access.case.sealed_identity is not None
        and session.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.case_id == access.case.id,
                AuditEntry.actor_id == access.handler.id,
                AuditEntry.action == "identity_revealed",
            )
            .limit(1)
        )
        is not None
    )


def identity_withheld(session: Session, access: CaseAccess) -> bool:
    """Whether a custodian is named and this handler has no standing approval for the identity
    of this case: the export then says it is withheld, whatever was revealed before."""
    return access.case.sealed_identity is not None and not identity_access.may_open(
        session, access.case, access.handler
    )


def export_pdf(
    session: Session,
    access: CaseAccess,
    *,
    intake: IntakeConfig,
    zone: ZoneInfo,
    now: datetime,
) -> ExportedFile:
    """The case as a PDF; audited. Refuses as a whole (DecryptionError) if anything fails its
    integrity check. Commits once."""
    access = _redacted(session, access)
    contents = _read(session, access)
    data = render_case(session, access, contents, intake, zone, None)
    _audit(session, access, contents, "pdf", now)
    session.commit()
    return ExportedFile(f"{reference(access.case)}.pdf", io.BytesIO(data), len(data))


def export_zip(
    session: Session,
    access: CaseAccess,
    store: AttachmentStore,
    *,
    passphrase: str | None,
    intake: IntakeConfig,
    zone: ZoneInfo,
    now: datetime,
) -> ExportedFile:
    """The case's PDF and every decrypted file in one zip, AES-256 encrypted (WinZip AES) when a
    passphrase is given; audited without the passphrase. Commits once.

    The zip is built in memory before any of it is returned: each file passes through a chunk
    at a time (never whole, never written to the server's disk in the clear), and a file that
    fails its check (DecryptionError) discards the whole zip.
    """
    if passphrase is not None and not (
        MIN_PASSPHRASE_LENGTH <= len(passphrase) <= MAX_PASSPHRASE_LENGTH
    ):
        raise InvalidInputError(
            _(
                "The passphrase must be at least %(length)s characters long.",
                length=MIN_PASSPHRASE_LENGTH,
            )
        )
    access = _redacted(session, access)
    contents = _read(session, access)
    ref = reference(access.case)
    names = _zip_names(contents.files)
    document = render_case(session, access, contents, intake, zone, names)
    buffer = io.BytesIO()
    encryption = {"encryption": pyzipper.WZ_AES} if passphrase is not None else {}
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, **encryption
    ) as archive:
        if passphrase is not None:
            archive.setpassword(passphrase.encode())
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.writestr(f"{ref}.pdf", document)
        for entry in contents.files:
            _view, chunks = messaging.open_attachment(
                session, access.case, access.case_private_key, entry.uid, store
            )
            with archive.open(names[entry.uid], "w", force_zip64=True) as target:
                for chunk in chunks:
                    target.write(chunk)
    _audit(session, access, contents, "zip, encrypted" if passphrase else "zip", now)
    session.commit()
    size = buffer.tell()
    buffer.seek(0)
    return ExportedFile(f"{ref}.zip", buffer, size)


def _redacted(session: Session, access: CaseAccess) -> CaseAccess:
    """The handler's access with every redaction in force masked: an export leaves the site,
    so even a handler who sees the originals exports the redacted version."""
    return replace(
        access, masks=masking.export_masks(session, access.case, access.case_private_key)
    )


def _read(session: Session, access: CaseAccess) -> CaseContents:
    """Open everything the export holds, masked as ``access`` says; any failed check raises
    before anything is built."""
    case = access.case
    integrity.check_reporter_key(session, case)
    report = masking.report_for(session, access)
    thread = masking.thread_for(session, access)
    notes = notes_for(session, access)
    identity = None
    withheld = identity_withheld(session, access)
    if not withheld and has_revealed_identity(session, access):
        identity = open_identity(session, access)
    files = [
        FileEntry(a.uid, a.name, a.size, a.cleaning.value.replace("_", " "), None)
        for a in report.attachments
    ]
    for message in thread:
        files.extend(
            FileEntry(a.uid, a.name, a.size, a.cleaning.value.replace("_", " "), message.created_at)
            for a in message.attachments
        )
    return CaseContents(report, thread, notes, identity, files, identity_withheld=withheld)


def _audit(
    session: Session, access: CaseAccess, contents: CaseContents, kind: str, now: datetime
) -> None:
    case_id, actor = access.case.id, access.handler.id
    if contents.identity is not None:
        audit.record(
            session,
            "identity_revealed",
            now=now,
            actor_id=actor,
            case_id=case_id,
            detail="included in an export",
        )
    audit.record(session, "case_exported", now=now, actor_id=actor, case_id=case_id, detail=kind)


def safe_name(name: str) -> str:
    """A file name that stays inside the folder it is unpacked into, on any system."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if dot and stem and len(ext) <= 16:
        # Shortened from the middle, so the extension (how the file opens) survives.
        name = f"{stem[: 120 - len(ext) - 1]}.{ext}"
    return name[:120] or "file"


def _zip_names(files: Sequence[FileEntry]) -> dict[str, str]:
    """Each file's path in the zip: under files/, unique whatever the case of the letters."""
    taken: set[str] = set()
    names = {}
    for entry in files:
        base = safe_name(entry.name)
        stem, dot, ext = base.rpartition(".")
        if not dot or not stem:
            stem, ext = base, ""
        candidate, number = base, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{stem} ({number}).{ext}" if ext else f"{stem} ({number})"
        taken.add(candidate.casefold())
        names[entry.uid] = f"files/{candidate}"
    return names
