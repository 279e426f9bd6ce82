"""SQL injection: quotes and statements in filters, codes, names and ids rewrite a query.

Every query is built with SQLAlchemy's expression language and bound parameters; filter values
are also checked against their allowed values (status names, tier and level ranges, digits for
page numbers) before they reach a query. Probes in every inbox filter, the page number, the
receipt code, usernames, the site-text key and every id in a URL give no 500, no row the
visitor may not see, and every table is still there with its rows.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.models import User
from tests.factories import make_admin
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import FiledCase, file_case, row_counts, staff_client

PROBES = [
    "' OR 1=1 --",
    "' OR '1'='1",
    '" OR ""="',
    "1; DROP TABLE cases",
    "1); DROP TABLE cases; --",
    "fraud' UNION SELECT username, NULL FROM users --",
    "\u2019 OR \u20181\u2019=\u20181",  # curly quotes
    "\u02bc OR 1=1 --",  # modifier-letter apostrophe
    "\uff07 OR 1=1 --",  # full-width apostrophe
    "%' OR '%'='",
    "\\' OR 1=1 --",
    "1 OR 1=1",
    "-1",
    "99999999999999999999999",
]
INBOX_FILTERS = ["status", "tier", "category", "overdue", "due_soon", "mine", "level", "page"]


def shown_cases(html: str) -> int:
    found = re.search(r"(\d+) cases?\.", html)
    assert found, html
    return int(found.group(1))


@pytest.fixture
def olga_client(app: Flask, db: Session, team: dict[str, User]) -> FlaskClient:
    """olga handles only "safety"; one fraud case and one safety case exist."""
    file_case(app.test_client(), db)
    file_case(app.test_client(), db, category="safety")
    client = staff_client(app, db, team["olga"])
    assert shown_cases(client.get("/staff/inbox").get_data(as_text=True)) == 1
    return client


def test_inbox_filters(app: Flask, db: Session, olga_client: FlaskClient) -> None:
    before = row_counts(db)
    for probe in PROBES:
        inbox_probe(olga_client, probe)
    assert row_counts(db) == before


def inbox_probe(olga_client: FlaskClient, probe: str) -> None:
    for name in INBOX_FILTERS:
        response = olga_client.get(f"/staff/inbox?{name}={quote(probe)}")
        assert response.status_code == 200, name
        assert shown_cases(response.get_data(as_text=True)) <= 1, name
    all_at_once = "&".join(f"{name}={quote(probe)}" for name in INBOX_FILTERS)
    response = olga_client.get(f"/staff/inbox?{all_at_once}")
    assert response.status_code == 200
    assert shown_cases(response.get_data(as_text=True)) <= 1


def test_secrets_names_and_ids(app: Flask, db: Session, team: dict[str, User]) -> None:
    case = file_case(app.test_client(), db)
    admin = staff_client(app, db, make_admin(db, "boss"))
    handler = staff_client(app, db, team["hanna"])
    before = row_counts(db)
    for probe in PROBES:
        probe_everywhere(app, case, admin, handler, probe)
    # Every table is still there, with the same rows: failed sign-ins add audit entries only,
    # and failed check-backs count against the case's receipt code (one row, the delay).
    after = row_counts(db)
    counted = {"audit_entries", "receipt_code_delays"}
    assert {k: v for k, v in after.items() if k not in counted} == {
        k: v for k, v in before.items() if k not in counted
    }
    assert after["receipt_code_delays"] - before["receipt_code_delays"] <= 1
    assert handler.get(case.url).status_code == 200


def probe_everywhere(
    app: Flask, case: FiledCase, admin: FlaskClient, handler: FlaskClient, probe: str
) -> None:
    visitor = app.test_client()
    token = csrf_of(visitor.get("/check").get_data(as_text=True))
    for path, data in (
        ("/check", {"receipt_code": probe, "passphrase": probe}),
        ("/check", {"receipt_code": case.receipt_code, "passphrase": probe}),
        ("/staff/sign-in", {"username": probe, "password": probe, "code": probe}),
        (
            "/staff/recover",
            {"username": probe, "recovery_key": probe, "password": "x" * 20, "confirm": "x" * 20},
        ),
    ):
        response = visitor.post(path, data={"csrf_token": token, **data})
        # Refused, or throttled after a few tries on one receipt code: never a 500.
        assert response.status_code in {400, 429}, path
    quoted = quote(probe, safe="")
    for client, path in (
        (visitor, f"/staff/activate/{quoted}"),
        (handler, f"/staff/cases/{quoted}"),
        (handler, f"{case.url}/attachments/{quoted}"),
        (admin, f"/admin/texts?key={quoted}"),
        # An id beyond 64 bits is tests/security/test_huge_ids.py's case.
        *([] if probe.isdigit() else [(admin, f"/admin/users/{quoted}")]),
    ):
        response = client.get(path)
        assert response.status_code == 404, path
    admin_token = csrf_of(admin.get("/admin/users/new").get_data(as_text=True))
    response = admin.post(
        "/admin/users/new",
        data={"csrf_token": admin_token, "username": probe, "display_name": probe, "level": "1"},
    )
    assert response.status_code == 400
