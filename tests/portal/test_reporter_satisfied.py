"""The reporter's own "I am satisfied" (seeds/000 line 12, "resolved to the complainant's
satisfaction"; seeds/001's check that the person's needs were met): a confirmation step, then a
POST with its CSRF token, recorded as a typed event that stops the resolution clock."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, CaseEvent, Deadline, DeadlineState, EventKind
from portal.services import clock
from portal.timeutil import utcnow
from tests.factories import make_admin, make_handler
from tests.portal.test_reporter_web import csrf_of, file_report


def signed_in_reporter(app: Flask, client: FlaskClient, db: Session) -> FlaskClient:
    make_handler(db, "hanna")
    clock.choose_policies(
        db, "fraud", ["seed-complaints"], actor=make_admin(db), now=utcnow() - timedelta(hours=1)
    )
    code, passphrase = file_report(client)
    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    return reporter


def resolve_deadline(db: Session) -> Deadline:
    db.expire_all()
    return db.scalars(select(Deadline).where(Deadline.clock == "resolve")).one()


def test_the_reporter_confirms_and_the_resolution_clock_stops(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    reporter = signed_in_reporter(app, client, db)
    page = reporter.get("/case").get_data(as_text=True)
    assert 'href="/case/satisfied"' in page
    # The link only asks; nothing is recorded until the reporter confirms.
    confirm = reporter.get("/case/satisfied").get_data(as_text=True)
    assert "Yes, I am satisfied" in confirm and 'method="post"' in confirm
    assert resolve_deadline(db).stopped_at is None

    done = reporter.post(
        "/case/satisfied", data={"csrf_token": csrf_of(confirm)}, follow_redirects=True
    )
    assert done.status_code == 200
    assert "resolved to your satisfaction" in done.get_data(as_text=True)
    assert resolve_deadline(db).state is DeadlineState.MET
    kinds = db.scalars(select(CaseEvent.kind)).all()
    assert EventKind.REPORTER_SATISFIED in kinds
    assert "reporter_satisfied" in db.scalars(select(AuditEntry.action)).all()
    # Said once: the link goes, and the confirmation page sends the reporter back.
    assert 'href="/case/satisfied"' not in reporter.get("/case").get_data(as_text=True)
    assert reporter.get("/case/satisfied").status_code == 302


def test_a_post_without_its_csrf_token_records_nothing(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    reporter = signed_in_reporter(app, client, db)
    refused = reporter.post("/case/satisfied", data={})
    assert refused.status_code == 400
    assert resolve_deadline(db).stopped_at is None
    assert EventKind.REPORTER_SATISFIED not in db.scalars(select(CaseEvent.kind)).all()


def test_a_get_changes_nothing_and_a_signed_out_visitor_is_sent_to_sign_in(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    signed_in_reporter(app, client, db)
    stranger = app.test_client()
    assert stranger.get("/case/satisfied").status_code == 302
    assert stranger.post("/case/satisfied", data={}).status_code in (302, 400)
    assert resolve_deadline(db).stopped_at is None
