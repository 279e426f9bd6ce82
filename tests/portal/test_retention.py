"""Retention per category, legal hold and deletion by crypto-shredding, through the site."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import (
    Attachment,
    AuditEntry,
    Case,
    CaseEvent,
    CaseKeyGrant,
    CaseStatus,
    Message,
    Note,
    OutboxMessage,
    ReporterSession,
    User,
)
from portal.services import audit, retention
from portal.services.policy_page.words import kept_words
from portal.services.retention import RetentionResult
from tests.factories import NOW, file_bytes, make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, intake_fields, receipt_of
from tests.security.guessing_support import alert, check_back, made_up_code

DEFAULT_DAYS = 1825
REMIND_DAYS = 30


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    team = {"hanna": make_handler(db, "hanna"), "sven": make_handler(db, "sven", level=2)}
    for name, user in team.items():
        user.email = f"{name}@example.org"
    db.commit()
    return team


def staff_client(app: Flask, db: Session, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, db, user)
    return client


def the_case(db: Session) -> Case:
    db.expire_all()
    return db.scalars(select(Case)).one()


def closed_case(
    client: FlaskClient, app: Flask, db: Session, hanna: FlaskClient
) -> tuple[str, str]:
    """A report with a file, a reply, a note and a reporter session, then closed by a handler."""
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("ledger.csv", b"a;b\n1;2\n")]),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    code, passphrase = receipt_of(response.get_data(as_text=True))
    url = f"/staff/cases/{the_case(db).uid}"
    token = csrf_of(hanna.get(url).get_data(as_text=True))
    assert hanna.post(url + "/notes", data={"csrf_token": token, "body": "Depot logs."}).status_code
    hanna.post(url + "/messages", data={"csrf_token": token, "kind": "reply", "body": "Thanks."})
    reporter = app.test_client()
    assert check_back(reporter, code, passphrase).status_code == 302
    closed = hanna.post(
        url + "/update",
        data={
            "csrf_token": token,
            "tier": "2",
            "category": "fraud",
            "status": "closed",
            "outcome": "substantiated",
        },
    )
    assert closed.status_code == 302
    case = the_case(db)
    assert case.closed_at is not None and case.status is CaseStatus.CLOSED
    return code, passphrase


def run(app: Flask, db: Session, now: datetime) -> RetentionResult:
    return retention.apply_retention(
        db,
        now=now,
        config=app.extensions["candor.config"].retention,
        store=app.extensions["candor.attachments"],
        settings=app.extensions["candor.clock"],
    )


def test_the_default_is_five_years_and_documented(app: Flask) -> None:
    assert app.extensions["candor.config"].retention.default_days == DEFAULT_DAYS
    assert app.extensions["candor.config"].retention.remind_days == REMIND_DAYS


def test_a_case_whose_time_ran_out_is_shredded_and_only_the_facts_remain(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    hanna = staff_client(app, db, team["hanna"])
    code, passphrase = closed_case(client, app, db, hanna)
    case = the_case(db)
    store = app.extensions["candor.attachments"]
    assert any(store.root.iterdir())
    closed_at, received_at, events = case.closed_at, case.received_at, _events(db, case.id)
    assert closed_at is not None
    url = f"/staff/cases/{case.uid}"
    assert "will be deleted on" in hanna.get(url).get_data(as_text=True)

    # One second early: nothing happens.
    early = run(app, db, closed_at + timedelta(days=DEFAULT_DAYS) - timedelta(seconds=1))
    assert early.deleted == 0 and the_case(db).deleted_at is None
    result = run(app, db, closed_at + timedelta(days=DEFAULT_DAYS))
    assert result.deleted == 1

    case = the_case(db)
    assert case.deleted_at is not None
    # The keys first: no grant, no reporter session, no wrapped key.
    assert db.scalar(select(func.count()).select_from(CaseKeyGrant)) == 0
    assert db.scalar(select(func.count()).select_from(ReporterSession)) == 0
    assert case.reporter_wrapped_key == b""
    # Then every ciphertext and every file.
    assert (case.sealed_report, case.sealed_preview, case.sealed_identity) == (b"", b"", None)
    for model in (Note, Message, Attachment):
        assert db.scalar(select(func.count()).select_from(model)) == 0
    assert list(store.root.iterdir()) == []
    # What the organisation must be able to show stays.
    assert (case.received_at, case.category, case.channel, case.outcome) == (
        received_at,
        "fraud",
        None,
        "substantiated",
    )
    assert case.status is CaseStatus.CLOSED and case.closed_at == closed_at
    assert _events(db, case.id) == events
    # The audit trail says so, and its chain still verifies.
    assert "case_deleted" in db.scalars(select(AuditEntry.action)).all()
    verified = audit.verify(db)
    assert verified.ok, verified.problem
    # The handler's page is gone; the receipt code answers as a code never issued does.
    assert hanna.get(url).status_code == 404
    deleted = check_back(app.test_client(), code, passphrase)
    unknown = check_back(app.test_client(), made_up_code(7), passphrase)
    assert deleted.status_code == unknown.status_code == 400
    assert alert(deleted) == alert(unknown)
    assert "deleted once the time it is kept" in alert(unknown)
    # Idempotent: a second pass changes nothing.
    assert run(app, db, closed_at + timedelta(days=DEFAULT_DAYS + 1)).deleted == 0


def test_a_deletion_cut_short_is_finished_on_the_next_pass(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    closed_case(client, app, db, staff_client(app, db, team["hanna"]))
    store = app.extensions["candor.attachments"]

    class Killed(Exception):
        pass

    class DyingStore:
        def discard(self, uid: str) -> None:
            raise Killed

    closed_at = the_case(db).closed_at
    assert closed_at is not None
    when = closed_at + timedelta(days=DEFAULT_DAYS)
    with pytest.raises(Killed):
        retention.apply_retention(
            db,
            now=when,
            config=app.extensions["candor.config"].retention,
            store=DyingStore(),
            settings=app.extensions["candor.clock"],
        )
    db.rollback()
    # The keys and ciphertexts went in their own transaction; the file (unreadable) is left.
    assert the_case(db).deleted_at is not None and any(store.root.iterdir())
    assert the_case(db).shredding_at is not None
    run(app, db, when)
    assert list(store.root.iterdir()) == []
    assert db.scalar(select(func.count()).select_from(Attachment)) == 0
    assert the_case(db).shredding_at is None
    assert audit.verify(db).ok


def test_a_held_case_is_kept_until_the_hold_is_lifted(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    hanna = staff_client(app, db, team["hanna"])
    closed_case(client, app, db, hanna)
    case = the_case(db)
    url = f"/staff/cases/{case.uid}"
    sven = staff_client(app, db, team["sven"])
    page = sven.get(url).get_data(as_text=True)
    token = csrf_of(page)
    assert "Put the case on hold" in page
    hanna_page = hanna.get(url).get_data(as_text=True)
    assert "Put the case on hold" not in hanna_page
    hanna_token = csrf_of(hanna_page)

    # Level 1 may not; a missing token or reason is refused.
    refused = hanna.post(url + "/hold", data={"csrf_token": hanna_token, "reason": "x"})
    assert refused.status_code == 403
    assert sven.post(url + "/hold", data={"reason": "Court order 12/26"}).status_code == 400
    empty = sven.post(url + "/hold", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 400 and "reason for the hold" in empty.get_data(as_text=True)
    assert the_case(db).held_at is None

    held = sven.post(url + "/hold", data={"csrf_token": token, "reason": "Court order 12/26"})
    assert held.status_code == 302
    assert "On legal hold since" in sven.get(url).get_data(as_text=True)
    closed_at = the_case(db).closed_at
    assert closed_at is not None
    far = closed_at + timedelta(days=DEFAULT_DAYS * 3)
    assert run(app, db, far).deleted == 0
    assert the_case(db).deleted_at is None and the_case(db).sealed_report != b""

    assert hanna.post(url + "/hold/lift", data={"csrf_token": hanna_token}).status_code == 403
    assert sven.post(url + "/hold/lift", data={"csrf_token": token}).status_code == 302
    assert run(app, db, far).deleted == 1
    actions = db.scalars(select(AuditEntry.action)).all()
    assert "hold_placed" in actions and "hold_lifted" in actions
    assert audit.verify(db).ok


def test_a_hold_placed_after_the_worker_read_the_case_still_wins(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    closed_case(client, app, db, staff_client(app, db, team["hanna"]))
    stale = the_case(db)
    assert stale.closed_at is not None
    with app.extensions["candor.sessionmaker"]() as other:
        case = other.get(Case, stale.id)
        assert case is not None
        retention.place_hold(other, case, other.get(User, team["sven"].id), "Inquiry", now=NOW)
    store = app.extensions["candor.attachments"]
    assert not retention.delete_case(db, stale, store, now=stale.closed_at + timedelta(days=9999))
    case = the_case(db)
    assert case.deleted_at is None and case.sealed_report != b"" and any(store.root.iterdir())
    assert db.scalar(select(func.count()).select_from(CaseKeyGrant)) > 0


def test_the_holders_are_reminded_once_before_deletion(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    closed_case(client, app, db, staff_client(app, db, team["hanna"]))
    closed_at = the_case(db).closed_at
    assert closed_at is not None
    due = closed_at + timedelta(days=DEFAULT_DAYS)

    def reminders() -> list[str]:
        return list(
            db.scalars(
                select(OutboxMessage.to_address).where(OutboxMessage.body.contains("deleted on"))
            )
        )

    assert run(app, db, due - timedelta(days=REMIND_DAYS + 1)).reminded == 0
    assert reminders() == []
    assert run(app, db, due - timedelta(days=REMIND_DAYS)).reminded == 1
    holders = sorted(reminders())
    assert holders == ["hanna@example.org", "sven@example.org"]
    assert run(app, db, due - timedelta(days=1)).reminded == 0
    assert sorted(reminders()) == holders
    assert the_case(db).deleted_at is None


def test_an_admin_sets_the_time_per_category_and_reporters_are_told(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    landing = client.get("/").get_data(as_text=True)
    assert "We keep a case for 5 years after it is closed, then delete it." in landing
    admin = staff_client(app, db, make_admin(db))
    page = admin.get("/admin/retention").get_data(as_text=True)
    token = csrf_of(page)
    for bad in ("abc", "0", "-3", "36501", "1.5"):
        refused = admin.post(
            "/admin/retention", data={"csrf_token": token, "days:fraud": bad, "days:safety": ""}
        )
        assert refused.status_code == 400
        assert "whole number of days from 1 to 36500" in refused.get_data(as_text=True)
    assert admin.post("/admin/retention", data={"days:fraud": "30"}).status_code == 400
    saved = admin.post(
        "/admin/retention", data={"csrf_token": token, "days:fraud": "30", "days:safety": ""}
    )
    assert saved.status_code == 302
    assert retention.category_days(db) == {"fraud": 30}
    assert "retention_changed" in db.scalars(select(AuditEntry.action)).all()
    landing = client.get("/").get_data(as_text=True)
    assert "Fraud: 1 month" in landing and "Safety: 5 years" in landing

    closed_case(client, app, db, staff_client(app, db, team["hanna"]))
    closed_at = the_case(db).closed_at
    assert closed_at is not None
    assert run(app, db, closed_at + timedelta(days=30)).deleted == 1


@pytest.mark.parametrize(
    ("days", "words"),
    [(1825, "5 years"), (365, "1 year"), (30, "1 month"), (90, "3 months"), (45, "45 days")],
)
def test_the_landing_page_words_durations(app: Flask, days: int, words: str) -> None:
    with app.test_request_context("/"):
        assert kept_words(days) == words


def _events(db: Session, case_id: int) -> list[tuple[str, datetime]]:
    rows = db.execute(
        select(CaseEvent.kind, CaseEvent.occurred_at)
        .where(CaseEvent.case_id == case_id)
        .order_by(CaseEvent.id)
    )
    return [(kind.value, at) for kind, at in rows]
