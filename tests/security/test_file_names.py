"""Hostile file names: path traversal, NUL, CR/LF, bidi overrides and very long names.

A file name is the uploader's text. On disk an attachment is named by its random uid only, so
``../../etc/passwd`` or ``..\\..\\x`` cannot write outside the attachment folder; the name itself
is sealed with the case. ``safe_file_name`` keeps only the last path part, drops control and
format characters (NUL, CR/LF, bidi overrides and isolates, zero-width characters, which could
make ``invoice‮fdp.exe`` read as a PDF) and shortens it. The download header carries an
ASCII fallback name and the RFC 5987 ``filename*`` form, so no header can be injected; pages
show the name escaped.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, User
from portal.services.attachments import FILE_NAME_MAX, safe_file_name
from tests.factories import file_bytes
from tests.portal.test_reporter_web import intake_fields, receipt_of
from tests.security.conftest import FiledCase, file_case, reporter_client, staff_client

RLO = "\u202e"
HOSTILE = {
    "traversal": ("../../etc/passwd", "passwd"),
    "windows traversal": ("..\\..\\x.txt", "x.txt"),
    "absolute": ("/etc/shadow", "shadow"),
    "NUL": ("evil\x00.txt", "evil.txt"),
    "CR/LF": ("a\r\nX-Injected: yes.txt", "aX-Injected yes.txt"),
    "bidi override": (f"invoice{RLO}fdp.exe", "invoicefdp.exe"),
    "bidi isolates and marks": ("a\u2066b\u2069c\u200fd\u200be\ufeff.txt", "abcde.txt"),
    "quotes and angles": ('say "hi" <b>.txt', "say hi b.txt"),
    "only dots": ("..", "attachment"),
}
FORMAT_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


@pytest.mark.parametrize(("raw", "expected"), HOSTILE.values(), ids=HOSTILE.keys())
def test_safe_file_name(raw: str, expected: str) -> None:
    assert safe_file_name(raw) == expected


def test_safe_file_name_drops_every_control_and_format_character() -> None:
    every = "".join(
        chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in FORMAT_CATEGORIES
    )
    cleaned = safe_file_name(f"x{every}y.txt")
    assert cleaned == "xy.txt"


def test_a_very_long_name_is_shortened() -> None:
    assert len(safe_file_name("a" * 10_000 + ".txt")) == FILE_NAME_MAX
    assert len(safe_file_name("é" * 10_000)) == FILE_NAME_MAX


def assert_safe_disposition(header: str) -> None:
    assert "\r" not in header and "\n" not in header and "\x00" not in header
    found = re.fullmatch(
        r'attachment; filename="([A-Za-z0-9._ -]*)"; filename\*=UTF-8\'\'(\S+)', header
    )
    assert found, header
    decoded = unquote(found.group(2))
    assert not any(unicodedata.category(ch) in FORMAT_CATEGORIES for ch in decoded)
    assert "/" not in decoded and "\\" not in decoded


def multipart(fields: dict[str, object], file_name: str, data: bytes) -> tuple[bytes, str]:
    """A form body whose file part names the file in the RFC 2231 form (``filename*``), the one
    way any character, CR/LF and NUL included, reaches the server in a part header."""
    boundary = secrets.token_hex(16)
    parts = []
    for key, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f"filename*=UTF-8''{quote(file_name, safe='')}\r\n"
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def file_with_name(app: Flask, db: Session, raw: str) -> FiledCase:
    client = app.test_client()
    body, content_type = multipart(intake_fields(client), raw, b"content")
    response = client.post("/report", data=body, content_type=content_type, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    code, passphrase = receipt_of(response.get_data(as_text=True))
    db.expire_all()
    return FiledCase(db.scalars(select(Case.uid)).one(), code, passphrase)


@pytest.mark.parametrize("kind", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_names_on_disk_in_headers_and_on_pages(
    app: Flask, db: Session, team: dict[str, User], tmp_path: Path, kind: str
) -> None:
    raw, expected = HOSTILE[kind]
    case = file_with_name(app, db, raw)
    root: Path = app.extensions["candor.attachments"].root
    stored = list(root.iterdir())
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{32}", stored[0].name)
    # Nothing was written anywhere else under the test's folder.
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert written <= {stored[0], *tmp_path.glob("candor.sqlite3*")}
    for client, page in (
        (staff_client(app, db, team["hanna"]), case.url),
        (reporter_client(app, case), "/case"),
    ):
        html = client.get(page).get_data(as_text=True)
        link = re.search(r'<a href="([^"]+/attachments/[0-9a-f]+)">([^<]*)</a>', html)
        assert link, html
        assert link.group(2) == expected.replace('"', "&#34;")
        assert RLO not in html
        download = client.get(link.group(1))
        assert download.data == b"content"
        assert set(download.headers.keys()) & {"X-Injected"} == set()
        assert_safe_disposition(download.headers["Content-Disposition"])


def test_a_long_name_is_shortened_on_the_page_and_in_the_header(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    case = file_case(app.test_client(), db, attachments=[file_bytes("ü" * 5000 + ".txt", b"x")])
    html = staff_client(app, db, team["hanna"]).get(case.url).get_data(as_text=True)
    link = re.search(r'<a href="([^"]+/attachments/[0-9a-f]+)">([^<]*)</a>', html)
    assert link and link.group(2) == "ü" * FILE_NAME_MAX
    download = staff_client(app, db, team["hanna"]).get(link.group(1))
    assert_safe_disposition(download.headers["Content-Disposition"])
