"""Encrypted attachment files on disk.

Uploads are encrypted while they arrive (see :class:`EncryptingSink`), so no plaintext of an
attachment ever touches the disk, and a file of any size passes through fixed memory.
"""

from __future__ import annotations

import json
import os
import secrets
from base64 import b64decode, b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crypto

FILE_NAME_MAX = 200


def file_context(attachment_uid: str) -> bytes:
    """Associated data binding an encrypted file to its attachment row."""
    return f"candor:attachment:{attachment_uid}:file".encode()


@dataclass(frozen=True)
class AttachmentMeta:
    """What is sealed to the case key about one file."""

    name: str
    content_type: str
    size: int
    file_key: bytes

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "name": self.name,
                "type": self.content_type,
                "size": self.size,
                "key": b64encode(self.file_key).decode(),
            }
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> AttachmentMeta:
        raw: dict[str, Any] = json.loads(data)
        return cls(
            name=str(raw["name"]),
            content_type=str(raw["type"]),
            size=int(raw["size"]),
            file_key=b64decode(raw["key"]),
        )


@dataclass(frozen=True)
class EncryptedUpload:
    """A file that has been received and encrypted, waiting for its case."""

    uid: str
    name: str
    content_type: str
    size: int
    file_key: bytes
    too_large: bool


class AttachmentStore:
    """A folder of encrypted files named by attachment uid."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uid: str) -> Path:
        if not uid.isalnum():
            raise ValueError("attachment uid must be alphanumeric")
        return self.root / uid

    def pending_path(self, uid: str) -> Path:
        return self.root / f"{uid}.part"

    def commit(self, uid: str) -> None:
        """Make a finished upload permanent (an atomic rename)."""
        os.replace(self.pending_path(uid), self.path(uid))

    def discard(self, uid: str) -> None:
        for path in (self.pending_path(uid), self.path(uid)):
            path.unlink(missing_ok=True)

    def read(self, uid: str, file_key: bytes) -> Iterator[bytes]:
        """Yield the plaintext chunk by chunk, after the whole file has verified.

        A first pass authenticates every chunk and the final flag without keeping anything, so
        a tampered, reordered or cut-off file raises DecryptionError before a single byte goes
        out: nothing is ever half-delivered. Both passes run in fixed memory.
        """
        path = self.path(uid)
        with path.open("rb") as handle:
            for _ in crypto.decrypt_chunks(file_key, handle, file_context(uid)):
                pass
        return self._stream(path, uid, file_key)

    @staticmethod
    def _stream(path: Path, uid: str, file_key: bytes) -> Iterator[bytes]:
        with path.open("rb") as handle:
            yield from crypto.decrypt_chunks(file_key, handle, file_context(uid))

    def write(self, name: str, content_type: str, data: bytes) -> EncryptedUpload:
        """Encrypt ``data`` into a pending file; the service that records it commits it."""
        sink = EncryptingSink(self, name, content_type, limit=None)
        sink.write(data)
        return sink.finish()


class EncryptingSink:
    """A write-only file object that encrypts what it is given into the store.

    Meant to be returned from a multipart parser's stream factory: the parser writes the upload
    into it and seeks to 0 at the end, which closes the stream. Bytes past ``limit`` are counted
    and dropped, so that the rest of the form can still be read and the reporter told.
    """

    def __init__(
        self, store: AttachmentStore, name: str, content_type: str, limit: int | None
    ) -> None:
        self.store = store
        self.uid = secrets.token_hex(16)
        self.name = safe_file_name(name)
        self.content_type = content_type or "application/octet-stream"
        self.limit = limit
        self.file_key = crypto.new_file_key()
        self.size = 0
        self._encryptor = crypto.StreamEncryptor(self.file_key, file_context(self.uid))
        store.root.mkdir(parents=True, exist_ok=True)
        self._handle = self.store.pending_path(self.uid).open("wb")

    @property
    def too_large(self) -> bool:
        return self.limit is not None and self.size > self.limit

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if not self.too_large and not self._handle.closed:
            self._handle.write(self._encryptor.update(data))
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        # The parser rewinds when it has written everything: the file is complete.
        if not self._handle.closed:
            if not self.too_large:
                # The padding to the size's bucket comes a chunk at a time: constant memory.
                for piece in self._encryptor.finalize_chunks():
                    self._handle.write(piece)
            self._handle.close()
            if self.too_large:
                self.store.discard(self.uid)
        return 0

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
            size=self.size,
            file_key=self.file_key,
            too_large=self.too_large,
        )


def safe_file_name(name: str) -> str:
    """A file name fit for a download header and a file system: no path, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return cleaned[:FILE_NAME_MAX] or "attachment"
