"""A tier 1 (critical) case stands out: a highlighted inbox row with the word "Critical" (never
colour alone) and a banner at the top of the case page; other tiers show neither."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case
from tests.factories import make_handler, sign_in_as
from tests.portal.test_reporter_web import file_report

BANNER = "Critical (tier 1)."


@pytest.mark.parametrize(("tier", "critical"), [("1", True), ("2", False), ("3", False)])
def test_a_tier_1_case_is_highlighted_in_the_inbox_and_on_the_case_page(
    client: FlaskClient, app: Flask, db: Session, tier: str, critical: bool
) -> None:
    hanna = make_handler(db, "hanna")
    db.commit()
    file_report(client, tier=tier)
    case = db.scalars(select(Case)).one()
    staff = app.test_client()
    sign_in_as(staff, db, hanna)

    inbox = staff.get("/staff/inbox").get_data(as_text=True)
    rows = re.findall(r"<tr[^>]*>.*?</tr>", inbox, re.S)
    [row] = [r for r in rows if case.uid in r]
    assert row.startswith('<tr class="tier-1 critical">') is critical
    assert ('<strong class="critical-word">Critical</strong>' in row) is critical

    page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert (BANNER in page) is critical
    if critical:
        # The banner comes before the rest of the case page.
        assert page.index(BANNER) < page.index("<h1>Case ")
