"""Redaction: words masked in the report, a message, a note and a file name reach no colleague
granted the case later, no export and no statistics; the handlers who held the case keep the
originals; removing a redaction shows them again and is audited; nothing masked is stored in
the clear."""

from __future__ import annotations

import ast
import io
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

import portal.services
from portal.models import Attachment, AuditEntry, AuthorKind, Case, Message, Note, User
from portal.services import masking
from tests.factories import file_bytes, make_handler
from tests.portal.test_handler_cases import actions, case_url, staff_client
from tests.portal.test_reporter_web import REPORT_TEXT, csrf_of, intake_fields

# One phrase per kind of item, and the reasons given; none of them may reach a later colleague.
IN_REPORT = "warehouse manager"
IN_MESSAGE = "Karl Jansen"
IN_NOTE = "Petra Olsen"
IN_FILE_NAME = "Bjorn Falk"
PHRASES = (IN_REPORT, IN_MESSAGE, IN_NOTE, IN_FILE_NAME)
REASON = "protects the witness Petra Olsen"
MESSAGE = "We spoke to Karl Jansen about the Warehouse Manager."
# The same name again, in capitals and broken over a line: masked too.
NOTE = "Witness: Petra Olsen saw it. Later PETRA\nOLSEN called again."
FILE_NAME = "Bjorn Falk ledger.csv"
FILE_CONTENT = b"a;b\n1;2\n"
MARKER = "[redacted]"


def leaks(text: str) -> list[str]:
    """The masked words found in ``text``, whatever the case of their letters or the spaces."""
    flat = " ".join(text.split()).casefold()
    return [p for p in PHRASES if p.casefold() in flat]


def raw_leaks(data: bytes) -> list[str]:
    folded = data.lower()
    return [p for p in PHRASES if p.lower().encode() in folded]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    return {
        "hanna": make_handler(db, "hanna"),
        "sven": make_handler(db, "sven", level=2),
        # Not on the routing of a "fraud" case: each is granted it later.
        "lena": make_handler(db, "lena", categories=("safety",)),
        "mia": make_handler(db, "mia", categories=("safety",)),
    }


def redact(
    client: FlaskClient, db: Session, kind: str, item: str, phrases: str, reason: str = REASON
) -> None:
    url = f"{case_url(db)}/redact/{kind}/{item}"
    form = client.get(url)
    assert form.status_code == 200
    token = csrf_of(form.get_data(as_text=True))
    made = actions(db).count("redaction_made")
    check = client.post(url, data={"csrf_token": token, "phrases": phrases, "reason": reason})
    assert check.status_code == 200, check.get_data(as_text=True)
    shown = check.get_data(as_text=True)
    masked = re.search(r'id="masked-text">([^<]*)<', shown)
    assert masked and MARKER in masked.group(1) and not leaks(masked.group(1))
    # Nothing is saved before the confirmation.
    assert actions(db).count("redaction_made") == made
    saved = client.post(
        url, data={"csrf_token": token, "phrases": phrases, "reason": reason, "step": "save"}
    )
    assert saved.status_code == 302


def grant(client: FlaskClient, db: Session, user: User, *, with_originals: bool) -> int:
    token = csrf_of(client.get(case_url(db)).get_data(as_text=True))
    data = {"csrf_token": token, "user_id": str(user.id)}
    if with_originals:
        data["with_originals"] = "yes"
    return client.post(case_url(db) + "/grant", data=data).status_code


def export(client: FlaskClient, db: Session, fmt: str) -> bytes:
    page = client.get(case_url(db) + "/export").get_data(as_text=True)
    response = client.post(
        case_url(db) + "/export", data={"csrf_token": csrf_of(page), "format": fmt}
    )
    assert response.status_code == 200
    return response.data


def outputs(client: FlaskClient, db: Session) -> dict[str, str]:
    """Every page and file a handler can reach of the case, as text."""
    case = db.scalars(select(Case)).one()
    url = case_url(db)
    found = {
        "case page": client.get(url).get_data(as_text=True),
        "inbox": client.get("/staff/inbox").get_data(as_text=True),
        "statistics": client.get("/staff/statistics").get_data(as_text=True),
        "statistics csv": client.get("/staff/statistics.csv").get_data(as_text=True),
    }
    message = db.scalars(
        select(Message.uid).where(Message.author_kind == AuthorKind.HANDLER)
    ).first()
    note = db.scalars(select(Note.uid)).first()
    items = [("report", "0"), ("message", message), ("note", note)]
    for attachment in db.scalars(select(Attachment).where(Attachment.case_id == case.id)):
        items.append(("attachment", attachment.uid))
        download = client.get(f"{url}/attachments/{attachment.uid}")
        assert download.status_code == 200 and download.data == FILE_CONTENT
        found[f"download {attachment.uid}"] = unquote(download.headers["Content-Disposition"])
    for kind, item in items:
        found[f"redact form {kind}"] = client.get(f"{url}/redact/{kind}/{item}").get_data(
            as_text=True
        )
    pdf = export(client, db, "pdf")
    found["pdf text"] = pdf_text(pdf)
    found["pdf bytes"] = pdf.decode("latin-1")
    archive_bytes = export(client, db, "zip")
    found["zip bytes"] = archive_bytes.decode("latin-1")
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        found["zip names"] = " ".join(archive.namelist())
        inner = next(n for n in archive.namelist() if n.endswith(".pdf"))
        found["zip pdf text"] = pdf_text(archive.read(inner))
    return found


