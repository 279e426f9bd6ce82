"""The two attachment stores (the local folder and the shared database) hold the same ciphertext,
stream it in fixed pieces, keep quotas, cleaning, downloads and the export working, and a file
gone from either is a clear page, never a 500."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import crypto
from portal import create_app
from portal.models import Attachment, AttachmentChunk, Case, User
from portal.services import quota
from portal.services.attachment_store import ROW_SIZE
from portal.services.attachments import (
    AttachmentMissingError,
    AttachmentStore,
    CleaningPolicy,
    DatabaseStore,
    FolderStore,
    write_attachment,
)
from tests.factories import file_bytes, make_handler
from tests.portal.test_export import export
from tests.portal.test_handler_cases import case_url, staff_client
from tests.portal.test_reporter_web import intake_fields, receipt_of, sign_in

# Several rows of the database store, and a last one cut short.
BIG = bytes(range(256)) * 1100


@pytest.fixture(params=["folder", "database"])
def store_backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def shared_app(app: Flask, store_backend: str) -> Flask:
    """The test app with the chosen store (the database store uses the app's own engine)."""
    config = app.extensions["candor.config"]
    config = replace(config, storage=replace(config.storage, backend=store_backend))
    built = create_app(config)
    built.config["TESTING"] = True
    built.extensions["candor.sessionmaker"] = app.extensions["candor.sessionmaker"]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    return built


def _store(app: Flask) -> AttachmentStore:
    store: AttachmentStore = app.extensions["candor.attachments"]
    return store


def _lose(store: AttachmentStore, uid: str) -> None:
    """What a lost file looks like: the row of the attachment stays, its ciphertext is gone."""
    store.discard(uid)


def test_each_backend_is_the_configured_one(shared_app: Flask, store_backend: str) -> None:
    expected = DatabaseStore if store_backend == "database" else FolderStore
    assert isinstance(_store(shared_app), expected)


def test_a_file_round_trips_in_rows_and_stays_pending_until_committed(
    shared_app: Flask, store_backend: str
) -> None:
    store = _store(shared_app)
    expected = crypto.encrypted_size(len(BIG))
    # A request that no case took removes what is still pending.
    upload = write_attachment(store, "big.bin", "application/octet-stream", BIG)
    store.discard_pending(upload.uid)
    assert store.stored_size(upload.uid) is None
    with pytest.raises(AttachmentMissingError):
        store.read(upload.uid, upload.file_key)
    upload = write_attachment(store, "big.bin", "application/octet-stream", BIG)
    store.commit(upload.uid)
    store.discard_pending(upload.uid)
    assert store.stored_size(upload.uid) == expected
    assert b"".join(store.read(upload.uid, upload.file_key)) == BIG
    if isinstance(store, DatabaseStore):
        with store.engine.connect() as conn:
            sizes = (
                conn.execute(
                    select(func.length(AttachmentChunk.data))
                    .where(AttachmentChunk.uid == upload.uid)
                    .order_by(AttachmentChunk.position)
                )
                .scalars()
                .all()
            )
            pending = conn.scalar(
                select(func.count()).where(
                    AttachmentChunk.uid == upload.uid, AttachmentChunk.pending.is_(True)
                )
            )
        # Rows of a fixed size, so neither writing nor reading ever holds the whole file.
        assert len(sizes) == -(-expected // ROW_SIZE) and set(sizes[:-1]) == {ROW_SIZE}
        assert pending == 0
        # Ciphertext only: no run of the plaintext is in the table.
        with store.engine.connect() as conn:
            stored = b"".join(
                conn.scalars(select(AttachmentChunk.data).where(AttachmentChunk.uid == upload.uid))
            )
        assert BIG[:64] not in stored
    store.discard(upload.uid)
    with pytest.raises(AttachmentMissingError):
        store.read(upload.uid, upload.file_key)


def test_a_tampered_row_is_refused_before_anything_goes_out(tmp_path: Path) -> None:
    from portal import migrate
    from portal.db import make_engine

    engine: Engine = make_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    migrate.upgrade(engine)
    store = DatabaseStore(engine)
    upload = write_attachment(store, "big.bin", "application/octet-stream", BIG)
    store.commit(upload.uid)
    with engine.begin() as conn:
        row = conn.scalar(
            select(AttachmentChunk.data).where(
                AttachmentChunk.uid == upload.uid, AttachmentChunk.position == 1
            )
        )
        assert row is not None
        flipped = bytes([row[0] ^ 1]) + bytes(row[1:])
        conn.execute(
            AttachmentChunk.__table__.update()
            .where(AttachmentChunk.uid == upload.uid, AttachmentChunk.position == 1)
            .values(data=flipped)
        )
    with pytest.raises(crypto.DecryptionError):
        store.read(upload.uid, upload.file_key)
    engine.dispose()


def test_cleaning_happens_before_the_database_store_sees_a_byte(tmp_path: Path) -> None:
    from portal import migrate
    from portal.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    migrate.upgrade(engine)
    store = DatabaseStore(engine)
    policy = CleaningPolicy(clean=True, memory_limit=1 << 20, max_unpacked=1 << 22)
    jpeg = _jpeg_with_comment(b"Author: Rita Reporter")
    upload = write_attachment(store, "photo.jpg", "image/jpeg", jpeg, policy)
    store.commit(upload.uid)
    plain = b"".join(store.read(upload.uid, upload.file_key))
    assert plain.startswith(b"\xff\xd8") and b"Rita Reporter" not in plain
    engine.dispose()


def _jpeg_with_comment(comment: bytes) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "JPEG", comment=comment)
    data = buffer.getvalue()
    assert comment in data
    return data


def test_quota_counts_the_stored_bytes_in_either_store(
    shared_app: Flask, db: Session, store_backend: str
) -> None:
    make_handler(db, "hanna")
    client = shared_app.test_client()
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("ledger.csv", BIG)]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    case = db.scalars(select(Case)).one()
    used = quota.reporter_storage_used(db, case, _store(shared_app))
    assert used == crypto.encrypted_size(len(BIG))


