"""The escrow pages, walked with the test client: an admin creates the escrow (confirming it, the
paper share shown once), a supervisor asks for a recovery, the escrow custodians approve, and the
receiving handler then reads the case."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import EscrowCustodian, EscrowRequest
from portal.services import clock
from tests.factories import make_admin, make_handler
from tests.portal.test_escrow import file_case
from tests.security.conftest import staff_client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert found is not None
    return found.group(1)


def share_words(html: str) -> str:
    block = re.search(r'<ol class="share-words">(.*?)</ol>', html, re.S)
    assert block is not None
    return " ".join(re.findall(r"<li>([a-z]+)</li>", block.group(1)))


def create_escrow(client: FlaskClient, sam_id: int, tara_id: int) -> str:
    page = client.get("/admin/escrow").get_data(as_text=True)
    assert "Create the escrow" in page
    form = {
        "csrf_token": csrf_of(page),
        "threshold": "2",
        "custodians": [str(sam_id), str(tara_id)],
        "paper_names": "Pat Paper",
    }
    confirm = client.post("/admin/escrow", data=form)
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "Create the escrow?" in html
    assert "Pat Paper (on paper)" in html
    shown = client.post("/admin/escrow", data={**form, "confirm": "yes"})
    assert shown.status_code == 200
    assert "no-store" in shown.headers["Cache-Control"]
    html = shown.get_data(as_text=True)
    assert "This page is shown once." in html
    words = share_words(html)
    assert len(words.split()) == 33
    return words


def test_the_escrow_pages_from_creation_to_a_recovery(
    app: Flask, db: Session, client: FlaskClient
) -> None:
    settings: clock.ClockSettings = app.extensions["candor.clock"]
    admin = make_admin(db)
    make_handler(db, "hanna")
    sam = make_handler(db, "sam", level=2, categories=("safety",))
    tara = make_handler(db, "tara", level=2, categories=("safety",))
    admin_browser = staff_client(app, db, admin)

    # Bad input: a threshold above the number of custodians is refused and nothing is made.
    page = admin_browser.get("/admin/escrow").get_data(as_text=True)
    refused = admin_browser.post(
        "/admin/escrow",
        data={"csrf_token": csrf_of(page), "threshold": "3", "custodians": [str(sam.id)]},
    )
    assert refused.status_code == 400
    assert "you chose 3 of 1" in refused.get_data(as_text=True)

    words = create_escrow(admin_browser, sam.id, tara.id)
    case = file_case(db, app, settings)
    status = admin_browser.get("/admin/escrow").get_data(as_text=True)
    assert "Open cases under escrow: 1 of 1." in status
    assert "Pat Paper" in status
    assert words.split()[5] not in status
    # Created once: a second post is refused.
    again = admin_browser.post(
        "/admin/escrow",
        data={
            "csrf_token": csrf_of(status),
            "threshold": "2",
            "confirm": "yes",
            "custodians": [str(sam.id), str(tara.id)],
        },
    )
    assert again.status_code == 400

    ruth = make_handler(db, "ruth", categories=("safety",))
    sam_browser = staff_client(app, db, sam)
    form_page = sam_browser.get("/staff/escrow/recovery").get_data(as_text=True)
    asked = sam_browser.post(
        "/staff/escrow/recovery",
        data={
            "csrf_token": csrf_of(form_page),
            "handler_id": str(ruth.id),
            "from_handler_id": "",
            "references": f"C-{case.uid[:8].upper()}",
            "reason": "Hanna lost her password and her recovery key.",
        },
    )
    assert asked.status_code == 302
    request = db.scalars(select(EscrowRequest)).one()
    url = f"/staff/escrow/requests/{request.id}"
    assert asked.location == url

    # A level 1 handler sees no escrow page.
    ruth_browser = staff_client(app, db, ruth)
    assert ruth_browser.get(url).status_code == 404
    assert ruth_browser.get(f"/staff/cases/{case.uid}").status_code == 404

    page = sam_browser.get(url).get_data(as_text=True)
    assert "Waiting: 0 of 2 approvals." in page
    approved = sam_browser.post(url, data={"csrf_token": csrf_of(page), "act": "approve"})
    assert approved.status_code == 302
    page = sam_browser.get(url).get_data(as_text=True)
    assert "Approval recorded: 1 of 2." in page
    assert ruth_browser.get(f"/staff/cases/{case.uid}").status_code == 404

    pat = db.scalar(select(EscrowCustodian).where(EscrowCustodian.paper_name == "Pat Paper"))
    assert pat is not None
    wrong = sam_browser.post(
        url,
        data={
            "csrf_token": csrf_of(page),
            "act": "paper",
            "custodian_id": str(pat.id),
            "words": "lion " * 33,
        },
    )
    assert wrong.status_code == 400
    assert "not a valid share" in wrong.get_data(as_text=True)
    done = sam_browser.post(
        url,
        data={
            "csrf_token": csrf_of(page),
            "act": "paper",
            "custodian_id": str(pat.id),
            "words": words,
        },
    )
    assert done.status_code == 302
    assert "1 case was granted" in sam_browser.get(url).get_data(as_text=True)
    opened = ruth_browser.get(f"/staff/cases/{case.uid}")
    assert opened.status_code == 200
    assert "Report number 0." in opened.get_data(as_text=True)
