"""Where encrypted attachments are kept: a local folder, or the database every instance shares.

Both hold exactly the same bytes: the encrypted stream of :mod:`crypto.stream`, written while the
upload arrives and read back a piece at a time, so memory stays flat whatever a file's size. Only
ciphertext ever reaches either (the file key is sealed to the case key, see attachments.py).

The folder is the default, for one machine. The database is for several web instances behind one
proxy: an organisation that runs PostgreSQL already backs it up, replicates it and watches it, so
the attachments come with the rest of a case and no second store must be kept in step.
"""

from __future__ import annotations

import contextlib
import io
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

import crypto
from portal.models import AttachmentChunk
from portal.services.errors import ServiceError

# What one row of the database store holds: the stream's own chunk and its tag, so a file of the
# upload limit is a few hundred rows and a download never holds more than one in memory.
ROW_SIZE = crypto.CHUNK_SIZE + 16


class AttachmentMissingError(ServiceError):
    """An attachment's row exists but its stored file does not (lost from the folder or table)."""


class PendingFile(Protocol):
    """Where an upload's ciphertext is written while it arrives: a file, or rows."""

    @property
    def closed(self) -> bool: ...

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


def file_context(attachment_uid: str) -> bytes:
    """Associated data binding an encrypted file to its attachment row."""
    return f"candor:attachment:{attachment_uid}:file".encode()


def _check_uid(uid: str) -> str:
    if not uid.isalnum():
        raise ValueError("attachment uid must be alphanumeric")
    return uid


class StoreUnavailableError(OSError):
    """The attachment store could not take a file (full, read-only, gone): nothing was kept."""


class AttachmentStore(ABC):
    """Encrypted files named by attachment uid: written pending, then committed or discarded."""

    @abstractmethod
    def open_pending(self, uid: str) -> PendingFile:
        """A write-only handle for a new upload's ciphertext; closing it ends the file."""

    @abstractmethod
    def commit(self, uid: str) -> None:
        """Make a finished upload permanent (called once its case row is committed)."""

    # When a use case's files become permanent: a folder, before the one database commit (a
    # rename that cannot wait on the database), so a case never names a file that is not there;
    # rows in the database itself, after it (a second writer would wait on the request's own
    # transaction, and a pending row reads like a committed one, so nothing is lost between).
    commits_before_case = True

    def commit_all(self, uids: Sequence[str]) -> None:
        """Make every file of one use case permanent, or none: the service calls this before
        its one database commit (``commits_before_case``), else after it.

        Raises StoreUnavailableError, having removed every file of ``uids``, if one cannot be.
        """
        try:
            for uid in uids:
                self.commit(uid)
        except (OSError, SQLAlchemyError) as exc:
            for uid in uids:
                with contextlib.suppress(OSError, SQLAlchemyError):
                    self.discard(uid)
            errno = exc.errno if isinstance(exc, OSError) else None
            raise StoreUnavailableError(errno, "the attachment store refused a file") from exc

    def keep_after_commit(self, uids: Sequence[str]) -> None:
        """In a store that commits after the case (``commits_before_case`` false), mark the
        committed use case's files permanent. A failure here loses nothing: a pending file
        reads like a committed one."""
        if not self.commits_before_case:
            with contextlib.suppress(StoreUnavailableError):
                self.commit_all(uids)

    @abstractmethod
    def discard(self, uid: str) -> None:
        """Remove an upload, pending or committed."""

    @abstractmethod
    def discard_pending(self, uid: str) -> None:
        """Remove an upload that no case took; a committed file stays."""

    @abstractmethod
    def stored_size(self, uid: str) -> int | None:
        """Bytes the encrypted file takes; None when it is missing."""

    @abstractmethod
    def pending_uids(self) -> set[str]:
        """The uids of every file still pending: uploads in progress, and uploads that a request
        which died (a killed worker, a lost database) left behind."""

    @abstractmethod
    def _open(self, uid: str) -> BinaryIO:
        """A read handle on the committed ciphertext; AttachmentMissingError when gone."""

    def read(self, uid: str, file_key: bytes) -> Iterator[bytes]:
        """Yield the plaintext chunk by chunk, after the whole file has verified.

        A first pass authenticates every chunk and the final flag without keeping anything, so
        a tampered, reordered or cut-off file raises DecryptionError before a single byte goes
        out: nothing is ever half-delivered. A file that is gone raises AttachmentMissingError,
        also before anything goes out. Both passes run in fixed memory.
        """
        _check_uid(uid)
        with self._open(uid) as handle:
            for _ in crypto.decrypt_chunks(file_key, handle, file_context(uid)):
                pass
        return self._stream(uid, file_key)

    def _stream(self, uid: str, file_key: bytes) -> Iterator[bytes]:
        with self._open(uid) as handle:
            yield from crypto.decrypt_chunks(file_key, handle, file_context(uid))


