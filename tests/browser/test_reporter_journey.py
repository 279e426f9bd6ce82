"""A reporter's whole journey through the portal in a real browser, with JavaScript off.

Written in the style of SecureDrop's functional "navigators": the test reads as a list of the
steps a person takes, and ``ReporterNavigator`` knows how each step is done on the pages. Fields
are found by their labels and buttons by their accessible names, since those are the contract
the pages keep with people using assistive technology.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuthorKind, Case, Message
from portal.services import messaging
from portal.services.attachments import write_attachment
from tests.browser.navigators import ReporterNavigator, ThreadEntry, origin
from tests.factories import make_handler

REPORT_TEXT = "The warehouse manager sells the spare parts privately."
WHEN_WHERE = "Last week, depot 4"
REPLY_TEXT = "Thank you, we are looking into it. Please send the invoices."
REPLY_FILE = ("instructions.txt", b"Please send the invoices from March.\n")
FOLLOW_UP_TEXT = "Here are the invoices you asked for."


def test_reporter_files_checks_back_reads_a_reply_and_answers(
    page: Page, live_server: str, db: Session, app: Flask, tmp_path: Path
) -> None:
    make_handler(db, "hanna")
    make_handler(db, "sven", level=2)
    evidence = tmp_path / "photo-of-ledger.txt"
    evidence.write_bytes(b"ledger page 12: 40 pumps, no invoice\n")
    reporter = ReporterNavigator(page, live_server)

    reporter.open_landing()
    reporter.file_report(
        category="Fraud",
        answers={"What happened?": REPORT_TEXT, "When and where?": WHEN_WHERE},
        tier="It could have a serious impact soon",
        attachment=evidence,
    )
    code, passphrase = reporter.save_receipt()

    reporter.check_back(code, passphrase)
    assert urlsplit(page.url).path == "/case"
    assert "Received. It is waiting to be acknowledged." in reporter.status()
    report = reporter.read_report()
    assert "Fraud" in report
    assert REPORT_TEXT in report and WHEN_WHERE in report
    assert evidence.name in report
    assert reporter.read_thread() == []

    reporter.log_out()
    reporter.go_to_case()
    assert urlsplit(page.url).path == "/check"
    expect(page.get_by_label("Receipt code")).to_be_visible()

    # A handler answers, with a file; the server seals it to the case key.
    db.expire_all()
    case = db.scalars(select(Case)).one()
    store = app.extensions["candor.attachments"]
    upload = write_attachment(store, REPLY_FILE[0], "text/plain", REPLY_FILE[1])
    messaging.add_message(
        db,
        case,
        REPLY_TEXT,
        author_kind=AuthorKind.HANDLER,
        uploads=[upload],
        store=store,
        now=datetime.now(UTC),
    )

    reporter.check_back(code, passphrase)
    thread = reporter.read_thread()
    assert [(m.body, m.files) for m in thread] == [(REPLY_TEXT, [REPLY_FILE[0]])]
    assert thread[0].author != "You"
    assert reporter.download(REPLY_FILE[0]) == REPLY_FILE[1]

    invoices = tmp_path / "invoices.csv"
    invoices.write_bytes(b"no;amount\n1;100\n2;250\n")
    reporter.send_follow_up(FOLLOW_UP_TEXT, invoices)
    assert urlsplit(page.url).path == "/case"
    thread = reporter.read_thread()
    assert thread[-1] == ThreadEntry(author="You", body=FOLLOW_UP_TEXT, files=[invoices.name])
    assert len(thread) == 2

    db.expire_all()
    sent = db.scalars(
        select(Message).where(
            Message.case_id == case.id, Message.author_kind == AuthorKind.REPORTER
        )
    ).one()
    assert FOLLOW_UP_TEXT.encode() not in sent.sealed_body
    assert b"invoices" not in sent.sealed_body
    # Neither file the reporter sent lies on disk in the clear.
    stored = b"".join(path.read_bytes() for path in store.root.rglob("*") if path.is_file())
    assert stored
    assert evidence.read_bytes() not in stored and invoices.read_bytes() not in stored

    assert reporter.visited
    assert {origin(url) for url in reporter.requested} == {live_server}


def test_wrong_passphrase_gets_one_generic_message_and_stays_on_the_form(
    page: Page, live_server: str, db: Session, tmp_path: Path
) -> None:
    make_handler(db, "hanna")
    make_handler(db, "sven", level=2)
    evidence = tmp_path / "note.txt"
    evidence.write_bytes(b"a note\n")
    reporter = ReporterNavigator(page, live_server)
    reporter.open_landing()
    reporter.file_report(
        category="Safety",
        answers={"What happened?": REPORT_TEXT},
        tier="No, neither of these",
        attachment=evidence,
    )
    code, passphrase = reporter.save_receipt()

    reporter.check_back(code, "wrong words entirely")
    assert urlsplit(page.url).path == "/check"
    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    wrong_passphrase = alert.inner_text()
    assert "do not match" in wrong_passphrase
    assert "wrong words entirely" not in page.content()
    expect(page.get_by_role("button", name="Open my report")).to_be_visible()
    expect(page.get_by_label("Passphrase")).to_have_value("")

    # A wrong receipt code gets exactly the same words: nothing tells which one was wrong.
    wrong_code = code[:-1] + str((int(code[-1]) + 1) % 10)
    reporter.check_back(wrong_code, passphrase)
    assert urlsplit(page.url).path == "/check"
    expect(page.get_by_role("alert")).to_have_count(1)
    assert page.get_by_role("alert").inner_text() == wrong_passphrase
    assert {origin(url) for url in reporter.requested} == {live_server}