def _file_with_attachment(app: Flask) -> tuple[FlaskClient, str, str]:
    client = app.test_client()
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("ledger.csv", BIG)]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    code, passphrase = receipt_of(page)
    return client, code, passphrase


def test_downloads_and_export_work_and_a_lost_file_is_a_clear_page(
    shared_app: Flask, db: Session, store_backend: str
) -> None:
    hanna: User = make_handler(db, "hanna")
    reporter, code, passphrase = _file_with_attachment(shared_app)
    assert sign_in(reporter, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    page = reporter.get("/case").get_data(as_text=True)
    link = re.search(r'href="(/case/attachments/[0-9a-f]+)">ledger.csv', page)
    assert link
    assert reporter.get(link.group(1)).data == BIG

    handler = staff_client(shared_app, db, hanna)
    page = handler.get(case_url(db)).get_data(as_text=True)
    staff_link = re.search(r'href="(/staff/cases/[0-9a-f]+/attachments/[0-9a-f]+)">ledger', page)
    assert staff_link
    assert handler.get(staff_link.group(1)).data == BIG
    status, data = export(handler, db, format="zip")
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert BIG in [archive.read(name) for name in archive.namelist()]

    uid = db.scalars(select(Attachment.uid)).one()
    _lose(_store(shared_app), uid)
    for response in (
        reporter.get(link.group(1)),
        handler.get(staff_link.group(1)),
    ):
        assert response.status_code == 404
        assert "no longer in the site&#39;s storage" in response.get_data(as_text=True)
    status, data = export(handler, db, format="zip")
    assert status == 404
    assert b"no longer in the site&#39;s storage" in data
    # The case page itself still opens: only the file is gone.
    assert handler.get(case_url(db)).status_code == 200
    assert reporter.get("/case").status_code == 200


def _files_kept(store: AttachmentStore) -> int:
    if isinstance(store, DatabaseStore):
        with store.engine.connect() as conn:
            return int(conn.scalar(select(func.count(func.distinct(AttachmentChunk.uid)))) or 0)
    assert isinstance(store, FolderStore)
    return sum(1 for p in store.root.iterdir() if p.is_file()) if store.root.exists() else 0


def test_a_refused_form_or_a_too_large_file_leaves_nothing_in_either_store(
    shared_app: Flask, db: Session, store_backend: str
) -> None:
    make_handler(db, "hanna")
    # On PostgreSQL the store commits outside the test's rolled-back transaction: count anew.
    before = _files_kept(_store(shared_app))
    client = shared_app.test_client()
    refused = client.post(
        "/report",
        data=intake_fields(client, q_what_happened="", attachments=[file_bytes("a.bin", BIG)]),
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    too_large = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("b.bin", b"x" * (6 << 20))]),
        content_type="multipart/form-data",
    )
    assert too_large.status_code == 400
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert _files_kept(_store(shared_app)) == before
