"""Attack: reading the reporter's identity out of the hidden details of the files they send.

A phone photo carries its GPS position, the camera's serial number and the owner's name; PDFs and
Office documents carry their author, company and the names on comments. The site removes these
in memory before a file is encrypted (pictures turned upright first), unless the reporter ticks
"keep my files exactly as they are"; it says per file what was done, to reporter and handler.
No plaintext of a file reaches the disk, not even a temporary file.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from portal.models import User
from portal.services.cleaning import CleaningStatus, Kind
from tests import sample_files as samples
from tests.factories import make_handler, sign_in_as
from tests.security.upload_helpers import (
    csrf_from,
    file_and_sign_in,
    follow_up_with_files,
    report_with_files,
    stored_files,
    text_of,
)

IDENTIFYING = (samples.ARTIST.encode(), samples.SERIAL.encode(), samples.COMPANY.encode())


@pytest.fixture
def handler(db: Session) -> User:
    return make_handler(db, "hanna")


def _no_identifying_bytes(data: bytes) -> None:
    for marker in IDENTIFYING:
        assert marker not in data


def _zip_has_no_identifying_bytes(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            _no_identifying_bytes(archive.read(name))


def _check_jpeg(data: bytes) -> None:
    _no_identifying_bytes(data)
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        assert "xmp" not in image.info and "exif" not in image.info
        # Orientation 6 (turn 90° clockwise) is in the pixels now: red on top, blue below.
        assert image.size == (20, 40)
        red, blue = image.convert("RGB").getpixel((10, 2)), image.convert("RGB").getpixel((10, 37))
        assert red[0] > 200 and red[2] < 60
        assert blue[2] > 200 and blue[0] < 60


def _check_png(data: bytes) -> None:
    _no_identifying_bytes(data)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40, 20)
        assert not image.info and not image.getexif()
        assert image.convert("RGB").getpixel((2, 2)) == (255, 0, 0)


def _check_webp(data: bytes) -> None:
    _no_identifying_bytes(data)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40, 20)
        assert not image.getexif() and "xmp" not in image.info


def _check_tiff(data: bytes) -> None:
    _no_identifying_bytes(data)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40, 20)
        assert samples.ARTIST_TAG not in image.getexif()
        assert image.convert("RGB").getpixel((30, 10)) == (0, 0, 255)


def _check_pdf(data: bytes) -> None:
    _no_identifying_bytes(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1
        assert "/Info" not in pdf.trailer
        assert "/Metadata" not in pdf.Root


def _check_docx(data: bytes) -> None:
    import docx

    _zip_has_no_identifying_bytes(data)
    document = docx.Document(io.BytesIO(data))
    assert document.paragraphs[0].text == "The invoices were changed on 3 March."
    assert document.core_properties.author == ""
    assert [c.text for c in document.comments] == ["Check this"]
    assert [c.author for c in document.comments] == [""]


def _check_xlsx(data: bytes) -> None:
    import openpyxl

    _zip_has_no_identifying_bytes(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None and sheet["B1"].value == 1200
    assert sheet["B1"].comment is not None and "Too high" in sheet["B1"].comment.text


def _check_pptx(data: bytes) -> None:
    import pptx

    _zip_has_no_identifying_bytes(data)
    deck = pptx.Presentation(io.BytesIO(data))
    title = deck.slides[0].shapes.title
    assert title is not None and title.text == "Quarterly numbers"
    assert deck.core_properties.author == "" and deck.core_properties.last_modified_by == ""


def _check_odt(data: bytes) -> None:
    from odf import teletype, text
    from odf.opendocument import load

    _zip_has_no_identifying_bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist()[0] == "mimetype"
    document = load(io.BytesIO(data))
    paragraphs = [teletype.extractText(p) for p in document.getElementsByType(text.P)]
    assert any(p.startswith("The invoices were changed on 3 March.") for p in paragraphs)


CASES = [
    ("photo.jpg", samples.jpeg, Kind.JPEG, _check_jpeg),
    ("scan.png", samples.png, Kind.PNG, _check_png),
    ("picture.webp", samples.webp, Kind.WEBP, _check_webp),
    ("scan.tiff", samples.tiff, Kind.TIFF, _check_tiff),
    ("invoice.pdf", samples.pdf, Kind.PDF, _check_pdf),
    ("memo.docx", samples.docx, Kind.OFFICE, _check_docx),
    ("figures.xlsx", samples.xlsx, Kind.OFFICE, _check_xlsx),
    ("slides.pptx", samples.pptx, Kind.OFFICE, _check_pptx),
    ("memo.odt", samples.odt, Kind.OFFICE, _check_odt),
]


@pytest.mark.parametrize(("name", "build", "kind", "check"), CASES, ids=[c[0] for c in CASES])
def test_each_format_loses_its_metadata_on_the_way_in(
    client: FlaskClient, app: Flask, db: Session, handler: User, name, build, kind, check
) -> None:
    original = build()
    assert any(marker in original for marker in IDENTIFYING) or name.endswith(
        ("docx", "xlsx", "pptx", "odt")
    )
    status, page = report_with_files(client, [(name, original)])
    assert status == 200, page
    assert "Cleaned: hidden details" in text_of(page)  # the receipt says so, per file
    [(view, stored)] = stored_files(app, db, handler)
    assert view.cleaning is CleaningStatus.CLEANED and view.kind is kind
    assert view.size == len(stored)  # the size recorded is the cleaned size
    check(stored)


def test_follow_up_files_are_cleaned_and_the_thread_says_so(
    client: FlaskClient, app: Flask, db: Session, handler: User
) -> None:
    page = file_and_sign_in(client)
    status, page = follow_up_with_files(client, page, [("photo.jpg", samples.jpeg())], "A photo.")
    assert status == 200
    assert "photo.jpg" in page and "Cleaned: hidden details" in text_of(page)
    [(view, stored)] = stored_files(app, db, handler)
    assert view.cleaning is CleaningStatus.CLEANED
    _check_jpeg(stored)


def test_keep_box_keeps_files_byte_for_byte_and_says_so(
    client: FlaskClient, app: Flask, db: Session, handler: User
) -> None:
    photo, memo = samples.jpeg(), samples.docx()
    status, page = report_with_files(
        client, [("photo.jpg", photo), ("memo.docx", memo)], keep_files="y"
    )
    assert status == 200
    assert text_of(page).count("Kept exactly as sent, as the sender asked") == 2
    stored = stored_files(app, db, handler)
    assert [data for _, data in stored] == [photo, memo]
    assert {view.cleaning for view, _ in stored} == {CleaningStatus.KEPT}

    sign_in_page = file_and_sign_in(client)
    status, page = follow_up_with_files(
        client, sign_in_page, [("again.jpg", photo)], "As it was.", keep_files="y"
    )
    assert status == 200 and "Kept exactly as sent" in text_of(page)


def test_unsupported_kinds_are_marked_not_cleaned_with_an_honest_line(
    client: FlaskClient, app: Flask, db: Session, handler: User
) -> None:
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64 + samples.ARTIST.encode()
    notes = b"Plain notes by " + samples.ARTIST.encode()
    status, page = report_with_files(client, [("clip.mp4", video), ("notes.txt", notes)])
    assert status == 200
    assert "this site cannot clean videos" in text_of(page)
    assert "this site cannot clean this kind of file" in text_of(page)
    stored = stored_files(app, db, handler)
    assert [data for _, data in stored] == [video, notes]
    assert [(v.cleaning, v.kind) for v, _ in stored] == [
        (CleaningStatus.UNSUPPORTED, Kind.VIDEO),
        (CleaningStatus.UNSUPPORTED, Kind.OTHER),
    ]


def test_a_broken_picture_is_kept_unchanged_and_said_so(
    client: FlaskClient, app: Flask, db: Session, handler: User
) -> None:
    broken = samples.jpeg()[:200]
    status, page = report_with_files(client, [("cut.jpg", broken)])
    assert status == 200
    assert "Could not be cleaned" in text_of(page) and "nothing was lost" in text_of(page)
    [(view, stored)] = stored_files(app, db, handler)
    assert view.cleaning is CleaningStatus.FAILED and stored == broken


def test_handler_sees_the_flag_and_handler_files_are_cleaned_too(
    client: FlaskClient, app: Flask, db: Session, handler: User
) -> None:
    status, _ = report_with_files(client, [("photo.jpg", samples.jpeg())], keep_files="y")
    assert status == 200
    case_uid = _case_uid(db)
    sign_in_as(client, db, handler)
    page = client.get(f"/staff/cases/{case_uid}").get_data(as_text=True)
    assert "Kept exactly as sent, as the sender asked" in text_of(page)
    reply = client.post(
        f"/staff/cases/{case_uid}/messages",
        data={
            "csrf_token": csrf_from(client, f"/staff/cases/{case_uid}"),
            "kind": "reply",
            "body": "Here is the site plan.",
            "attachments": [(io.BytesIO(samples.pdf()), "plan.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert reply.status_code == 302
    files = stored_files(app, db, handler)
    assert files[1][0].cleaning is CleaningStatus.CLEANED
    _check_pdf(files[1][1])
    page = client.get(f"/staff/cases/{case_uid}").get_data(as_text=True)
    assert "Cleaned: hidden details" in text_of(page)


def _case_uid(db: Session) -> str:
    from sqlalchemy import select

    from portal.models import Case

    return db.scalars(select(Case.uid)).one()


def test_intake_page_states_what_is_cleaned_and_the_limit(
    client: FlaskClient, handler: User
) -> None:
    page = text_of(client.get("/report").get_data(as_text=True))
    assert "pictures (JPEG, PNG, WebP, TIFF, HEIC), PDFs and Office or OpenDocument files" in page
    assert "up to 32 MB each" in page
    assert "Keep my files exactly as they are" in page
    assert "can also name you" in page


def test_no_plaintext_reaches_the_disk(
    client: FlaskClient,
    app: Flask,
    db: Session,
    handler: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Canary search of the attachment folder and the temporary folder after real uploads.

    The files are large enough (2 MB) that a parser spooling to a temporary file would have
    done so; the canary is in what survives cleaning, so it is in every stored plaintext.
    """
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    canary = b"CANARY-7f3a9c-plaintext"
    big_text = (canary + b" ") * (2 * 1024 * 1024 // (len(canary) + 1))
    picture = Image.frombytes("RGB", (900, 900), (canary * 110_000)[: 900 * 900 * 3])
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=0)
    files = [("notes.txt", big_text), ("big.png", out.getvalue()), ("memo.docx", samples.docx())]
    page = file_and_sign_in(client, files)
    status, _ = follow_up_with_files(client, page, files, "Once more.")
    assert status == 200
    stored = stored_files(app, db, handler)
    assert len(stored) == 6 and canary in stored[0][1]
    for folder in (app.extensions["candor.attachments"].root, temp):
        for path in folder.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert canary not in content, path
                assert b"invoices were changed" not in content, path
                _no_identifying_bytes(content)
