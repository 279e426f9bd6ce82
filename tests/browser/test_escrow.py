"""An admin creates the key escrow and prints the paper share; a supervisor asks for a recovery,
approves it, types in the paper custodian's words, and the receiving handler reads the case.
Real Chromium, JavaScript off in every context."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import User
from portal.services import clock, intake
from tests.factories import NOW, PASSWORD, make_admin, make_handler, totp_code

REPORT_TEXT = "Invoices from one supplier are approved by the person who raised them."


class StaffNavigator:
    """A staff member's steps, one method each."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def _arrived(self) -> None:
        assert self.page.locator("script").count() == 0, f"a <script> on {self.page.url}"

    def sign_in(self, user: User) -> None:
        self.page.goto(f"{self.base_url}/staff/sign-in")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_label("One-time code").fill(totp_code(user))
        self.page.get_by_role("button", name="Sign in").click()
        self._arrived()

    def create_escrow(self, staff_labels: list[str], paper_name: str) -> str:
        self.page.goto(f"{self.base_url}/admin/escrow")
        self._arrived()
        self.page.get_by_label("Approvals needed (M)").fill("2")
        for label in staff_labels:
            self.page.get_by_label(label).check()
        self.page.get_by_label("Paper custodians (one name a line)").fill(paper_name)
        self.page.get_by_role("button", name="Continue").click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Create the escrow?")
        self.page.get_by_role("button", name="Create the escrow").click()
        self._arrived()
        expect(self.page.get_by_role("alert")).to_contain_text("This page is shown once.")
        words = self.page.locator("ol.share-words li").all_inner_texts()
        assert len(words) == 33
        return " ".join(words)

    def ask_for_recovery(self, receiver: str, departed: str, reason: str) -> None:
        self.page.get_by_role("link", name="Escrow", exact=True).click()
        self._arrived()
        self.page.get_by_role("link", name="Ask for a recovery").click()
        self._arrived()
        self.page.get_by_label("Handler to receive the cases").select_option(label=receiver)
        self.page.get_by_label("Every case held by").select_option(label=departed)
        self.page.get_by_label("Reason").fill(reason)
        self.page.get_by_role("button", name="Ask the escrow custodians").click()
        self._arrived()
        expect(self.page.get_by_role("heading", level=1)).to_contain_text("Request ")

    def approve(self) -> None:
        self.page.get_by_role("button", name="Approve").click()
        self._arrived()

    def type_paper_share(self, name: str, words: str) -> None:
        self.page.get_by_label(f"Share words of {name}").fill(words)
        self.page.get_by_role("button", name="Give this share").click()
        self._arrived()


def file_case(app: Flask, db: Session) -> None:
    config: Config = app.extensions["candor.config"]
    settings: clock.ClockSettings = app.extensions["candor.clock"]
    categories = tuple(replace(c, policies=("eu-directive",)) for c in config.intake.categories)
    intake.submit_report(
        db,
        intake.Submission(
            form_token="browser-escrow" + "0" * 18,
            category="fraud",
            tier=3,
            answers={"what_happened": REPORT_TEXT},
        ),
        intake=replace(config.intake, categories=categories),
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=settings,
        now=NOW,
    )


def test_an_escrow_is_created_and_a_recovery_approved_without_javascript(
    browser: Browser, page: Page, live_server: str, app: Flask, db: Session
) -> None:
    admin = make_admin(db)
    make_handler(db, "hanna")
    sam = make_handler(db, "sam", level=2, categories=("safety",))
    tara = make_handler(db, "tara", level=2, categories=("safety",))

    boss = StaffNavigator(page, live_server)
    boss.sign_in(admin)
    words = boss.create_escrow(
        [f"{sam.display_name} ({sam.title})", f"{tara.display_name} ({tara.title})"], "Pat Paper"
    )
    # Shown once: the status page lists the paper custodian, never the words.
    boss.page.get_by_role("link", name="I have printed the shares").click()
    expect(boss.page.locator("#status + ul")).to_contain_text("Approvals needed: 2 of 3")
    assert words.split()[4] not in boss.page.content()

    # Filed after the escrow exists, so its key is sealed to the escrow key at once.
    file_case(app, db)
    ruth = make_handler(db, "ruth", categories=("safety",))
    context = browser.new_context(java_script_enabled=False)
    try:
        supervisor = StaffNavigator(context.new_page(), live_server)
        supervisor.sign_in(sam)
        supervisor.ask_for_recovery("Ruth (ruth)", "Hanna (hanna)", "Hanna left the company.")
        expect(supervisor.page.locator("dl")).to_contain_text("Gives 1 case to Ruth.")
        supervisor.approve()
        expect(supervisor.page.get_by_role("status").first).to_contain_text(
            "Approval recorded: 1 of 2."
        )
        supervisor.type_paper_share("Pat Paper", words.upper())
        expect(supervisor.page.get_by_role("status").first).to_contain_text("1 case was granted")
    finally:
        context.close()

    context = browser.new_context(java_script_enabled=False)
    try:
        receiver = StaffNavigator(context.new_page(), live_server)
        receiver.sign_in(ruth)
        expect(receiver.page.get_by_role("heading", level=1)).to_have_text("Inbox")
        receiver.page.locator("tr", has_text=REPORT_TEXT[:40]).get_by_role("link").first.click()
        expect(receiver.page.locator("body")).to_contain_text(REPORT_TEXT)
    finally:
        context.close()
