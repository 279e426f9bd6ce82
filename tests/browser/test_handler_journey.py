"""A reporter files; a handler signs in with a one-time code, acknowledges and replies; the
reporter checks back and reads the reply. Two browser contexts, JavaScript off in both."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from portal.models import User
from tests.browser.navigators import ReporterNavigator, origin
from tests.factories import PASSWORD, make_handler, totp_code

REPORT_TEXT = "Safety checks on the forklifts are signed without being done."
ACKNOWLEDGEMENT = "Thank you for your report. We have received it and will look into it."
REPLY = "Could you tell us which shift this happens on?"


class HandlerNavigator:
    """The steps a handler takes, one method each."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.requested: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))

    def _arrived(self) -> None:
        assert self.page.locator("script").count() == 0, f"a <script> on {self.page.url}"

    def sign_in(self, user: User) -> None:
        self.page.goto(f"{self.base_url}/staff/sign-in")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_label("One-time code").fill(totp_code(user))
        self.page.get_by_role("button", name="Sign in").click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Inbox")

    def open_first_case(self, preview: str) -> None:
        row = self.page.locator("tr", has_text=preview[:40])
        row.get_by_role("link").first.click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_contain_text("Case C-")

    def write_to_reporter(self, kind: str, text: str) -> None:
        self.page.get_by_label("Kind of message").select_option(label=kind)
        self.page.get_by_label("Message", exact=True).fill(text)
        self.page.get_by_role("button", name="Send to the reporter").click()
        self._arrived()
        expect(self.page.get_by_role("status")).to_have_text(
            "The message has been sent to the reporter."
        )


def test_handler_acknowledges_and_replies_and_the_reporter_reads_it(
    browser: Browser, page: Page, live_server: str, db: Session, tmp_path: Path
) -> None:
    hanna = make_handler(db, "hanna")
    evidence = tmp_path / "checklist.txt"
    evidence.write_bytes(b"checklist, week 12, all boxes ticked by one hand\n")

    reporter = ReporterNavigator(page, live_server)
    reporter.open_landing()
    reporter.file_report(
        category="Safety",
        answers={"What happened?": REPORT_TEXT},
        tier="Yes: someone is in immediate danger, or the matter is critical",
        attachment=evidence,
    )
    code, passphrase = reporter.save_receipt()

    context = browser.new_context(java_script_enabled=False)
    try:
        handler = HandlerNavigator(context.new_page(), live_server)
        handler.sign_in(hanna)
        assert "1 case." in handler.page.content()
        handler.open_first_case(REPORT_TEXT)
        assert REPORT_TEXT in handler.page.content()
        handler.write_to_reporter("Acknowledge receipt", ACKNOWLEDGEMENT)
        assert "Acknowledged" in handler.page.content()
        handler.write_to_reporter("Ask for more information", REPLY)
        assert {origin(url) for url in handler.requested} == {live_server}
    finally:
        context.close()

    reporter.check_back(code, passphrase)
    assert urlsplit(page.url).path == "/case"
    assert "Acknowledged" in reporter.status()
    thread = reporter.read_thread()
    assert [entry.body for entry in thread] == [ACKNOWLEDGEMENT, REPLY]
    assert all(entry.author == "Hanna" for entry in thread)
