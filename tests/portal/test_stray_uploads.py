"""Uploads that no request finished are swept a day after the worker first sees them, from either
store: removed when nothing names them, made permanent when a committed case does."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.models import Attachment, AttachmentChunk
from portal.services.attachment_store import AttachmentStore
from portal.services.stray_uploads import STRAY_AFTER, sweep_stray_uploads
from tests.factories import NOW, file_bytes, make_handler
from tests.portal.test_attachment_stores import _store, shared_app, store_backend  # noqa: F401
from tests.portal.test_reporter_web import file_report, intake_fields, receipt_of

STRAY = "f" * 32


def _write_pending(store: AttachmentStore, uid: str, data: bytes = b"ciphertext") -> None:
    handle = store.open_pending(uid)
    handle.write(data)
    handle.close()


def test_a_stray_upload_goes_a_day_after_it_was_first_seen_and_nothing_else_does(
    shared_app: Flask,  # noqa: F811
    db: Session,
) -> None:
    store = _store(shared_app)
    make_handler(db, "hanna")
    client = shared_app.test_client()
    file_report(client)  # a committed case with no file: nothing of it is pending
    _write_pending(store, STRAY)
    seen: dict[str, datetime] = {}

    first = sweep_stray_uploads(db, store, now=NOW, first_seen=seen)
    assert (first.kept, first.removed) == (0, 0)
    assert STRAY in store.pending_uids() and seen == {STRAY: NOW}
    # Not yet a day: an upload in progress stays.
    almost = NOW + STRAY_AFTER - timedelta(seconds=1)
    assert sweep_stray_uploads(db, store, now=almost, first_seen=seen).removed == 0
    assert STRAY in store.pending_uids()

    later = sweep_stray_uploads(db, store, now=NOW + STRAY_AFTER, first_seen=seen)
    assert (later.kept, later.removed) == (0, 1)
    assert STRAY not in store.pending_uids() and seen == {}
    assert store.stored_size(STRAY) is None


def test_a_pending_file_a_committed_case_names_is_made_permanent(
    shared_app: Flask,  # noqa: F811
    db: Session,
) -> None:
    store = _store(shared_app)
    make_handler(db, "hanna")
    client = shared_app.test_client()
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("minutes.pdf", b"%PDF-1.4 minutes")]),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    receipt_of(response.get_data(as_text=True))
    uid = db.scalars(select(Attachment.uid)).one()
    size = store.stored_size(uid)
    # What a request that died between the case's commit and the file's last step leaves: the
    # file still pending (a folder's .part; the database's pending rows).
    if store.commits_before_case:
        path = store.path(uid)  # type: ignore[attr-defined]
        path.rename(store.pending_path(uid))  # type: ignore[attr-defined]
    else:
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(
                update(AttachmentChunk).where(AttachmentChunk.uid == uid).values(pending=True)
            )
    assert uid in store.pending_uids()
    seen: dict[str, datetime] = {}
    sweep_stray_uploads(db, store, now=NOW, first_seen=seen)
    swept = sweep_stray_uploads(db, store, now=NOW + STRAY_AFTER, first_seen=seen)
    assert (swept.kept, swept.removed) == (1, 0)
    assert uid not in store.pending_uids()
    assert store.stored_size(uid) == size
    # A file that stops being pending on its own (its request finished) is forgotten.
    _write_pending(store, STRAY)
    sweep_stray_uploads(db, store, now=NOW, first_seen=seen)
    store.commit(STRAY)
    sweep_stray_uploads(db, store, now=NOW + timedelta(hours=1), first_seen=seen)
    assert seen == {}
