"""Attack: huge, negative or odd integer ids in a URL or a form field.

A number the database cannot hold (2**31 overflows PostgreSQL's integer, 2**63 SQLite's driver)
used to reach the query and end in a 500. The site bounds every ``<int:...>`` URL part to the
database's integer range, so anything outside it is a 404, and every form field that carries an id
(or another number: tier, level, page) refuses an out-of-range or non-ASCII value as a form error
(400) or ignores it as a filter, before any query runs.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, CaseExclusion, CaseKeyGrant, User
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report, intake_fields

# 2**31 is just past PostgreSQL's integer; 2**63 and 2**64 are past SQLite's; "²" is a digit to
# str.isdigit() that int() refuses; "٣" is an Arabic-Indic 3 that int() accepts.
HUGE = ["2147483648", str(2**63), str(2**64), "-1", str(10**30), "²", "٣", "0x10", " 1"]


def int_rules(app: Flask) -> list[str]:
    rules = [r.rule for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert rules, "the URL map has no integer part any more; this test would pass vacuously"
    return rules


def with_id(rule: str, value: str) -> str:
    return re.sub(r"<int:[^>]+>", value, rule)


@pytest.fixture
def admin(db: Session) -> User:
    return make_admin(db, also_handler=True)


def test_every_integer_route_answers_404_for_an_id_out_of_range(
    app: Flask, client: FlaskClient, db: Session, admin: User
) -> None:
    sign_in_as(client, db, admin)
    token = csrf_of(client.get("/admin/users/new").get_data(as_text=True))
    for rule in int_rules(app):
        for value in HUGE:
            path = with_id(rule, value)
            got = client.get(path)
            assert got.status_code == 404, (path, got.status_code)
            posted = client.post(path, data={"csrf_token": token, "confirm": "yes"})
            assert posted.status_code == 404, (path, posted.status_code)
    # The largest id the database holds still reaches the view, which finds no such account.
    assert client.get(f"/admin/users/{2**31 - 1}").status_code == 404
    assert client.get(f"/admin/users/{admin.id}").status_code == 200


@pytest.fixture
def case_with_staff(client: FlaskClient, app: Flask, db: Session) -> tuple[FlaskClient, str]:
    hanna = make_handler(db, "hanna", level=2)
    make_handler(db, "sven")
    file_report(client)
    uid = db.scalars(select(Case.uid)).one()
    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    return staff, uid


@pytest.mark.parametrize("value", HUGE)
def test_id_fields_on_the_case_page_refuse_an_id_out_of_range(
    case_with_staff: tuple[FlaskClient, str], db: Session, value: str
) -> None:
    staff, uid = case_with_staff
    page = staff.get(f"/staff/cases/{uid}").get_data(as_text=True)
    token = csrf_of(page)
    before = set(db.scalars(select(AuditEntry.action)))
    for action, field in (("assign", "assignee"), ("grant", "user_id")):
        response = staff.post(
            f"/staff/cases/{uid}/{action}", data={"csrf_token": token, field: value}
        )
        assert response.status_code == 400, (action, value, response.status_code)
        assert "Internal Server Error" not in response.get_data(as_text=True)
    for field, extra in (("tier", {"status": "new"}), ("status", {"tier": value})):
        response = staff.post(
            f"/staff/cases/{uid}/update",
            data={"csrf_token": token, "category": "fraud", field: "new", **extra},
        )
        assert response.status_code == 400, (field, value, response.status_code)
    response = staff.post(
        f"/staff/cases/{uid}/update",
        data={"csrf_token": token, "tier": "2", "status": "new", "category": value},
    )
    assert response.status_code == 400, ("category", value, response.status_code)
    response = staff.post("/staff/bulk-grant", data={"csrf_token": csrf_of(page), "user_id": value})
    assert response.status_code == 400, (value, response.status_code)
    db.expire_all()
    # Nothing happened but opening the case page again: no assignment, grant or update.
    assert set(db.scalars(select(AuditEntry.action))) <= before | {"case_opened"}
    assert db.scalar(select(Case.assignee_id)) is None


@pytest.mark.parametrize("value", HUGE)
def test_inbox_filters_ignore_a_number_out_of_range(
    case_with_staff: tuple[FlaskClient, str], value: str
) -> None:
    staff, _uid = case_with_staff
    for name in ("page", "tier", "level"):
        response = staff.get("/staff/inbox", query_string={name: value})
        assert response.status_code == 200, (name, value, response.status_code)
        assert "1 case." in response.get_data(as_text=True)


@pytest.mark.parametrize("value", HUGE)
def test_excluded_handlers_on_the_intake_form_refuse_an_id_out_of_range(
    client: FlaskClient, db: Session, value: str
) -> None:
    hanna = make_handler(db, "hanna")
    make_handler(db, "sven")
    response = client.post("/report", data=intake_fields(client, excluded=[str(hanna.id), value]))
    assert response.status_code == 400, (value, response.status_code)
    assert "Last week, depot 4" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert db.scalar(select(func.count()).select_from(CaseExclusion)) == 0
    assert db.scalar(select(func.count()).select_from(CaseKeyGrant)) == 0


@pytest.mark.parametrize("value", HUGE)
def test_admin_account_form_refuses_a_level_out_of_range(
    client: FlaskClient, db: Session, admin: User, value: str
) -> None:
    sign_in_as(client, db, admin)
    hanna = make_handler(db, "hanna")
    path = f"/admin/users/{hanna.id}"
    token = csrf_of(client.get(path).get_data(as_text=True))
    response = client.post(
        path,
        data={"csrf_token": token, "display_name": "Hanna", "level": value, "is_handler": "y"},
    )
    assert response.status_code == 400, (value, response.status_code)
    db.expire_all()
    assert db.get(User, hanna.id).level == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("value", HUGE)
def test_admin_category_form_refuses_a_category_out_of_the_list(
    client: FlaskClient, db: Session, admin: User, value: str
) -> None:
    sign_in_as(client, db, admin)
    token = csrf_of(client.get("/admin/categories").get_data(as_text=True))
    before = set(db.scalars(select(AuditEntry.action)))
    response = client.post(
        "/admin/categories",
        data={"csrf_token": token, "category": value, "policies": ["eu-directive"]},
    )
    assert response.status_code == 400, (value, response.status_code)
    db.expire_all()
    assert set(db.scalars(select(AuditEntry.action))) == before
