"""Multipart uploads are encrypted as they arrive: no plaintext attachment touches the disk."""

from __future__ import annotations

from typing import IO

from flask import Request, current_app, g
from werkzeug.datastructures import FileStorage

from portal.config import Config
from portal.services.attachments import AttachmentStore, EncryptedUpload, EncryptingSink


class EncryptingRequest(Request):
    """A request whose file parts stream into encrypting sinks in the attachment store."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        sink = EncryptingSink(
            attachment_store(), filename or "", content_type or "", limit=_remaining_budget()
        )
        g.setdefault("upload_sinks", []).append(sink)
        return sink  # type: ignore[return-value]  # write-only file object by design


def attachment_store() -> AttachmentStore:
    store: AttachmentStore = current_app.extensions["candor.attachments"]
    return store


def upload_limit_bytes() -> int:
    config: Config = current_app.extensions["candor.config"]
    return config.storage.max_upload_mb * 1024 * 1024


def _remaining_budget() -> int:
    # The limit is for all files of one form together.
    used: int = sum(s.size for s in g.get("upload_sinks", []))
    return max(upload_limit_bytes() - used, -1)


def collect_uploads(files: list[FileStorage]) -> list[EncryptedUpload]:
    """The uploads of one file field, skipping the empty part a browser sends for no file."""
    uploads: list[EncryptedUpload] = []
    for storage in files:
        sink = storage.stream
        if not isinstance(sink, EncryptingSink):
            continue
        upload = sink.finish()
        if not storage.filename and upload.size == 0:
            sink.store.discard(sink.uid)
            continue
        uploads.append(upload)
    return uploads


def discard_unclaimed_uploads(_exc: BaseException | None = None) -> None:
    """Remove any upload of this request that no case took (a refused form, a CSRF failure)."""
    for sink in g.pop("upload_sinks", []):
        sink.close()
        sink.store.pending_path(sink.uid).unlink(missing_ok=True)


def total_budget_exceeded() -> bool:
    return any(s.too_large for s in g.get("upload_sinks", []))
