"""Shared helpers for the security catalogue: a team of handlers, a filed case, signed-in clients.

Kept small and generic; each attack file builds what is particular to it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import timeutil
from portal.models import Base, Case, User
from tests.factories import NOW, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report

# The URL placeholders whose value is the same on every test site (a preset policy and its first
# clock, a category of the test configuration); each test adds its own case, file, user, token.
URL_VALUES = {
    "policy": "eu-directive",
    "clock": "acknowledge",
    "act": "extend",
    "change_id": "1",
    "request_id": "1",
    "decision": "approve",
    "section": "categories",
    "key": "fraud",
    "kind": "report",
    "item": "0",
    "redaction_uid": "0" * 32,
    "proof_name": "message1",
    # Response templates: a kind of message and a language.
    "template_kind": "acknowledgement",
    "language": "en",
    "requirement_id": "1",
    "completion_id": "1",
}


@dataclass(frozen=True)
class FiledCase:
    """A case filed through the intake form, with what the reporter was given."""

    uid: str
    receipt_code: str
    passphrase: str

    @property
    def url(self) -> str:
        return f"/staff/cases/{self.uid}"


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    """hanna (level 1, every category), sven (level 2), olga (only "safety")."""
    return {
        "hanna": make_handler(db, "hanna"),
        "sven": make_handler(db, "sven", level=2),
        "olga": make_handler(db, "olga", categories=("safety",)),
    }


def file_case(client: FlaskClient, db: Session, **fields: object) -> FiledCase:
    """File a report in the "fraud" category through the form; ``fields`` override the form."""
    known = set(db.scalars(select(Case.uid)))
    code, passphrase = file_report(client, **fields)
    db.expire_all()
    (uid,) = set(db.scalars(select(Case.uid))) - known
    return FiledCase(uid=uid, receipt_code=code, passphrase=passphrase)


@pytest.fixture
def filed(client: FlaskClient, db: Session, team: dict[str, User]) -> FiledCase:
    return file_case(client, db)


def staff_client(app: Flask, db: Session, user: User) -> FlaskClient:
    """A new browser with ``user`` signed in (second factor done)."""
    client = app.test_client()
    sign_in_as(client, db, user)
    return client


def reporter_client(app: Flask, case: FiledCase) -> FlaskClient:
    """A new browser signed in as the reporter of ``case``, through the check-back form."""
    client = app.test_client()
    page = client.get("/check").get_data(as_text=True)
    response = client.post(
        "/check",
        data={
            "csrf_token": csrf_of(page),
            "receipt_code": case.receipt_code,
            "passphrase": case.passphrase,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def token_for(client: FlaskClient, path: str = "/check") -> str:
    """A valid CSRF token of ``client``'s session, read from a page that has a form."""
    return csrf_of(client.get(path).get_data(as_text=True))


def row_counts(db: Session) -> dict[str, int]:
    """The number of rows in every table, to show that a refused request changed nothing."""
    db.expire_all()
    return {
        table.name: db.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


CSRF_FIELD = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')


def without_csrf(html: str) -> str:
    """A page with its CSRF token blanked, so two pages can be compared byte for byte."""
    return CSRF_FIELD.sub(r"\1\2", html)


class WebClock:
    """The time every view sees; tests move it instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def web_clock(monkeypatch: pytest.MonkeyPatch) -> WebClock:
    """Fix the clock of every module that reads it (``portal.timeutil.utcnow``) at NOW."""
    clock = WebClock(NOW)
    monkeypatch.setattr(timeutil, "utcnow", clock)
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "portal" and getattr(module, "utcnow", None) is _real_utcnow:
            monkeypatch.setattr(module, "utcnow", clock)
    return clock


_real_utcnow = timeutil.utcnow
