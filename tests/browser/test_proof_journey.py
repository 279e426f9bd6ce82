"""A reporter downloads a proof of report from the receipt page and checks it on /proof, in a
real browser with JavaScript off."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.browser.navigators import ReporterNavigator
from tests.factories import make_handler

REPORT_TEXT = "The warehouse manager sells the spare parts privately."


def download_proof(reporter: ReporterNavigator, folder: Path) -> Path:
    page = reporter.page
    expect(page.get_by_text("anyone who finds it on your device can tell")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download a proof of your report").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.startswith("candor-proof-C-")
    assert download.suggested_filename.endswith("-report1.txt")
    saved = folder / download.suggested_filename
    download.save_as(saved)
    return saved


def check_on_the_site(reporter: ReporterNavigator, proof: Path) -> None:
    page = reporter.page
    page.get_by_role("link", name="How anyone can check a proof").click()
    reporter._arrived()
    assert urlsplit(page.url).path == "/proof"
    page.get_by_label("The proof file").set_input_files(proof)
    page.get_by_role("button", name="Check the proof").click()
    reporter._arrived()


def test_a_reporter_downloads_a_proof_and_checks_it(
    page: Page, live_server: str, db: Session, tmp_path: Path
) -> None:
    make_handler(db, "hanna")
    evidence = tmp_path / "note.txt"
    evidence.write_bytes(b"a note\n")
    reporter = ReporterNavigator(page, live_server)

    reporter.open_landing()
    reporter.file_report(
        category="Fraud",
        answers={"What happened?": REPORT_TEXT, "When and where?": "Depot 4"},
        tier="It could have a serious impact soon",
        attachment=evidence,
    )
    receipt_url = page.url
    code = page.locator("#receipt-code").inner_text().strip()
    proof = download_proof(reporter, tmp_path)
    text = proof.read_text(encoding="utf-8")
    assert "Item: report 1" in text
    assert code not in text and REPORT_TEXT not in text

    check_on_the_site(reporter, proof)
    expect(page.get_by_text("The signature is valid.")).to_be_visible()
    expect(page.locator(".proof-facts")).to_contain_text("The report")

    # A proof with one field changed is refused.
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(text.replace("Item: report 1", "Item: message 1"), encoding="utf-8")
    page.get_by_label("The proof file").set_input_files(tampered)
    page.get_by_role("button", name="Check the proof").click()
    reporter._arrived()
    expect(page.get_by_text("The signature is not valid.")).to_be_visible()

    # Back on the receipt, the reporter confirms; the proof is then gone for good.
    page.goto(receipt_url)
    reporter._arrived()
    reporter.save_receipt()
    response = page.request.get(f"{live_server}/report/receipt/proof")
    assert response.status == 404
