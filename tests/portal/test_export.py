"""Exporting a case: the warning page, the PDF (opened and read back), the zip, its encryption,
the audit trail, who may export, and refusal of tampered content."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
import pyzipper
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, Deadline, Message, User
from portal.services import clock
from portal.services.export import safe_name
from tests.factories import file_bytes, make_handler
from tests.portal.test_handler_cases import actions, case_url, staff_client
from tests.portal.test_reporter_web import REPORT_TEXT, csrf_of, file_report, intake_fields

UNICODE_NOTE = "Zeugin: Ærøskøbing, café déjà vu; Ελληνικά κείμενα; Русский текст."
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    return {"hanna": make_handler(db, "hanna"), "sven": make_handler(db, "sven", level=2)}


def file_confidential_report(client: FlaskClient, *files: tuple[io.BytesIO, str]) -> None:
    response = client.post(
        "/report",
        data=intake_fields(
            client,
            anonymity="confidential",
            name="Rita Reporter",
            contact="rita@example.org",
            attachments=list(files),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)


def work_the_case(handler: FlaskClient, db: Session) -> str:
    """A reply, a note in three scripts and a very long word; returns a fresh CSRF token."""
    page = handler.get(case_url(db)).get_data(as_text=True)
    token = csrf_of(page)
    handler.post(
        case_url(db) + "/messages",
        data={"csrf_token": token, "kind": "acknowledge", "body": "We have your report."},
    )
    handler.post(case_url(db) + "/notes", data={"csrf_token": token, "body": UNICODE_NOTE})
    handler.post(case_url(db) + "/notes", data={"csrf_token": token, "body": "x" * 3000})
    return token


def export(handler: FlaskClient, db: Session, **fields: str) -> tuple[int, bytes]:
    page = handler.get(case_url(db) + "/export").get_data(as_text=True)
    response = handler.post(case_url(db) + "/export", data={"csrf_token": csrf_of(page), **fields})
    return response.status_code, response.data


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # pypdf breaks long lines where the PDF wrapped them; join them back to read whole phrases.
    return " ".join(" ".join(p.extract_text().split()) for p in reader.pages)


def test_export_page_warns_and_changes_nothing(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db) + "/export").get_data(as_text=True)
    assert "The file leaves the protection of this site" in page
    assert "whoever gets the file can read" in page and "Downloads folder" in page
    assert 'value="zip"' in page and 'type="password"' in page
    assert "case_exported" not in actions(db)
    assert 'href="/staff/cases/' in hanna.get(case_url(db)).get_data(as_text=True)


def test_pdf_holds_the_case_and_the_export_is_audited(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_confidential_report(client, file_bytes("ledger.csv", b"a;b\n1;2\n"))
    hanna = staff_client(app, db, team["hanna"])
    work_the_case(hanna, db)
    status, data = export(hanna, db, format="pdf")
    assert status == 200 and data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = pdf_text(data)
    reference = "C-" + db.scalars(select(Case.uid)).one()[:8].upper()
    assert f"Confidential — case {reference}" in text
    assert f"Page 1 of {len(reader.pages)}" in text and len(reader.pages) >= 2
    assert REPORT_TEXT in text and "Last week, depot 4" in text
    assert "Acknowledgement from Handler (Hanna)" in text and "We have your report." in text
    assert "Received by The site's report form" in text
    assert UNICODE_NOTE in text
    assert "Acknowledge the report" in text and "Give feedback" in text and "Due " in text
    assert "Deadline stopped: eu-directive/acknowledge: met" in text
    assert "case opened" in text and "note added" in text and "message acknowledge" in text
    assert "ledger.csv" in text and "8 bytes" in text
    assert "Category Fraud" in text and "Tier 2 (high)" in text
    # The identity was given in confidence and this handler has not revealed it.
    assert "Rita Reporter" not in text and "rita@example.org" not in text
    assert "not included" in text
    assert reader.metadata is not None and reader.metadata.producer == "Candor"
    assert str(reader.metadata.get("/CreationDate", "")).endswith(("Z", "+00'00'", "Z00'00'"))
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "case_exported")).one()
    assert entry.detail == "pdf" and entry.actor_id == team["hanna"].id


def test_identity_is_in_the_pdf_only_after_this_handler_revealed_it(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_confidential_report(client)
    hanna = staff_client(app, db, team["hanna"])
    sven = staff_client(app, db, team["sven"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    hanna.post(case_url(db) + "/identity", data={"csrf_token": csrf_of(page)})
    assert "is included" in hanna.get(case_url(db) + "/export").get_data(as_text=True)
    _, data = export(hanna, db, format="pdf")
    assert "Rita Reporter" in pdf_text(data) and "rita@example.org" in pdf_text(data)
    # Another handler who has not revealed it gets a PDF without it.
    _, data = export(sven, db, format="pdf")
    assert "Rita Reporter" not in pdf_text(data)
    reveals = db.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "identity_revealed")
    ).all()
    assert reveals == ["", "included in an export"]


def test_zip_holds_the_pdf_and_the_files_byte_for_byte(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    first, second = b"a;b\n1;2\n", bytes(range(256)) * 1000
    file_confidential_report(
        client, file_bytes("ledger.csv", first), file_bytes("ledger.csv", second)
    )
    hanna = staff_client(app, db, team["hanna"])
    work_the_case(hanna, db)
    status, data = export(hanna, db, format="zip")
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(
            [n for n in names if n.endswith(".pdf")] + ["files/ledger.csv", "files/ledger (2).csv"]
        )
        pdf_name = next(n for n in names if n.endswith(".pdf"))
        assert {archive.read("files/ledger.csv"), archive.read("files/ledger (2).csv")} == {
            first,
            second,
        }
        text = pdf_text(archive.read(pdf_name))
    assert REPORT_TEXT in text and "in this zip as files/ledger (2).csv" in text
    assert db.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "case_exported")
    ).all() == ["zip"]


def test_encrypted_zip_opens_with_the_passphrase_and_not_without(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_confidential_report(client, file_bytes("ledger.csv", b"a;b\n1;2\n"))
    hanna = staff_client(app, db, team["hanna"])
    status, page = export(hanna, db, format="zip", passphrase="short", confirm="short")
    assert status == 400 and b"at least 12 characters" in page
    status, page = export(hanna, db, format="zip", passphrase=PASSPHRASE, confirm=PASSPHRASE + "!")
    assert status == 400 and b"The passphrases differ." in page
    status, page = export(hanna, db, format="pdf", passphrase=PASSPHRASE, confirm=PASSPHRASE)
    assert status == 400 and b"A passphrase encrypts only the zip" in page
    assert "case_exported" not in actions(db)
    status, data = export(hanna, db, format="zip", passphrase=PASSPHRASE, confirm=PASSPHRASE)
    assert status == 200
    assert b"a;b\n1;2\n" not in data and REPORT_TEXT.encode() not in data
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            assert info.flag_bits & 0x1  # every entry is encrypted
        with pytest.raises(RuntimeError):
            archive.read("files/ledger.csv")
        archive.setpassword(b"wrong passphrase!!")
        with pytest.raises(RuntimeError):
            archive.read("files/ledger.csv")
        archive.setpassword(PASSPHRASE.encode())
        assert archive.read("files/ledger.csv") == b"a;b\n1;2\n"
    details = db.scalars(select(AuditEntry.detail)).all()
    assert "zip, encrypted" in details
    assert not any(PASSPHRASE in d or "horse" in d for d in details)


def test_only_holders_of_the_case_export_and_only_with_csrf(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client, excluded=[str(team["hanna"].id)])
    hanna = staff_client(app, db, team["hanna"])
    assert hanna.get(case_url(db) + "/export").status_code == 404
    token = csrf_of(hanna.get("/staff/inbox").get_data(as_text=True))
    refused = hanna.post(case_url(db) + "/export", data={"csrf_token": token, "format": "pdf"})
    assert refused.status_code == 404 and not refused.data.startswith(b"%PDF")
    sven = staff_client(app, db, team["sven"])
    no_token = sven.post(case_url(db) + "/export", data={"format": "pdf"})
    assert no_token.status_code == 400 and not no_token.data.startswith(b"%PDF")
    assert app.test_client().get(case_url(db) + "/export").status_code in (302, 404)
    assert "case_exported" not in actions(db)


def test_tampered_file_stops_the_zip_export(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_confidential_report(client, file_bytes("big.bin", b"z" * 200_000))
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    link = re.search(r'href="/staff/cases/[0-9a-f]+/attachments/([0-9a-f]+)">big.bin', page)
    assert link
    path = app.extensions["candor.attachments"].path(link.group(1))
    data = bytearray(path.read_bytes())
    data[-5] ^= 1  # in the last chunk: the first chunks would still verify
    path.write_bytes(bytes(data))
    status, body = export(hanna, db, format="zip")
    assert status == 500 and b"The export was stopped" in body and b"nothing was" in body
    assert not body.startswith(b"PK") and b"z" * 1000 not in body
    assert "case_exported" not in actions(db)


def test_tampered_message_stops_the_pdf_export(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    work_the_case(hanna, db)
    message = db.scalars(select(Message)).first()
    assert message is not None
    sealed = bytearray(message.sealed_body)
    sealed[-1] ^= 1
    message.sealed_body = bytes(sealed)
    db.commit()
    status, body = export(hanna, db, format="pdf")
    assert status == 500 and b"The export was stopped" in body
    assert not body.startswith(b"%PDF") and "case_exported" not in actions(db)


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("..", "file"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("Отчёт ΑΒΓ.docx", "Отчёт ΑΒΓ.docx"),
        ("what?*:<>|.txt", "what_.txt"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_file_names_in_the_zip_stay_inside_it(given: str, safe: str) -> None:
    assert safe_name(given) == safe


def test_pdf_tells_the_history_of_a_breached_and_escalated_deadline(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    ack = db.scalars(select(Deadline).where(Deadline.clock == "acknowledge")).one()
    settings = app.extensions["candor.clock"]
    clock.tick(db, now=ack.due_at - timedelta(days=1), settings=settings)
    clock.tick(db, now=ack.due_at + timedelta(minutes=1), settings=settings)
    hanna = staff_client(app, db, team["hanna"])
    _, data = export(hanna, db, format="pdf")
    text = pdf_text(data)
    history = text[text.index("History of the deadlines") : text.index("Decisions and events")]
    assert "Deadline breached: eu-directive/acknowledge" in history
    assert "Escalated: eu-directive/acknowledge: level 1 -> 2" in history
    assert "State: breached." in text and "Automatic message" in text
