"""Page-object navigators: the steps people take, one method each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect


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

    def earlier_visits(self) -> str:
        """What the case page says of the visits before this one."""
        return self.page.get_by_role("region", name="Your earlier visits").inner_text()

    def awaited(self) -> str:
        """What the case page says first: what is awaited, or owed next."""
        return self.page.locator("#awaited").inner_text()

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


class NewStaffNavigator:
    """The steps a new staff member takes from the activation link to a working second factor."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def _arrived(self) -> None:
        assert self.page.locator("script").count() == 0, f"a <script> on {self.page.url}"

    def activate(self, link_path: str, password: str) -> None:
        self.page.goto(f"{self.base_url}{link_path}")
        self._arrived()
        self.page.get_by_label("New password", exact=True).fill(password)
        self.page.get_by_label("Repeat the new password").fill(password)
        self.page.get_by_role("button", name="Continue").click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Set up your second factor")

    def read_recovery_key(self) -> str:
        """Unfold the recovery key (a plain <details>, no script needed) and read it."""
        self.page.locator("summary", has_text="Show my recovery key").click()
        key = self.page.locator("#recovery-key")
        expect(key).to_be_visible()
        return key.inner_text().strip()

    def secret(self) -> str:
        return self.page.locator("#totp-secret").inner_text().strip()

    def enter_code(self, code: str, *, stored: bool = True) -> None:
        self.page.get_by_label("One-time code").fill(code)
        if stored:
            self.page.get_by_label("I have stored my recovery key somewhere safe").check()
        self.page.get_by_role("button", name="Finish").click()
        self._arrived()