class FolderStore(AttachmentStore):
    """A folder of encrypted files named by attachment uid (one machine)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uid: str) -> Path:
        return self.root / _check_uid(uid)

    def pending_path(self, uid: str) -> Path:
        return self.root / f"{_check_uid(uid)}.part"

    def open_pending(self, uid: str) -> PendingFile:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.pending_path(uid).open("wb")

    def commit(self, uid: str) -> None:
        """Make a finished upload permanent (an atomic rename)."""
        os.replace(self.pending_path(uid), self.path(uid))

    def discard(self, uid: str) -> None:
        for path in (self.pending_path(uid), self.path(uid)):
            # A store that cannot be written may not be cleaned either: nothing more to do.
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def discard_pending(self, uid: str) -> None:
        self.pending_path(uid).unlink(missing_ok=True)

    def pending_uids(self) -> set[str]:
        try:
            return {path.name.removesuffix(".part") for path in self.root.glob("*.part")}
        except FileNotFoundError:
            return set()

    def stored_size(self, uid: str) -> int | None:
        try:
            return self.path(uid).stat().st_size
        except FileNotFoundError:
            return None

    def _open(self, uid: str) -> BinaryIO:
        try:
            return self.path(uid).open("rb")
        except FileNotFoundError as exc:
            raise AttachmentMissingError(uid) from exc


class DatabaseStore(AttachmentStore):
    """Encrypted files as rows of ciphertext in the database all instances share.

    Each row is written and committed on its own connection as the upload arrives (never the
    whole file in memory, and never inside the request's transaction, which a refused form rolls
    back). Rows stay pending until the case that names them is committed; a pending file is
    read like any other, so a crash between the two commits loses nothing.
    """

    commits_before_case = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_pending(self, uid: str) -> PendingFile:
        return _RowWriter(self.engine, _check_uid(uid))

    def commit(self, uid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(AttachmentChunk).where(AttachmentChunk.uid == uid).values(pending=False)
            )

    def discard(self, uid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(AttachmentChunk).where(AttachmentChunk.uid == uid))

    def discard_pending(self, uid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(AttachmentChunk).where(
                    AttachmentChunk.uid == uid, AttachmentChunk.pending.is_(True)
                )
            )

    def pending_uids(self) -> set[str]:
        with self.engine.connect() as conn:
            found = conn.scalars(
                select(AttachmentChunk.uid).where(AttachmentChunk.pending.is_(True)).distinct()
            )
            return set(found)

    def stored_size(self, uid: str) -> int | None:
        with self.engine.connect() as conn:
            rows, size = conn.execute(
                select(
                    func.count(), func.coalesce(func.sum(func.length(AttachmentChunk.data)), 0)
                ).where(AttachmentChunk.uid == uid)
            ).one()
        return int(size) if rows else None

    def _open(self, uid: str) -> BinaryIO:
        with self.engine.connect() as conn:
            count = conn.scalar(
                select(func.count()).select_from(AttachmentChunk).where(AttachmentChunk.uid == uid)
            )
        if not count:
            raise AttachmentMissingError(uid)
        return io.BufferedReader(_RowReader(self.engine, uid, int(count)), ROW_SIZE)


class _RowWriter:
    """Cuts what it is given into rows of ROW_SIZE bytes, each committed as it fills."""

    def __init__(self, engine: Engine, uid: str) -> None:
        self.closed = False
        self.engine = engine
        self.uid = uid
        self.index = 0
        self.buffer = bytearray()

    def write(self, data: bytes, /) -> int:
        self.buffer += data
        while len(self.buffer) >= ROW_SIZE:
            self._flush_row(bytes(self.buffer[:ROW_SIZE]))
            del self.buffer[:ROW_SIZE]
        return len(data)

    def close(self) -> None:
        if not self.closed and (self.buffer or self.index == 0):
            self._flush_row(bytes(self.buffer))
            self.buffer = bytearray()
        self.closed = True

    def _flush_row(self, data: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(AttachmentChunk),
                {"uid": self.uid, "position": self.index, "data": data, "pending": True},
            )
        self.index += 1


class _RowReader(io.RawIOBase):
    """Reads a file's rows back one at a time, in order."""

    def __init__(self, engine: Engine, uid: str, count: int) -> None:
        super().__init__()
        self.engine = engine
        self.uid = uid
        self.count = count
        self.index = 0
        self.row = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        # As above: the buffered reader only ever hands a bytearray or memoryview.
        while not self.row and self.index < self.count:
            with self.engine.connect() as conn:
                data = conn.scalar(
                    select(AttachmentChunk.data).where(
                        AttachmentChunk.uid == self.uid, AttachmentChunk.position == self.index
                    )
                )
            if data is None:
                # A row gone between the check and here: the stream ends short, and the
                # decryption refuses the truncation.
                self.index = self.count
                break
            self.row = bytes(data)
            self.index += 1
        size = min(len(target), len(self.row))
        target[:size] = self.row[:size]
        self.row = self.row[size:]
        return size
