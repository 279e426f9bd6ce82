"""Attack: odd HTTP methods (PUT, DELETE, PATCH, TRACE, OPTIONS, made-up ones) and HEAD.

A method a route does not take is answered 405 with the security headers, before any view runs,
so it can neither fail with a 500 nor change anything; OPTIONS is not answered either (there are
no cross-origin callers to serve). HEAD on a GET route runs the GET view without a body and
changes nothing but what reading itself records (a session's last activity, the audit of a read).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Base, Case, User
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report
from tests.security.test_security_headers import assert_security_headers

ODD_METHODS = ("PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "BREW", "PROPFIND")
# What reading leaves behind by design: when a session was last used, and the audit of a read.
READ_TRACES = {"last_seen_at"}
READ_ACTIONS = {"case_opened"}
AUDIT_TABLES = frozenset({"audit_entries", "audit_head"})


def snapshot(db: Session, *, ignore: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    db.rollback()
    tables: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in ignore:
            continue
        columns = [c for c in table.columns if c.name not in READ_TRACES]
        tables[table.name] = sorted(repr(tuple(row)) for row in db.execute(select(*columns)))
    return tables


def audit_actions(db: Session) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def paths(app: Flask, values: dict[str, Any]) -> list[tuple[str, set[str]]]:
    """Every path of the URL map with its methods (two rules may share a path)."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values.get(m.group(1), "x")), rule.rule)
        found.setdefault(path, set()).update(rule.methods or ())
    assert len(found) > 30, "fewer routes than the site has: the walk is broken"
    return sorted(found.items())


@pytest.fixture
def clients(app: Flask, client: FlaskClient, db: Session) -> dict[str, FlaskClient]:
    admin = make_admin(db, also_handler=True)
    make_handler(db, "hanna")
    code, passphrase = file_report(client)
    reporter = app.test_client()
    page = reporter.get("/check").get_data(as_text=True)
    signed_in = reporter.post(
        "/check",
        data={"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": passphrase},
    )
    assert signed_in.status_code == 302
    staff = app.test_client()
    sign_in_as(staff, db, admin)
    return {"anonymous": app.test_client(), "reporter": reporter, "staff": staff}


def route_values(db: Session) -> dict[str, Any]:
    case = db.scalars(select(Case)).one()
    admin = db.scalars(select(User).where(User.username == "admin")).one()
    return {
        "uid": case.uid,
        "user_id": admin.id,
        "filename": "candor.css",
        "policy": "eu-directive",
        "clock": "acknowledge",
        "act": "extend",
        "change_id": 1,
        "request_id": 1,
        "decision": "approve",
        "section": "categories",
        "key": "fraud",
        "requirement_id": 1,
        "completion_id": 1,
    }


def test_odd_methods_get_405_everywhere_and_change_nothing(
    app: Flask, db: Session, clients: dict[str, FlaskClient]
) -> None:
    routes = paths(app, route_values(db))
    before = snapshot(db)
    for who, client in clients.items():
        for path, _methods in routes:
            for method in ODD_METHODS:
                response = client.open(path, method=method, data={"body": "x"})
                where = f"{method} {path} as {who}"
                assert response.status_code in (405, 501), (where, response.status_code)
                assert_security_headers(response, where)
                assert "Allow" not in response.headers or method not in response.headers["Allow"]
    assert snapshot(db) == before


def test_head_on_get_routes_changes_nothing(
    app: Flask, db: Session, clients: dict[str, FlaskClient]
) -> None:
    routes = [(p, m) for p, m in paths(app, route_values(db)) if "GET" in m]
    before = snapshot(db, ignore=AUDIT_TABLES)
    actions_before = audit_actions(db)
    for who, client in clients.items():
        for path, _methods in routes:
            response = client.head(path)
            where = f"HEAD {path} as {who}"
            assert response.status_code != 500 and response.status_code < 500, where
            assert response.data == b"", where
            assert_security_headers(response, where)
    assert snapshot(db, ignore=AUDIT_TABLES) == before
    added = audit_actions(db)[len(actions_before) :]
    assert set(added) <= READ_ACTIONS, added


def test_post_only_routes_refuse_get_and_head(
    app: Flask, db: Session, clients: dict[str, FlaskClient]
) -> None:
    post_only = [(p, m) for p, m in paths(app, route_values(db)) if m == {"POST"}]
    assert post_only, "no POST-only route found"
    before = snapshot(db)
    for path, _methods in post_only:
        for method in ("GET", "HEAD"):
            response = clients["staff"].open(path, method=method)
            assert response.status_code == 405, (method, path)
            assert response.headers["Allow"] == "POST"
    assert snapshot(db) == before