@pytest.fixture
def redacted(client: FlaskClient, app: Flask, db: Session, team: dict[str, User]) -> FlaskClient:
    """A case with a message, a note and a file, each of the four redacted by hanna."""
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes(FILE_NAME, FILE_CONTENT)]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    hanna = staff_client(app, db, team["hanna"])
    token = csrf_of(hanna.get(case_url(db)).get_data(as_text=True))
    hanna.post(
        case_url(db) + "/messages", data={"csrf_token": token, "kind": "reply", "body": MESSAGE}
    )
    hanna.post(case_url(db) + "/notes", data={"csrf_token": token, "body": NOTE})
    page = hanna.get(f"{case_url(db)}/redact/report/0").get_data(as_text=True)
    assert REPORT_TEXT in page
    redact(hanna, db, "report", "0", IN_REPORT)
    redact(hanna, db, "message", db.scalars(select(Message.uid)).one(), IN_MESSAGE)
    redact(hanna, db, "note", db.scalars(select(Note.uid)).one(), IN_NOTE)
    redact(hanna, db, "attachment", db.scalars(select(Attachment.uid)).one(), IN_FILE_NAME)
    return hanna


def test_the_holders_keep_the_originals_highlighted(
    redacted: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    for client in (redacted, staff_client(app, db, team["sven"])):
        page = client.get(case_url(db)).get_data(as_text=True)
        assert REPORT_TEXT.replace(IN_REPORT, f'<mark class="redacted">{IN_REPORT}</mark>') in page
        for phrase in (IN_MESSAGE, IN_NOTE, IN_FILE_NAME):
            assert f'<mark class="redacted">{phrase}</mark>' in page
        assert 'id="redacted-for-others"' in page
        assert REASON in page
    assert actions(db).count("redaction_made") == 4
    details = db.scalars(select(AuditEntry.detail).where(AuditEntry.action == "redaction_made"))
    assert not any(leaks(d) or "witness" in d for d in details)
    page = redacted.get(case_url(db)).get_data(as_text=True)
    assert page.count("redaction made") == 4


def test_a_colleague_granted_later_never_reads_the_words(
    redacted: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    sven = staff_client(app, db, team["sven"])
    assert grant(sven, db, team["lena"], with_originals=False) == 302
    lena = staff_client(app, db, team["lena"])
    found = outputs(lena, db)
    for where, text in found.items():
        assert not leaks(text), where
    for where in ("case page", "pdf text", "zip pdf text", "redact form report"):
        assert MARKER in found[where], where
    assert "redacted" in found["zip names"] and "ledger.csv" in found["zip names"]
    # The reason names the witness too: masked for her.
    assert "protects the witness [redacted]" in found["case page"]
    assert "phrase, hidden from you" in found["case page"]
    # Guessing what is under a mask is refused like any phrase not in the text.
    url = f"{case_url(db)}/redact/report/0"
    token = csrf_of(found["redact form report"])
    guess = lena.post(url, data={"csrf_token": token, "phrases": IN_REPORT, "reason": "x"})
    assert guess.status_code == 400 and "is not in this text" in guess.get_data(as_text=True)
    # She cannot lift a redaction, nor pass originals on that she does not see.
    assert not re.findall(r"/redactions/[0-9a-f]{32}/remove", found["case page"])
    refused = grant(lena, db, team["mia"], with_originals=True)
    assert refused == 400


def test_exports_are_redacted_even_for_the_holders(
    redacted: FlaskClient, app: Flask, db: Session
) -> None:
    for fmt in ("pdf", "zip"):
        data = export(redacted, db, fmt)
        assert not raw_leaks(data), fmt
    text = pdf_text(export(redacted, db, "pdf"))
    assert not leaks(text) and MARKER in text
    assert "The [redacted] sells the spare parts privately." in text
    assert "We spoke to [redacted] about the [redacted]." in text
    page = redacted.get(case_url(db) + "/export").get_data(as_text=True)
    assert 'id="export-redacted"' in page


def test_a_grant_with_originals_reads_them(
    redacted: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    assert grant(redacted, db, team["mia"], with_originals=True) == 302
    mia = staff_client(app, db, team["mia"])
    page = mia.get(case_url(db)).get_data(as_text=True)
    assert all(f'<mark class="redacted">{p}</mark>' in page for p in PHRASES)
    entry = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "access_granted", AuditEntry.subject_id == team["mia"].id
        )
    ).one()
    assert entry.detail == "with the originals of redacted parts"


def test_removing_a_redaction_shows_the_words_to_all_and_is_audited(
    redacted: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    assert grant(redacted, db, team["lena"], with_originals=False) == 302
    lena = staff_client(app, db, team["lena"])
    page = redacted.get(case_url(db)).get_data(as_text=True)
    removals = re.findall(r'href="(/staff/cases/[0-9a-f]+/redactions/[0-9a-f]{32}/remove)"', page)
    assert len(removals) == 4
    first = removals[0]
    confirm = redacted.get(first).get_data(as_text=True)
    assert IN_REPORT in confirm and "Remove the redaction?" in confirm
    token = csrf_of(confirm)
    # A removal needs its reason; the redaction stays in force meanwhile.
    refused = redacted.post(first, data={"csrf_token": token, "reason": "  "})
    assert refused.status_code == 400 and "Say why" in refused.get_data(as_text=True)
    assert "redaction_removed" not in actions(db)
    assert lena.get(first).status_code == 404
    done = redacted.post(first, data={"csrf_token": token, "reason": "the manager consented"})
    assert done.status_code == 302
    assert REPORT_TEXT in lena.get(case_url(db)).get_data(as_text=True)
    assert REPORT_TEXT in pdf_text(export(redacted, db, "pdf"))
    # The other three stay masked for her.
    still = lena.get(case_url(db)).get_data(as_text=True)
    assert [p for p in leaks(still) if p != IN_REPORT] == []
    assert IN_NOTE not in still and IN_MESSAGE not in still
    assert actions(db).count("redaction_removed") == 1
    page = redacted.get(case_url(db)).get_data(as_text=True)
    assert "the manager consented" in page and "redaction removed" in page
    assert redacted.post(first, data={"csrf_token": token, "reason": "again"}).status_code == 404


def test_a_phrase_not_in_the_text_is_refused_keeping_the_input(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    assert client.post("/report", data=intake_fields(client)).status_code == 303
    hanna = staff_client(app, db, team["hanna"])
    url = f"{case_url(db)}/redact/report/0"
    token = csrf_of(hanna.get(url).get_data(as_text=True))
    typed = "warehouse manager\nsomeone unknown"
    response = hanna.post(url, data={"csrf_token": token, "phrases": typed, "reason": "my reason"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "“someone unknown” is not in this text" in page
    assert re.search(r">\s*warehouse manager\r?\nsomeone unknown</textarea>", page)
    assert re.search(r">\s*my reason</textarea>", page)
    response = hanna.post(url, data={"csrf_token": token, "phrases": IN_REPORT, "reason": ""})
    assert response.status_code == 400 and "Say why these words are redacted." in response.get_data(
        as_text=True
    )
    # Not saved, even when the form claims to be the confirmation.
    forged = hanna.post(
        url, data={"csrf_token": token, "phrases": "nowhere", "reason": "r", "step": "save"}
    )
    assert forged.status_code == 400
    assert "redaction_made" not in actions(db)
    assert hanna.get(f"{case_url(db)}/redact/report/9").status_code == 404
    assert hanna.get(f"{case_url(db)}/redact/secret/0").status_code == 404


def test_the_masked_words_are_never_stored_in_the_clear(
    redacted: FlaskClient, app: Flask, db: Session, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("reads the SQLite file")
    db.close()
    app.extensions["candor.engine"].dispose()
    database = Path(app.extensions["candor.config"].database.url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert b"eu-directive" in stored  # a control: this is the database's content
    assert not raw_leaks(stored)
    assert b"witness" not in stored.lower()


def test_the_statistics_read_no_content() -> None:
    """The statistics count clear columns only: none of their modules opens anything sealed,
    so a redaction has nothing to mask there."""
    openers = {"integrity", "messaging", "casework", "masking", "crypto", "export"}
    for name in ("statistics", "statistics_figures", "annual_report"):
        source = (Path(portal.services.__file__).parent / f"{name}.py").read_text()
        imported = {
            part
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ImportFrom | ast.Import)
            for alias in node.names
            for part in ((node.module or "").split(".") if isinstance(node, ast.ImportFrom) else [])
            + alias.name.split(".")
        }
        assert not imported & openers, name
        assert "sealed" not in source, name


def test_masking_ignores_case_and_spacing_and_cut_off_previews() -> None:
    assert (
        masking.mask("PETRA\nOlsen and petra olsen", ["Petra Olsen"]) == "[redacted] and [redacted]"
    )
    assert masking.mask("Karl Jansen, Karl", ["Karl", "Karl Jansen"]) == "[redacted], [redacted]"
    assert masking.mask("nothing here", []) == "nothing here"
    assert masking.split_phrases(" a  b \n\nA B\nc") == ["a b", "c"]
    assert masking.mask_preview("We met Petra Ol…", ["Petra Olsen"]) == "We met [redacted]…"
    assert masking.mask_preview("Sign in…", ["Nina"]) == "Sign in…"
    assert masking.occurs("Warehouse  Manager", "warehouse manager")
    assert not masking.occurs("warehouse", "warehouse manager")
