"""A reporter signs in twice on different days, with JavaScript off, and reads when their case
was opened before each visit (services/reporting/visits.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy.orm import Session

from tests.browser.navigators import ReporterNavigator
from tests.factories import NOW, make_handler
from tests.web_clock import WebClock, web_clock

__all__ = ["web_clock"]  # the fixed clock every view of the live server reads

HINT = (
    "If you did not open your case on these days, someone else may know your receipt code and "
    "passphrase: tell the handlers in a message."
)


def test_reporter_reads_when_their_case_was_last_opened(
    page: Page, live_server: str, db: Session, tmp_path: Path, web_clock: WebClock
) -> None:
    make_handler(db, "hanna")
    evidence = tmp_path / "note.txt"
    evidence.write_bytes(b"pallet 7\n")
    reporter = ReporterNavigator(page, live_server)

    reporter.open_landing()  # Monday 23 November 2026
    reporter.file_report(
        category="Fraud",
        answers={"What happened?": "Spare parts are sold privately.", "When and where?": "Depot 4"},
        tier="It could have a serious impact soon",
        attachment=evidence,
    )
    code, passphrase = reporter.save_receipt()

    web_clock.now = NOW + timedelta(days=1)
    reporter.check_back(code, passphrase)
    said = reporter.earlier_visits()
    assert "Before this visit, your report was last opened on 23 November 2026." in said
    assert "It was opened 1 time in the last 30 days." in said
    assert HINT in said
    assert "Next, we will acknowledge your report by 30 November 2026." in reporter.awaited()
    reporter.log_out()

    web_clock.now = NOW + timedelta(days=2)
    reporter.check_back(code, passphrase)
    said = reporter.earlier_visits()
    assert "Before this visit, your report was last opened on 24 November 2026." in said
    assert "It was opened 2 times in the last 30 days." in said
    # Reloading the page within the visit tells the same: it is what sign-in found.
    reporter.go_to_case()
    assert reporter.earlier_visits() == said
