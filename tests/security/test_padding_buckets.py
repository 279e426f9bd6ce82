"""Attack: read lengths from a copy of the database or of the attachment folder.

Without padding, a sealed text is its length plus a constant and an encrypted file its size plus
a per-chunk constant, so a copy tells how long each report, message, note and file is (a one-word
reply, a two-page account, a 3 MB recording). The site pads every sealed item and every
attachment stream to a Padmé size bucket (256 bytes at least for sealed items, 4 KiB for files),
inside the ciphertext: two lengths in one bucket give the same stored length, and lengths in
different buckets differ only by their buckets. Old version-1 items keep their exact lengths until
rewritten (docs/threat-model.md, "Lengths").
"""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import Attachment, AuthorKind, Case, Message, Note
from portal.services import contexts, messaging
from portal.services.attachments import FolderStore
from tests.factories import NOW, make_handler

KEYS = crypto.generate_keypair()
AD = b"case:1|message:1"


def encrypt(data: bytes) -> bytes:
    out = io.BytesIO()
    crypto.encrypt_stream(crypto.new_file_key(), io.BytesIO(data), out, AD)
    return out.getvalue()


# --- crypto level -------------------------------------------------------------------------------


def test_sealed_texts_in_one_bucket_have_one_length() -> None:
    short = b"Yes."
    longer = b"The invoices for the depot were altered after the audit. " * 4  # 232 bytes
    assert len(short) != len(longer)
    assert crypto.bucket(len(short) + 1, 256) == crypto.bucket(len(longer) + 1, 256)
    assert len(crypto.seal(KEYS.public_key, short, AD)) == len(
        crypto.seal(KEYS.public_key, longer, AD)
    )
    # Above the floor too: 1000 and 1020 bytes share the 1024-byte bucket.
    assert len(crypto.seal(KEYS.public_key, bytes(1000), AD)) == len(
        crypto.seal(KEYS.public_key, bytes(1020), AD)
    )


def test_sealed_lengths_differ_only_by_bucket() -> None:
    sizes = list(range(0, 3000, 7))
    lengths = {n: len(crypto.seal(KEYS.public_key, bytes(n), AD)) for n in sizes}
    for n, length in lengths.items():
        assert length == crypto.sealed_size(n)
    # Lengths from 0 to 3000 bytes leave one stored length per bucket: 57 in all.
    assert len(set(lengths.values())) == len({crypto.bucket(n + 1, 256) for n in sizes}) < 60
    by_length: dict[int, set[int]] = {}
    for n, length in lengths.items():
        by_length.setdefault(length, set()).add(crypto.bucket(n + 1, 256))
    assert all(len(buckets) == 1 for buckets in by_length.values())


def test_streams_in_one_bucket_have_one_size() -> None:
    pairs = [(0, 4000), (10, 3000), (100_000, 100_300), (1_000_000, 1_010_000)]
    for small, large in pairs:
        assert crypto.padded_size(small) == crypto.padded_size(large)
        assert len(encrypt(bytes(small))) == len(encrypt(b"\x01" * large))


