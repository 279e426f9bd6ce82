"""Roles that see only what they need (Candor issue 17, part 3).

Every route of the application, taken from its URL map, is asked for by an analyst and by a
custodian. Each reaches only its own pages (the statistics; the identity requests) and the
account page; every case page answers 404, as for a case that does not exist; every other staff
and admin page refuses; nothing changes; and no page either of them reaches shows a case's
reference, content or a count of cases (the statistics excepted, for the analyst: they are the
organisation's figures).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, Case, Role, User
from portal.services import accounts, identity_access, inbox
from portal.services.approvals import Notice
from portal.timeutil import utcnow
from tests.factories import file_bytes, make_admin, make_handler, make_user
from tests.portal.test_reporter_web import REPORT_TEXT, csrf_of
from tests.security.conftest import URL_VALUES, file_case, row_counts, staff_client
from tests.security.test_csrf import FIELDS, fill

# Reached without signing in (or by the sign-in itself): not about roles.
PUBLIC_STAFF = {
    "/staff/sign-in",
    "/staff/sign-out",
    "/staff/recover",
    "/staff/activate/<token>",
    "/staff/re-enrol/<token>",
    "/staff/enrol",
}
# What each role may open, beside the account page and the staff home (which redirects).
ALLOWED = {
    "analyst": {"/staff/statistics", "/staff/statistics.csv", "/staff/statistics/annual-report"},
    "custodian": {
        "/staff/identity-requests",
        "/staff/identity-requests/<int:request_id>/<any(approve, refuse, revoke):decision>",
    },
}
COMMON = {"/staff/", "/staff/account"}
CASE_COUNT = re.compile(r"\b\d+\s+(?:case|cases|report|reports)\b", re.IGNORECASE)


@pytest.fixture
def site(app: Flask, db: Session) -> dict[str, object]:
    """A case held by two handlers, with a waiting identity request, and a value for every URL
    placeholder."""
    boss = make_admin(db, "boss", also_handler=True)
    hanna = make_handler(db, "hanna")
    clara = make_user(db, "clara", role=Role.CUSTODIAN)
    anna = make_user(db, "anna", role=Role.ANALYST)
    case = file_case(
        app.test_client(),
        db,
        anonymity="confidential",
        name="Rita Reporter",
        contact="rita@example.org",
        attachments=[file_bytes("ledger.csv", b"a;b\n1;2\n")],
    )
    row = db.scalars(select(Case).where(Case.uid == case.uid)).one()
    request = identity_access.request_identity(
        db, row, hanna, "Witness interview", now=utcnow(), notice=Notice("Candor", "http://x")
    )
    _, token = accounts.invite_user(
        db,
        boss,
        username="newcomer",
        display_name="Newcomer",
        title="",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=[],
        now=utcnow(),
    )
    values = {
        **URL_VALUES,
        "uid": case.uid,
        "attachment_uid": db.scalars(select(Attachment.uid)).one(),
        "user_id": str(hanna.id),
        "token": token,
        "request_id": str(request.id),
    }
    return {
        "values": values,
        "reference": inbox.reference(row),
        "analyst": staff_client(app, db, anna),
        "custodian": staff_client(app, db, clara),
    }


def staff_rules(app: Flask, method: str) -> list[str]:
    return sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if r.rule.startswith(("/staff", "/admin"))
        and r.rule not in PUBLIC_STAFF
        and method in (r.methods or ())
    )


def staff_nav(page: str) -> str:
    start = page.index('class="staff-nav"')
    return page[start : page.index("</nav>", start)]


def assert_tells_nothing(role: str, rule: str, html: str, reference: str) -> None:
    assert reference not in html, (role, rule)
    assert REPORT_TEXT not in html and "Rita Reporter" not in html, (role, rule)
    assert "ledger.csv" not in html, (role, rule)
    if rule not in ALLOWED["analyst"]:
        assert not CASE_COUNT.search(html), (role, rule, CASE_COUNT.search(html))


@pytest.mark.parametrize("role", ["analyst", "custodian"])
def test_each_role_reaches_only_its_pages(
    app: Flask, db: Session, site: dict[str, object], role: str
) -> None:
    client = site[role]
    assert isinstance(client, FlaskClient)
    values = site["values"]
    assert isinstance(values, dict)
    reference = str(site["reference"])
    rules = staff_rules(app, "GET")
    assert len(rules) > 40
    reached = set()
    for rule in rules:
        response = client.get(fill(rule, values))
        html = response.get_data(as_text=True)
        if rule.startswith("/staff/cases/"):
            # Content: the answer for a case that does not exist.
            assert response.status_code == 404, (role, rule)
        elif rule in ALLOWED[role] | COMMON:
            assert response.status_code in (200, 302, 400, 404), (role, rule)
        else:
            assert response.status_code in (403, 404), (role, rule, response.status_code)
        if response.status_code == 200:
            reached.add(rule)
            if not (role == "custodian" and rule in ALLOWED["custodian"]):
                assert_tells_nothing(role, rule, html, reference)
    assert reached <= ALLOWED[role] | COMMON, reached
    assert {"/staff/account", sorted(ALLOWED[role])[0]} <= reached, reached
    token = csrf_of(client.get("/staff/account").get_data(as_text=True))
    before = row_counts(db)
    for rule in staff_rules(app, "POST"):
        if rule in ALLOWED[role] | COMMON:
            continue
        response = client.post(fill(rule, values), data={**FIELDS, "csrf_token": token})
        expected = (404,) if rule.startswith("/staff/cases/") else (403, 404)
        assert response.status_code in expected, (role, rule, response.status_code)
    assert row_counts(db) == before


def test_the_analyst_sees_the_organisations_figures_only(site: dict[str, object]) -> None:
    analyst = site["analyst"]
    assert isinstance(analyst, FlaskClient)
    home = analyst.get("/staff/")
    assert home.status_code == 302 and home.location.endswith("/staff/statistics")
    page = analyst.get("/staff/statistics").get_data(as_text=True)
    assert "Statistics" in page and str(site["reference"]) not in page
    # The navigation offers the statistics and the account, nothing else.
    nav = staff_nav(page)
    assert "Statistics" in nav and "Inbox" not in nav and "Admin" not in nav
    assert "Identity requests" not in nav and "Approvals" not in nav


def test_the_custodian_sees_the_requests_without_content(site: dict[str, object]) -> None:
    custodian = site["custodian"]
    assert isinstance(custodian, FlaskClient)
    home = custodian.get("/staff/")
    assert home.status_code == 302 and home.location.endswith("/staff/identity-requests")
    page = custodian.get("/staff/identity-requests").get_data(as_text=True)
    assert str(site["reference"]) in page and "Witness interview" in page
    assert REPORT_TEXT not in page and "Rita Reporter" not in page
    nav = staff_nav(page)
    assert "Identity requests" in nav and "Inbox" not in nav and "Statistics" not in nav
    assert custodian.get("/staff/statistics").status_code == 403


def test_custodians_and_analysts_never_receive_a_case(
    app: Flask, db: Session, site: dict[str, object]
) -> None:
    file_case(app.test_client(), db)
    db.expire_all()
    users = {u.username: u for u in db.scalars(select(User))}
    from portal.models import CaseKeyGrant

    holders = set(db.scalars(select(CaseKeyGrant.user_id)))
    assert users["clara"].id not in holders and users["anna"].id not in holders
    assert users["hanna"].id in holders
    # Nor are they offered to reporters as recipients to exclude.
    form = app.test_client().get("/report").get_data(as_text=True)
    assert "Clara" not in form and "Anna" not in form


@pytest.mark.parametrize("role", ["custodian", "analyst"])
def test_create_user_on_the_command_line_with_the_role(app: Flask, db: Session, role: str) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "candor",
            "create-user",
            "--role",
            role,
            "--username",
            "kim",
            "--display-name",
            "Kim",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.scalars(select(User)).one()
    assert user.role is Role(role)
    assert not user.is_handler and not user.is_admin
    assert user.is_custodian is (role == "custodian") and user.is_analyst is (role == "analyst")


def test_admins_give_and_change_the_roles(app: Flask, db: Session) -> None:
    admin = make_admin(db)
    client = staff_client(app, db, admin)
    page = client.get("/admin/users/new").get_data(as_text=True)
    base = {
        "csrf_token": csrf_of(page),
        "display_name": "Clara",
        "title": "",
        "email": "",
        "level": "1",
    }
    # A custodian is that alone.
    both = client.post(
        "/admin/users/new",
        data={**base, "username": "clara", "is_custodian": "y", "is_handler": "y"},
    )
    assert both.status_code == 400 and "choose one of them alone" in both.get_data(as_text=True)
    made = client.post("/admin/users/new", data={**base, "username": "clara", "is_custodian": "y"})
    assert made.status_code == 200
    db.expire_all()
    clara = db.scalars(select(User).where(User.username == "clara")).one()
    assert clara.is_custodian and not clara.is_handler
    listing = client.get("/admin/identity-access").get_data(as_text=True)
    assert "clara" in listing and "waiting for activation" in listing
    assert "Identity access is unchecked: no custodian is named" in listing
    users = client.get("/admin/users").get_data(as_text=True)
    assert "Custodian" in users
    # Changed to an analyst.
    edit = client.post(
        f"/admin/users/{clara.id}", data={**base, "is_analyst": "y"}, follow_redirects=False
    )
    assert edit.status_code == 302
    db.expire_all()
    assert clara.is_analyst and not clara.is_custodian
    # A handler who holds cases cannot become a custodian: it would keep case keys.
    hanna = make_handler(db, "hanna")
    file_case(app.test_client(), db)
    refused = client.post(f"/admin/users/{hanna.id}", data={**base, "is_custodian": "y"})
    assert refused.status_code == 400 and "holds cases" in refused.get_data(as_text=True)
    db.expire_all()
    assert hanna.is_handler and not hanna.is_custodian
