"""A reporter's whole journey through the portal in a real browser, with JavaScript off.

Written in the style of SecureDrop's functional "navigators": the test reads as a list of the
steps a person takes, and ``ReporterNavigator`` knows how each step is done on the pages. Fields
are found by their labels and buttons by their accessible names, since those are the contract
the pages keep with people using assistive technology.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Page, Request, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuthorKind, Case, Message
from portal.services import messaging
from tests.factories import make_handler

REPORT_TEXT = "The warehouse manager sells the spare parts privately."
WHEN_WHERE = "Last week, depot 4"
REPLY_TEXT = "Thank you, we are looking into it. Please send the invoices."
REPLY_FILE = ("instructions.txt", b"Please send the invoices from March.\n")
FOLLOW_UP_TEXT = "Here are the invoices you asked for."


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class ThreadEntry:
    author: str
    body: str
    files: list[str] = field(default_factory=list)


class ReporterNavigator:
    """The steps a reporter takes, one method each.

    After every step that loads a page it checks what holds for every page of the portal: no
    ``<script>`` element, and no request to another origin.
    """

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.requested: list[str] = []
        self.visited: list[str] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        self.requested.append(request.url)

    def _arrived(self) -> None:
        self.visited.append(self.page.url)
        assert self.page.locator("script").count() == 0, f"a <script> on {self.page.url}"
        foreign = [url for url in self.requested if origin(url) != self.base_url]
        assert not foreign, f"requests to another origin: {foreign}"

    # Filing

    def open_landing(self) -> None:
        response = self.page.goto(f"{self.base_url}/")
        assert response is not None and response.status == 200
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_contain_text("Report a concern")

    def file_report(
        self, *, category: str, answers: dict[str, str], tier: str, attachment: Path
    ) -> None:
        self.page.get_by_role("link", name="File a report").click()
        self._arrived()
        expect(self.page.get_by_role("heading", name="File a report")).to_be_visible()
        self.page.get_by_label("What is the report about?").select_option(label=category)
        for question, answer in answers.items():
            self.page.get_by_label(question, exact=True).fill(answer)
        self.page.get_by_label(tier, exact=True).check()
        self.page.get_by_label("Attach documents or pictures (optional)").set_input_files(
            attachment
        )
        self.page.get_by_role("button", name="Send the report").click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            "Your report has been received"
        )

    def save_receipt(self) -> tuple[str, str]:
        code = self.page.locator("#receipt-code").inner_text().strip()
        passphrase = self.page.locator("#passphrase").inner_text().strip()
        assert code and passphrase
        self.page.get_by_label("I have saved my receipt code and passphrase").check()
        self.page.get_by_role("button", name="Done", exact=True).click()
        self._arrived()
        assert urlsplit(self.page.url).path == "/"
        expect(self.page.get_by_role("status")).to_contain_text("Your report has been filed.")
        return code, passphrase

    # Coming back

    def check_back(self, code: str, passphrase: str) -> None:
        self.open_landing()
        self.page.get_by_role("link", name="Check a report").click()
        self._arrived()
        self.page.get_by_label("Receipt code").fill(code)
        self.page.get_by_label("Passphrase").fill(passphrase)
        self.page.get_by_role("button", name="Open my report").click()
        self._arrived()

    def status(self) -> str:
        return self.page.locator("p.status").inner_text()

    def read_report(self) -> str:
        """Open "What you reported" (a plain <details>, no script needed) and return its text."""
        summary = self.page.locator("summary", has_text="What you reported")
        summary.click()
        details = self.page.locator("details", has=summary)
        expect(details).to_have_attribute("open", "")
        return details.inner_text()

    def read_thread(self) -> list[ThreadEntry]:
        entries = []
        for article in self.page.locator("article.message").all():
            entries.append(
                ThreadEntry(
                    author=article.locator("header strong").inner_text(),
                    body=article.locator("p.pre").inner_text(),
                    files=[link.inner_text() for link in article.get_by_role("link").all()],
                )
            )
        return entries

    def download(self, name: str) -> bytes:
        with self.page.expect_download() as info:
            self.page.get_by_role("link", name=name, exact=True).click()
        download = info.value
        assert download.suggested_filename == name
        failure = download.failure()
        assert failure is None, failure
        return download.path().read_bytes()

    def send_follow_up(self, text: str, file: Path) -> None:
        self.page.get_by_label("Your message").fill(text)
        self.page.get_by_label("Attach files").set_input_files(file)
        self.page.get_by_role("button", name="Send", exact=True).click()
        self._arrived()
        expect(self.page.get_by_role("status")).to_have_text("Your message has been sent.")

    def log_out(self) -> None:
        self.page.get_by_role("button", name="Log out").click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("You are signed out")
        expect(self.page.get_by_text("Close this browser window now")).to_be_visible()

    def go_to_case(self) -> None:
        self.page.goto(f"{self.base_url}/case")
        self._arrived()


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
    upload = store.write(REPLY_FILE[0], "text/plain", REPLY_FILE[1])
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