def test_stream_sizes_differ_only_by_bucket() -> None:
    sizes = [0, 1, 4095, 4096, 5000, 65_535, 65_536, 70_000, 300_000, 1_048_576]
    for size in sizes:
        stored = len(encrypt(bytes(size)))
        assert stored == crypto.encrypted_size(size)
        # The size on disk is a function of the padded size alone.
        padded = crypto.padded_size(size)
        assert stored == 5 + padded + 16 * (padded // crypto.CHUNK_SIZE + 1)
    # 18,182 sizes up to 200 kB leave one size on disk per bucket: 114 in all.
    sample = range(0, 200_000, 11)
    on_disk = {crypto.encrypted_size(n) for n in sample}
    assert len(on_disk) == len({crypto.padded_size(n) for n in sample}) < 120


# --- through the portal -------------------------------------------------------------------------


def file_report(client: FlaskClient, text: str, files: list[tuple[str, bytes]]) -> str:
    """File a report through the form; return the passphrase."""
    page = client.get("/report").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert csrf and token
    fields: dict[str, object] = {
        "csrf_token": csrf.group(1),
        "form_token": token.group(1),
        "category": "fraud",
        "tier": "2",
        "anonymity": "anonymous",
        "q_what_happened": text,
        "q_when_where": "Depot 4",
        "website": "",
        "attachments": [(io.BytesIO(data), name) for name, data in files],
    }
    response = client.post(
        "/report", data=fields, content_type="multipart/form-data", follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    phrase = re.search(r'id="passphrase">([^<]+)<', html)
    assert phrase
    return phrase.group(1)


def report_plaintext_size(case: Case, passphrase: str) -> int:
    case_key = crypto.unwrap_with_secret(
        case.reporter_wrapped_key,
        crypto.normalize_passphrase(passphrase),
        contexts.reporter_key(case.uid),
    )
    report = crypto.open_sealed(case_key, case.sealed_report, contexts.report(case.uid))
    return len(report)


def newest_case(db: Session) -> Case:
    db.expire_all()
    return db.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()


def test_reports_and_files_through_the_portal(
    client: FlaskClient, db: Session, config: Config
) -> None:
    make_handler(db, "hanna")
    store = FolderStore(config.storage.attachments_dir)

    first_text = "Spare parts are sold privately." * 3
    first = file_report(client, first_text, [("a.txt", b"x" * 10)])
    first_case = newest_case(db)
    first_size = report_plaintext_size(first_case, first)
    # A second text that is longer yet stays in the first one's bucket (or shorter, when the
    # first one fills its bucket to the last byte).
    room = crypto.bucket(first_size + 1, 256) - (first_size + 1)
    second_text = first_text + "!" * room if room else first_text[:-1]
    second = file_report(client, second_text, [("b.txt", b"y" * 3000)])
    second_case = newest_case(db)
    second_size = report_plaintext_size(second_case, second)
    assert second_size != first_size
    assert crypto.bucket(first_size + 1, 256) == crypto.bucket(second_size + 1, 256)
    assert len(first_case.sealed_report) == len(second_case.sealed_report)

    # Much longer: another bucket, and the stored length is that bucket's.
    third = file_report(client, first_text * 40, [("c.bin", b"z" * 100_000)])
    third_case = newest_case(db)
    third_size = report_plaintext_size(third_case, third)
    assert len(third_case.sealed_report) == crypto.sealed_size(third_size)
    assert len(third_case.sealed_report) > len(first_case.sealed_report)

    # Files of 10 and 3000 bytes are one size on disk; the 100 kB file is its bucket's size.
    on_disk = {}
    for case in (first_case, second_case, third_case):
        attachment = db.scalars(select(Attachment).where(Attachment.case_id == case.id)).one()
        on_disk[case.id] = store.path(attachment.uid).stat().st_size
    assert on_disk[first_case.id] == on_disk[second_case.id] == crypto.encrypted_size(0)
    assert on_disk[third_case.id] == crypto.encrypted_size(100_000)
    # The previews (the first answer's opening words) are sealed items too.
    assert len(first_case.sealed_preview) == len(second_case.sealed_preview)


def test_messages_and_notes_through_the_services(db: Session, client: FlaskClient) -> None:
    handler = make_handler(db, "hanna")
    file_report(client, "Spare parts are sold privately.", [])
    case = newest_case(db)
    bodies = ["Yes.", "Thank you, we have opened an investigation. " * 5, "x" * 1000]
    for body in bodies:
        messaging.add_message(db, case, body, author_kind=AuthorKind.REPORTER, store=None, now=NOW)
        messaging.seal_note(db, case, handler, body, now=NOW)
        db.commit()
    messages = db.scalars(select(Message).where(Message.case_id == case.id)).all()
    notes = db.scalars(select(Note).where(Note.case_id == case.id)).all()
    for rows in (messages, notes):
        lengths = sorted(len(row.sealed_body) for row in rows)
        # The one-word reply and the 225-byte one share the smallest bucket.
        assert lengths == sorted(crypto.sealed_size(len(body)) for body in bodies)
        assert lengths[0] == lengths[1] == crypto.sealed_size(0)
        assert lengths[2] == crypto.sealed_size(1000) > lengths[0]
