"""The staff pages at desktop width and at 375 px, the case page's two columns, what each message
of the thread is, and axe-core on the staff and reporter pages (serious and critical violations
fail). JavaScript stays off where people browse; the checks run on a snapshot (accessibility.py).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from tests.browser.accessibility import (
    DESKTOP,
    PHONE,
    box,
    check_page,
    scrolls_sideways,
    snapshot,
    wider_than_window,
)
from tests.browser.navigators import ReporterNavigator
from tests.browser.test_handler_journey import HandlerNavigator
from tests.factories import PASSWORD, make_admin, make_handler, totp_code

# An unbroken reference, as people paste them: it must wrap, not widen the page.
LONG_REFERENCE = "INV-2026-" + "0123456789" * 12
REPORT_TEXT = f"Invoices are paid twice to one supplier, see {LONG_REFERENCE} and the ledger."
ACKNOWLEDGEMENT = "Thank you for your report. We have received it and will look into it."
QUESTION = "Could you tell us which month the first double payment happened?"
FEEDBACK = "We have checked the ledger and are talking to the finance team."


def kinds_in_thread(page: Page) -> list[str]:
    """What each message says it is, in thread order ("" where only its author says it)."""
    kinds = []
    for article in page.locator("article.message[data-kind]").all():
        label = article.locator(".message-kind")
        kinds.append(label.inner_text() if label.count() else "")
    return kinds


def test_staff_and_reporter_pages_fit_both_widths_say_each_message_kind_and_pass_axe(
    browser: Browser, page: Page, live_server: str, db: Session, tmp_path: Path
) -> None:
    hanna = make_handler(db, "hanna")
    evidence = tmp_path / "ledger.txt"
    evidence.write_bytes(b"ledger lines 12 and 13, the same invoice twice\n")

    reporter = ReporterNavigator(page, live_server)
    # The report form, the sign-in to a case and the published policy (its flowchart included).
    for path in ("/report", "/check", "/policy"):
        page.goto(f"{live_server}{path}")
        check_page(page)
    reporter.open_landing()
    check_page(page)
    reporter.file_report(
        category="Fraud",
        answers={"What happened?": REPORT_TEXT},
        tier="No, neither of these",
        attachment=evidence,
    )
    check_page(page)  # the receipt page
    code, passphrase = reporter.save_receipt()

    context = browser.new_context(java_script_enabled=False)
    try:
        handler = HandlerNavigator(context.new_page(), live_server)
        handler.page.goto(f"{live_server}/staff/sign-in")
        check_page(handler.page)
        handler.sign_in(hanna)
        check_page(handler.page)  # the inbox, its table at both widths
        handler.open_first_case(REPORT_TEXT)
        trail = handler.page.locator("details#audit-trail")
        expect(trail).not_to_have_attribute("open", "")
        expect(trail.locator("summary")).to_have_text("Audit trail")

        handler.write_to_reporter("Acknowledge receipt", ACKNOWLEDGEMENT)
        handler.write_to_reporter("Ask for more information", QUESTION)
        handler.write_to_reporter("Give feedback", FEEDBACK)
        assert kinds_in_thread(handler.page) == [
            "Acknowledgement",
            "Request for information",
            "Feedback",
        ]
        check_page(handler.page)

        with snapshot(handler.page, DESKTOP) as wide:
            main, aside = box(wide, ".case-main"), box(wide, ".case-aside")
            # Side by side: the aside starts where the main column ends, at the same height.
            assert aside.x >= main.x + main.width and abs(aside.y - main.y) < 1
            assert main.width > aside.width > 300
            # The desktop width is used: more than the old 46rem column.
            assert box(wide, "main").width > 1100
        with snapshot(handler.page, DESKTOP, rtl=True) as mirrored:
            # Right to left, the layout mirrors by itself: the aside on the left, nothing sideways.
            main, aside = box(mirrored, ".case-main"), box(mirrored, ".case-aside")
            assert aside.x + aside.width <= main.x and abs(aside.y - main.y) < 1
            assert not scrolls_sideways(mirrored)
        with snapshot(handler.page, PHONE, rtl=True) as mirrored:
            assert not scrolls_sideways(mirrored), wider_than_window(mirrored)
        with snapshot(handler.page, PHONE) as narrow:
            main, aside = box(narrow, ".case-main"), box(narrow, ".case-aside")
            # Stacked: one column, the aside below the main column, both the window's width.
            assert aside.y >= main.y + main.height and abs(aside.x - main.x) < 1
            assert main.width <= PHONE and aside.width <= PHONE
        case_url = handler.page.url.split("#")[0]
        # The export's warning, the account (with the choice of notifications), the statistics
        # with their charts and tables, and the form for a report received by telephone.
        for url in (
            f"{case_url}/export",
            f"{live_server}/staff/account",
            f"{live_server}/staff/statistics",
            f"{live_server}/staff/oral-reports/new",
        ):
            response = handler.page.goto(url)
            assert response is not None and response.status == 200, url
            check_page(handler.page)
    finally:
        context.close()

    reporter.check_back(code, passphrase)
    assert reporter.read_thread()[0].body == ACKNOWLEDGEMENT
    assert kinds_in_thread(page) == ["Acknowledgement", "Request for information", "Feedback"]
    check_page(page)  # the reporter's case page


def test_admin_pages_fit_both_widths_and_pass_axe(
    browser: Browser, page: Page, live_server: str, db: Session
) -> None:
    admin = make_admin(db)
    page.goto(f"{live_server}/staff/sign-in")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("One-time code").fill(totp_code(admin))
    page.get_by_role("button", name="Sign in").click()
    for path in (
        "/admin/users",
        "/admin/users/new",
        "/admin/categories",
        "/admin/policies",
        "/admin/policies/seed-complaints",
        "/admin/policies/new",
        "/admin/committee",
        "/admin/holidays",
        "/admin/site/categories",
        "/admin/site/questions",
        "/admin/site/groups",
        "/admin/site/look",
    ):
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check_page(page)
