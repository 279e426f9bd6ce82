"""Multipart uploads are encrypted as they arrive: no plaintext attachment touches the disk.

Before a file part is written at all, the request must have shown a valid CSRF token (and, where
the route asks for one, a live session) in the fields that come before it: the forms put the
token first, and browsers send fields in form order. Until then nothing reaches the disk, so a
request that will be refused cannot fill it. Routes that take no files accept only a small body.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import limits
from flask import Flask, Request, current_app, g, request
from flask_babel import format_decimal
from flask_limiter import Limiter
from flask_wtf.csrf import validate_csrf
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from wtforms.validators import ValidationError

from portal.config import Config
from portal.i18n import _, _l
from portal.services.attachments import (
    AttachmentStore,
    CleaningPolicy,
    EncryptedUpload,
    EncryptingSink,
)
from portal.services.intake import MAX_FILES

# A body for a route that takes no files: room for the longest text field (20 000 characters,
# percent-encoded at up to 12 bytes each), and no more.
SMALL_BODY = 256 * 1024
MIB = 1024 * 1024
KEEP_FIELD = "keep_files"


@dataclass(frozen=True)
class UploadPermit:
    """What one request may write: ``budget`` bytes of files in all.

    ``quota`` and ``used`` are the case's storage quota and what its reporter's files take, when
    a quota applies, so that a refusal can say how much room is left.
    """

    budget: int
    quota: int | None = None
    used: int = 0

    @property
    def over_quota(self) -> bool:
        return self.quota is not None and self.budget < upload_limit_bytes()


@dataclass(frozen=True)
class UploadRoute:
    """A route that takes files.

    ``permit`` says whether this request may write files (None: it may not, for example
    because its session ended; the page then says so and keeps the typed text). ``limit_key``
    names a bucket for ``ratelimit.message_per_case`` (a case), or None.
    """

    permit: Callable[[], UploadPermit | None]
    limit_key: Callable[[], str | None] = lambda: None


UPLOAD_ROUTES: dict[str, UploadRoute] = {}


def upload_route(endpoint: str, route: UploadRoute) -> None:
    """Declare that ``endpoint`` takes files (each blueprint declares its own)."""
    UPLOAD_ROUTES[endpoint] = route


# Routes that take one small file read in memory, never stored as an attachment (an admin's
# logo): endpoint -> the most bytes of file it may carry.
SMALL_FILE_ROUTES: dict[str, int] = {}
# Room for the form fields beside the file, and for a file a little over its limit, so that it
# is refused with a page that says why rather than by the server's "too large".
SMALL_FILE_SLACK = 64 * 1024


def small_file_route(endpoint: str, max_bytes: int) -> None:
    """Declare that ``endpoint`` takes one small file, kept in memory (bounded by its body)."""
    SMALL_FILE_ROUTES[endpoint] = max_bytes


class DiscardingSink:
    """Where a file part goes that may not be written: counted, never stored."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class _FieldRecordingParser(MultiPartParser):
    """Werkzeug's multipart parser, showing each text field as soon as it is complete.

    The stream factory reads these to check the CSRF token before a file part is written.
    (The loop is Werkzeug's own; only the ``seen`` list is new.)
    """

    def __init__(self, seen: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen = seen

    def parse(
        self, stream: IO[bytes], boundary: bytes, content_length: int | None
    ) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
        decoder = MultipartDecoder(
            boundary, max_form_memory_size=self.max_form_memory_size, max_parts=self.max_form_parts
        )
        files: list[tuple[str, FileStorage]] = []
        part: Field | File | None = None
        buffer: list[bytes] = []
        container: IO[bytes] | None = None
        field_size = 0
        while True:
            data = stream.read(self.buffer_size)
            decoder.receive_data(data or None)
            event = decoder.next_event()
            while not isinstance(event, (Epilogue, NeedData)):
                if isinstance(event, Field):
                    part, buffer, field_size = event, [], 0
                elif isinstance(event, File):
                    part = event
                    container = self.start_file_streaming(event, content_length)
                elif isinstance(event, Data) and isinstance(part, Field):
                    field_size += len(event.data)
                    if self.max_form_memory_size is not None and (
                        field_size > self.max_form_memory_size
                    ):
                        raise RequestEntityTooLarge()
                    buffer.append(event.data)
                    if not event.more_data:
                        charset = self.get_part_charset(part.headers)
                        self.seen.append((part.name, b"".join(buffer).decode(charset, "replace")))
                elif isinstance(event, Data) and isinstance(part, File) and container is not None:
                    container.write(event.data)
                    if not event.more_data:
                        container.seek(0)
                        files.append(
                            (
                                part.name,
                                FileStorage(
                                    container, part.filename, part.name, headers=part.headers
                                ),
                            )
                        )
                event = decoder.next_event()
            if not data:
                break
        return self.cls(self.seen), self.cls(files)


class _GatedFormDataParser(FormDataParser):
    def __init__(self, seen: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen = seen

    def _parse_multipart(
        self, stream: IO[bytes], mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> tuple[IO[bytes], MultiDict[str, Any], MultiDict[str, Any]]:
        parser = _FieldRecordingParser(
            self.seen,
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class EncryptingRequest(Request):
    """A request whose file parts stream into encrypting sinks in the attachment store."""

    def make_form_data_parser(self) -> FormDataParser:
        self._fields_seen: list[tuple[str, str]] = []
        return _GatedFormDataParser(
            self._fields_seen,
            stream_factory=self._get_file_stream,
            max_form_memory_size=self.max_form_memory_size,
            max_content_length=self.max_content_length,
            max_form_parts=self.max_form_parts,
            cls=self.parameter_storage_class,
        )

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if (self.endpoint or "") in SMALL_FILE_ROUTES:
            # The body limit bounds what memory this takes; without a valid token, nothing.
            if _csrf_valid(self._fields_seen):
                return io.BytesIO()
            return DiscardingSink("bad_form")  # type: ignore[return-value]  # write-only by design
        refusal = self._refusal()
        sinks: list[Any] = g.setdefault("upload_sinks", [])
        if refusal is None and len(sinks) >= MAX_FILES:
            refusal = "too_many"
        if refusal is not None:
            discard = DiscardingSink(refusal)
            sinks.append(discard)
            return discard  # type: ignore[return-value]  # write-only file object by design
        config = app_config_of_request()
        keep = any(name == KEEP_FIELD and value for name, value in self._fields_seen)
        try:
            sink = EncryptingSink(
                attachment_store(),
                filename or "",
                content_type or "",
                limit=_remaining_budget(),
                policy=CleaningPolicy(
                    clean=not keep,
                    memory_limit=config.storage.clean_in_memory_mb * MIB,
                    # An Office file is rewritten entry by entry; this bounds a zip bomb's work.
                    max_unpacked=8 * config.storage.clean_in_memory_mb * MIB,
                ),
            )
        except OSError:
            # The store cannot take a file (full, read-only, not a folder): the rest of the form
            # is still read, so that the page that says so gives back what the sender typed.
            failed = DiscardingSink("store_failed")
            sinks.append(failed)
            return failed  # type: ignore[return-value]  # write-only file object by design
        sinks.append(sink)
        return sink  # type: ignore[return-value]  # write-only file object by design

    def _refusal(self) -> str | None:
        """Why file parts of this request may not be written, or None; decided once."""
        if "upload_refusal" in g:
            refusal: str | None = g.upload_refusal
            return refusal
        route = UPLOAD_ROUTES.get(self.endpoint or "")
        refusal = "no_files_here"
        if route is not None and not _csrf_valid(self._fields_seen):
            # Nothing of the files is written; the rest of the form is still read, so that the
            # page that refuses it can give back what the sender typed.
            refusal = "bad_form"
        elif route is not None:
            permit = route.permit()
            g.upload_permit = permit
            refusal = None if permit is not None else "not_signed_in"
        g.upload_refusal = refusal
        return refusal


def _csrf_valid(fields: list[tuple[str, str]]) -> bool:
    """Whether the form's CSRF token, sent before the first file part, is valid."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    token = next((value for name, value in fields if name == "csrf_token"), "")
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def app_config_of_request() -> Config:
    config: Config = current_app.extensions["candor.config"]
    return config


def attachment_store() -> AttachmentStore:
    store: AttachmentStore = current_app.extensions["candor.attachments"]
    return store


def upload_limit_bytes() -> int:
    return app_config_of_request().storage.max_upload_mb * MIB


def case_quota_bytes() -> int:
    return app_config_of_request().storage.case_quota_mb * MIB


def _remaining_budget() -> int:
    # The limit is for all files of one form together.
    permit: UploadPermit | None = g.get("upload_permit")
    budget = permit.budget if permit is not None else upload_limit_bytes()
    used: int = sum(s.size for s in g.get("upload_sinks", []))
    return max(budget - used, -1)


def collect_uploads(files: list[FileStorage]) -> list[EncryptedUpload]:
    """The uploads of one file field, skipping the empty part a browser sends for no file."""
    uploads: list[EncryptedUpload] = []
    for storage in files:
        sink = storage.stream
        if not isinstance(sink, EncryptingSink):
            continue
        upload = sink.finish()
        if sink.store_failed:
            continue  # nothing of it was kept; upload_problem() tells the sender
        if not storage.filename and upload.size == 0:
            sink.store.discard(sink.uid)
            continue
        uploads.append(upload)
    return uploads


def discard_unclaimed_uploads(_exc: BaseException | None = None) -> None:
    """Remove any upload of this request that no case took (a refused form, a CSRF failure)."""
    sinks = g.pop("upload_sinks", [])
    session = g.get("db_session")
    if sinks and session is not None:
        # The request is over and nothing of it is committed now; ending its transaction first
        # lets the database store delete rows on SQLite, where one writer holds the whole file.
        session.rollback()
    for sink in sinks:
        if isinstance(sink, EncryptingSink):
            sink.close()
            sink.store.discard_pending(sink.uid)


def total_budget_exceeded() -> bool:
    return any(isinstance(s, EncryptingSink) and s.too_large for s in g.get("upload_sinks", []))


STORE_FAILED_TEXT = _l(
    "The files could not be stored just now, so nothing was sent. What you typed is kept below: "
    "try again in a few minutes, choosing the files again, or send it without them."
)


def store_failed() -> bool:
    """Whether the attachment store refused a file of this request (a fault of the site's)."""
    return any(
        (isinstance(s, DiscardingSink) and s.reason == "store_failed")
        or (isinstance(s, EncryptingSink) and s.store_failed)
        for s in g.get("upload_sinks", [])
    )


def upload_problem() -> str | None:
    """What was wrong with this request's files, in words for the sender; None if nothing."""
    sinks = g.get("upload_sinks", [])
    if store_failed():
        return str(STORE_FAILED_TEXT)
    if any(isinstance(s, DiscardingSink) and s.reason == "bad_form" and s.size for s in sinks):
        return _("The files could not be accepted with this form; choose them again and send it.")
    if any(isinstance(s, DiscardingSink) and s.reason == "too_many" and s.size for s in sinks):
        return _("Attach at most %(num)d files to one message; choose fewer files.", num=MAX_FILES)
    if not total_budget_exceeded():
        return None
    permit: UploadPermit | None = g.get("upload_permit")
    if permit is not None and permit.over_quota and permit.quota is not None:
        if not permit.used:
            return _(
                "The files are larger than %(size)s in all, the most one report can store; "
                "choose smaller or fewer files.",
                size=_mb(permit.quota),
            )
        return _(
            "These files do not fit in the storage for this case: you have used %(used)s of "
            "%(quota)s. Choose smaller or fewer files, or describe them in your message instead.",
            used=_mb(permit.used),
            quota=_mb(permit.quota),
        )
    return _(
        "The files are larger than %(size)s MB in all; choose smaller or fewer files.",
        size=app_config_of_request().storage.max_upload_mb,
    )


def _mb(size: int) -> str:
    # A size with one decimal, written as the page's language writes numbers ("1.5 MB", "1,5 MB").
    return _("%(size)s MB", size=format_decimal(size / MIB, "#,##0.0"))


def takes_files(endpoint: str | None) -> bool:
    return (endpoint or "") in UPLOAD_ROUTES


class UploadsBusyError(TooManyRequests):
    """Too many files arrive at once (site-wide), or too many messages on one case."""

    plain_text = _l(
        "Too many files or messages are arriving at the moment, so this one was not accepted. "
        "Nothing was saved. Wait an hour, then send it again."
    )


def init_app(app: Flask, limiter: Limiter) -> None:
    """Body limits and upload counters, checked before any of the body is read.

    Registered ahead of CSRF protection, which is what first reads a form.
    """

    def limit_request() -> None:
        endpoint = request.endpoint
        if (endpoint or "") in SMALL_FILE_ROUTES:
            request.max_content_length = SMALL_FILE_ROUTES[endpoint or ""] + SMALL_FILE_SLACK
            return
        if not takes_files(endpoint):
            request.max_content_length = SMALL_BODY
            return
        if request.method != "POST":
            return
        config = app_config_of_request().ratelimit
        declared = request.content_length or request.max_content_length or 0
        checks = [
            (limits.parse(config.upload_site), ("uploads", "site"), 1),
            (
                limits.parse(config.upload_mb_site),
                ("upload-mb", "site"),
                max(1, math.ceil(declared / MIB)),
            ),
        ]
        key = UPLOAD_ROUTES[endpoint or ""].limit_key()
        if key is not None:
            checks.append((limits.parse(config.message_per_case), ("messages", key), 1))
        strategy = limiter.limiter
        # Test them all first, so that a refused request takes nothing from any bucket.
        refused = [c for c in checks if not strategy.test(c[0], *c[1], cost=c[2])]
        if refused:
            item, keys, _cost = refused[0]
            reset = strategy.get_window_stats(item, *keys).reset_time
            raise UploadsBusyError(retry_after=max(1, math.ceil(reset - time.time())))
        for item, keys, cost in checks:
            strategy.hit(item, *keys, cost=cost)

    app.before_request(limit_request)
