"""Back, Forward and Reload around the receipt give proper pages, never "confirm resubmission"."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import Case
from tests.browser.navigators import ReporterNavigator
from tests.factories import make_handler


def test_back_forward_and_reload_around_the_receipt(
    page: Page, live_server: str, db: Session, tmp_path: Path
) -> None:
    make_handler(db, "hanna")
    evidence = tmp_path / "note.txt"
    evidence.write_bytes(b"ledger page 12\n")
    reporter = ReporterNavigator(page, live_server)
    reporter.open_landing()
    reporter.file_report(
        category="Fraud",
        answers={"What happened?": "Invoices are paid twice."},
        tier="No, neither of these",
        attachment=evidence,
    )
    assert urlsplit(page.url).path == "/report/receipt"
    code = page.locator("#receipt-code").inner_text().strip()

    response = page.reload()
    assert response is not None and response.status == 200
    expect(page.locator("#receipt-code")).to_have_text(code)

    response = page.go_back()
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="File a report")).to_be_visible()

    response = page.go_forward()
    assert response is not None and response.status == 200
    expect(page.locator("#receipt-code")).to_have_text(code)
    assert db.scalar(select(func.count()).select_from(Case)) == 1

    reporter.save_receipt()
    response = page.go_back()
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing more to show")
    expect(page.locator("body")).to_contain_text("There is no receipt to show")
    assert page.locator("#receipt-code").count() == 0
