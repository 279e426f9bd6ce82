"""The reporter's journey in German and in Arabic, in a real browser with JavaScript off.

The reporter picks the language with the link on the start page, files a report, reads the
receipt, signs back in, reads a handler's reply and an automatic message of the clock: every page
is in the chosen language (the expected words come from the compiled catalogue, and must differ
from the English), and the case keeps the language, so the clock writes to the reporter in it.
Arabic pages run right to left and their layout mirrors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.support import Translations
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import i18n
from portal.models import AuthorKind, Case, Deadline
from portal.services import clock, messaging
from tests.browser.navigators import ReporterNavigator
from tests.factories import make_handler

REPORT_TEXT = "The warehouse manager sells the spare parts privately."
REPLY_TEXT = "Thank you, we are looking into it."
# How far from the viewport's edge the site name may sit (the header's padding and a margin).
EDGE = 48


class Words:
    """The catalogue's words in one language; each must be translated, not the English."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.translations = Translations.load(str(i18n.TRANSLATIONS_DIR), [code])

    def __call__(self, msgid: str) -> str:
        text = self.translations.gettext(msgid)
        # In the compiled catalogue (some words are the same in both languages: "Passphrase").
        assert text and msgid in self.translations._catalog, (
            f"{self.code}: {msgid!r} is not translated (make translations, or translate it in "
            f"portal/translations/{self.code}/LC_MESSAGES/messages.po)"
        )
        return text


class LocalReporter(ReporterNavigator):
    """The reporter's steps, found by the words of the page's language."""

    def __init__(self, page: Page, base_url: str, words: Words) -> None:
        super().__init__(page, base_url)
        self.t = words

    def choose_language(self, language: i18n.Language) -> None:
        response = self.page.goto(f"{self.base_url}/")
        assert response is not None and response.status == 200
        self._arrived()
        self.page.locator("nav.languages").get_by_role("link", name=language.name).click()
        self._arrived()
        self.in_language(language)

    def in_language(self, language: i18n.Language) -> None:
        html = self.page.locator("html")
        expect(html).to_have_attribute("lang", language.code)
        expect(html).to_have_attribute("dir", language.direction)

    def file_in_language(self, *, category: str, answer: str, attachment: Path) -> None:
        t = self.t
        self.page.get_by_role("link", name=t("File a report")).first.click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(t("File a report"))
        self.page.get_by_label(t("What is the report about?")).select_option(label=category)
        self.page.get_by_label(t("What happened?"), exact=True).fill(answer)
        self.page.get_by_label(t("It could have a serious impact soon"), exact=True).check()
        self.page.get_by_label(t("Attach documents or pictures (optional)")).set_input_files(
            attachment
        )
        self.page.get_by_role("button", name=t("Send the report")).click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            t("Your report has been received")
        )

    def keep_receipt(self) -> tuple[str, str]:
        t = self.t
        code = self.page.locator("#receipt-code").inner_text().strip()
        passphrase = self.page.locator("#passphrase").inner_text().strip()
        assert code and passphrase
        self.page.get_by_label(t("I have saved my receipt code and passphrase")).check()
        self.page.get_by_role("button", name=t("Done"), exact=True).click()
        self._arrived()
        assert urlsplit(self.page.url).path == "/"
        expect(self.page.get_by_role("status")).to_contain_text(
            t("Your report has been filed. Keep your receipt code and passphrase safe.")
        )
        return code, passphrase

    def sign_back_in(self, code: str, passphrase: str) -> None:
        t = self.t
        self.page.goto(f"{self.base_url}/")
        self._arrived()
        self.page.get_by_role("link", name=t("Check a report")).first.click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(t("Check a report"))
        self.page.get_by_label(t("Receipt code")).fill(code)
        self.page.get_by_label(t("Passphrase"), exact=True).fill(passphrase)
        self.page.get_by_role("button", name=t("Open my report")).click()
        self._arrived()
        assert urlsplit(self.page.url).path == "/case"

    def messages(self) -> list[tuple[str, str]]:
        """(author, text) of each message on the case page."""
        return [
            (
                article.locator("header strong").inner_text().strip(),
                article.locator("p.pre").inner_text().strip(),
            )
            for article in self.page.locator("article.message").all()
        ]


