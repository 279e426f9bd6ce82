"""Encrypted attachment files on disk.

Uploads are encrypted while they arrive (see :class:`EncryptingSink`), so no plaintext of an
attachment ever touches the disk. A file of a kind that can be cleaned of its metadata is held in
memory up to a limit, cleaned, and only then encrypted; anything else passes through fixed memory.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from base64 import b64decode, b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import crypto
from portal.services.attachment_store import (
    AttachmentMissingError,
    AttachmentStore,
    DatabaseStore,
    FolderStore,
    StoreUnavailableError,
    file_context,
)
from portal.services.cleaning import CLEANABLE, HEAD_SIZE, CleaningStatus, Kind, clean, sniff

__all__ = [
    "AttachmentMeta",
    "AttachmentMissingError",
    "AttachmentStore",
    "CleaningPolicy",
    "DatabaseStore",
    "EncryptedUpload",
    "EncryptingSink",
    "FolderStore",
    "StoreUnavailableError",
    "commit_with_files",
    "file_context",
    "safe_file_name",
    "write_attachment",
]

FILE_NAME_MAX = 200
# What one written piece is encrypted in, when a cleaned file goes to disk.
WRITE_CHUNK = 64 * 1024


@dataclass(frozen=True)
class AttachmentMeta:
    """What is sealed to the case key about one file."""

    name: str
    content_type: str
    size: int
    file_key: bytes
    # Sealed with the rest, so that the server does not learn which files kept their metadata.
    cleaning: CleaningStatus = CleaningStatus.UNCHECKED
    kind: Kind = Kind.OTHER

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "name": self.name,
                "type": self.content_type,
                "size": self.size,
                "key": b64encode(self.file_key).decode(),
                "cleaning": self.cleaning.value,
                "kind": self.kind.value,
            }
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> AttachmentMeta:
        raw: dict[str, Any] = json.loads(data)
        # Files stored before cleaning existed carry no status: they were never checked.
        return cls(
            name=str(raw["name"]),
            content_type=str(raw["type"]),
            size=int(raw["size"]),
            file_key=b64decode(raw["key"]),
            cleaning=CleaningStatus(raw.get("cleaning", CleaningStatus.UNCHECKED.value)),
            kind=Kind(raw.get("kind", Kind.OTHER.value)),
        )


@dataclass(frozen=True)
class CleaningPolicy:
    """How the files of one form are treated.

    ``clean`` is False when the sender asked for the files exactly as they are. ``memory_limit``
    is the most of one file held in memory to be cleaned; ``max_unpacked`` what an Office file
    may expand to while it is rewritten.
    """

    clean: bool
    memory_limit: int
    max_unpacked: int


@dataclass(frozen=True)
class EncryptedUpload:
    """A file that has been received and encrypted, waiting for its case."""

    uid: str
    name: str
    content_type: str
    size: int
    file_key: bytes
    too_large: bool
    cleaning: CleaningStatus = CleaningStatus.UNCHECKED
    kind: Kind = Kind.OTHER

    def meta(self) -> AttachmentMeta:
        return AttachmentMeta(
            self.name, self.content_type, self.size, self.file_key, self.cleaning, self.kind
        )


def write_attachment(
    store: AttachmentStore,
    name: str,
    content_type: str,
    data: bytes,
    policy: CleaningPolicy | None = None,
) -> EncryptedUpload:
    """Encrypt ``data`` into a pending file; the service that records it commits it."""
    sink = EncryptingSink(store, name, content_type, limit=None, policy=policy)
    sink.write(data)
    return sink.finish()


def commit_with_files(
    session: Session, store: AttachmentStore | None, uploads: Sequence[EncryptedUpload]
) -> None:
    """Commit the use case and keep its files: both, or neither.

    The files are made permanent first, then the one commit: a case or message never names a
    file that is not there (a store that commits after the case marks them just after it). A
    store that refuses a file raises StoreUnavailableError with nothing written; a failed commit
    takes the files away with it.
    """
    uids = [upload.uid for upload in uploads]
    if store is not None and store.commits_before_case:
        try:
            store.commit_all(uids)
        except StoreUnavailableError:
            session.rollback()
            raise
    try:
        session.commit()
    except SQLAlchemyError:
        if store is not None:
            for upload in uploads:
                store.discard(upload.uid)
        raise
    if store is not None:
        store.keep_after_commit(uids)


class EncryptingSink:
    """A write-only file object that encrypts what it is given into the store.

    Meant to be returned from a multipart parser's stream factory: the parser writes the upload
    into it and seeks to 0 at the end, which closes the stream. Bytes past ``limit`` are counted
    and dropped, so that the rest of the form can still be read and the sender told.

    With a cleaning ``policy``, the first bytes tell the file's kind. A kind that can be cleaned
    is held in memory (never on disk) up to the policy's memory limit, cleaned when complete,
    then encrypted; past the limit, what was held is encrypted and the rest streams through, and
    the file is marked as too large to clean. Memory stays within the limit plus one piece.
    """

    def __init__(
        self,
        store: AttachmentStore,
        name: str,
        content_type: str,
        limit: int | None,
        policy: CleaningPolicy | None = None,
    ) -> None:
        self.store = store
        self.uid = secrets.token_hex(16)
        self.name = safe_file_name(name)
        self.content_type = content_type or "application/octet-stream"
        self.limit = limit
        self.policy = policy
        self.file_key = crypto.new_file_key()
        self.size = 0  # bytes received
        self.stored_size = 0  # bytes encrypted: the cleaned size, for a cleaned file
        self.cleaning = CleaningStatus.UNCHECKED
        self.kind = Kind.OTHER
        # Held bytes: the head until the kind is known, then a whole cleanable file.
        self._held: bytearray | None = bytearray() if policy is not None else None
        self._deciding = policy is not None
        self._encryptor = crypto.StreamEncryptor(self.file_key, file_context(self.uid))
        # True once the store refused a write (full, read-only): the rest is counted and
        # dropped, like a file past the limit, and the sender is told (uploads.upload_problem).
        self.store_failed = False
        self._handle = store.open_pending(self.uid)

    @property
    def too_large(self) -> bool:
        return self.limit is not None and self.size > self.limit

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.too_large or self._handle.closed:
            self._held = None
            return len(data)
        if self._held is None:
            self._encrypt(data)
            return len(data)
        self._held += data
        if self._deciding and len(self._held) >= HEAD_SIZE:
            self._decide()
        if self._held is not None and self.policy and len(self._held) > self.policy.memory_limit:
            self.cleaning = CleaningStatus.TOO_LARGE
            self._release()
        return len(data)

    def _decide(self) -> None:
        """Choose, from the first bytes, whether this file is held to be cleaned."""
        self._deciding = False
        if self.policy is None or self._held is None:
            return
        self.kind = sniff(bytes(self._held[:HEAD_SIZE]))
        if not self.policy.clean:
            self.cleaning = CleaningStatus.KEPT
        elif self.kind not in CLEANABLE:
            self.cleaning = CleaningStatus.UNSUPPORTED
        else:
            return
        self._release()

    def _release(self) -> None:
        """Encrypt what is held and stream the rest."""
        held, self._held = self._held, None
        if held:
            self._encrypt(bytes(held))

    def _encrypt(self, data: bytes) -> None:
        self.stored_size += len(data)
        self._write_out(self._encryptor.update(data))

    def _write_out(self, piece: bytes) -> None:
        if self.store_failed:
            return
        try:
            self._handle.write(piece)
        except OSError:
            self._fail()

    def _fail(self) -> None:
        """The store refused a write: keep nothing of this file, not even its pending part."""
        self.store_failed = True
        self._held = None
        # The buffered rest could not be flushed either; the file is removed below.
        with contextlib.suppress(OSError):
            self._handle.close()
        self.store.discard(self.uid)

    def seek(self, offset: int, whence: int = 0) -> int:
        # The parser rewinds when it has written everything: the file is complete.
        if not self._handle.closed:
            if not self.too_large:
                self._complete()
                # The padding to the size's bucket comes a chunk at a time: constant memory.
                for piece in self._encryptor.finalize_chunks():
                    self._write_out(piece)
            if not self.store_failed:
                try:
                    self._handle.close()  # flushes: a full disk may say so only here
                except OSError:
                    self._fail()
            if self.too_large:
                self.store.discard(self.uid)
        return 0

    def _complete(self) -> None:
        if self._deciding:
            self._decide()
        if self._held is None:
            return
        if self.policy is None:
            return
        held, self._held = bytes(self._held), None
        outcome = clean(held, max_unpacked=self.policy.max_unpacked)
        del held
        self.cleaning, self.kind = outcome.status, outcome.kind
        view = memoryview(outcome.data)
        for start in range(0, len(view), WRITE_CHUNK):
            self._encrypt(bytes(view[start : start + WRITE_CHUNK]))

    def read(self, size: int = -1) -> bytes:
        raise OSError("an encrypting upload cannot be read back")

    def close(self) -> None:
        self.seek(0)

    def finish(self) -> EncryptedUpload:
        self.seek(0)
        return EncryptedUpload(
            uid=self.uid,
            name=self.name,
            content_type=self.content_type,
            size=self.stored_size if not self.too_large else self.size,
            file_key=self.file_key,
            too_large=self.too_large,
            cleaning=self.cleaning,
            kind=self.kind,
        )


def safe_file_name(name: str) -> str:
    """A file name fit for a download header and a file system: no path, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return cleaned[:FILE_NAME_MAX] or "attachment"