def run_clock_past_acknowledgement(db: Session, app: Flask) -> None:
    """The worker's pass after the acknowledgement deadline: it writes to the reporter."""
    db.expire_all()
    ack = db.scalars(select(Deadline).where(Deadline.clock == "acknowledge")).one()
    # As `flask candor clock run` does: inside the app, which knows the catalogues.
    with app.app_context():
        clock.tick(
            db, now=ack.due_at + timedelta(minutes=1), settings=app.extensions["candor.clock"]
        )


def handler_replies(db: Session, app: Flask) -> Case:
    db.expire_all()
    case = db.scalars(select(Case)).one()
    messaging.add_message(
        db,
        case,
        REPLY_TEXT,
        author_kind=AuthorKind.HANDLER,
        uploads=[],
        store=app.extensions["candor.attachments"],
        now=datetime.now(UTC),
    )
    return case


def assert_mirrored(page: Page) -> None:
    """Right to left: the header's site name at the right, the form labels right-aligned."""
    viewport = page.viewport_size
    assert viewport is not None
    name = page.locator(".site-header .site-name").bounding_box()
    assert name is not None
    assert viewport["width"] - (name["x"] + name["width"]) <= EDGE, (name, viewport)
    assert name["x"] > viewport["width"] / 2, (name, viewport)
    labels = page.locator("main label")
    assert labels.count() > 0
    for label in labels.all():
        direction, align = label.evaluate(
            "e => [getComputedStyle(e).direction, getComputedStyle(e).textAlign]"
        )
        assert direction == "rtl", label.inner_text()
        assert align in ("start", "right"), (label.inner_text(), align)


@pytest.mark.parametrize("code", ["de", "ar"])
def test_the_reporter_journey_in_another_language(
    page: Page, live_server: str, db: Session, app: Flask, tmp_path: Path, code: str
) -> None:
    language = i18n.BY_CODE[code]
    t = Words(code)
    make_handler(db, "hanna")
    make_handler(db, "sven", level=2)
    evidence = tmp_path / "photo-of-ledger.txt"
    evidence.write_bytes(b"ledger page 12: 40 pumps, no invoice\n")
    reporter = LocalReporter(page, live_server, t)

    reporter.choose_language(language)
    expect(page.get_by_role("link", name=t("File a report")).first).to_be_visible()
    if language.direction == "rtl":
        page.goto(f"{live_server}/check")
        reporter.in_language(language)
        assert_mirrored(page)
        page.goto(f"{live_server}/")

    reporter.file_in_language(category="Fraud", answer=REPORT_TEXT, attachment=evidence)
    reporter.in_language(language)
    code_, passphrase = reporter.keep_receipt()
    db.expire_all()
    assert db.scalars(select(Case)).one().language == code

    # Signing back in (with the language still chosen in this browser's session).
    reporter.sign_back_in(code_, passphrase)
    reporter.in_language(language)

    handler_replies(db, app)
    page.reload()
    reporter.in_language(language)
    # The handler's reply, under the page's word for its author.
    assert (t("Handler"), REPLY_TEXT) in reporter.messages(), reporter.messages()

    # The clock writes to the reporter in the case's language, whatever the worker's own.
    run_clock_past_acknowledgement(db, app)
    page.reload()
    reporter.in_language(language)
    automatic = [body for author, body in reporter.messages() if author == t("Automatic message")]
    assert automatic, reporter.messages()
    assert t("acknowledge your report") in automatic[0]
    assert "We have not managed" not in automatic[0]
    assert "in the time we promised" not in automatic[0]
    assert {urlsplit(url).netloc for url in reporter.requested} == {urlsplit(live_server).netloc}
