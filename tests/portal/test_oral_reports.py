"""Reports received by telephone, voice message, post, e-mail or in a meeting; the reporter's
approval of the minutes (Directive art. 18(2)-(4)); third-party reports; links between cases."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import (
    AuditEntry,
    Case,
    CaseEvent,
    CaseKeyGrant,
    DeadlineState,
    EventKind,
    MinutesVersion,
    User,
)
from portal.services import clock, oral
from portal.services.calendar import BusinessCalendar
from portal.services.errors import InvalidInputError
from portal.timeutil import utcnow
from tests.factories import file_bytes, make_handler, sign_in_as
from tests.portal.services.test_clock import SECOND, T0, audit_actions, deadline, file_case
from tests.portal.test_reporter_web import csrf_of, file_report, receipt_of, sign_in

BERLIN = ZoneInfo("Europe/Berlin")
MINUTES = "The caller says the warehouse manager sells spare parts privately."
CORRECTED = "The caller says the deputy manager, not the manager, sells spare parts privately."
REVISED = "The caller says the deputy warehouse manager sells spare parts privately."


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    return {
        "hanna": make_handler(db, "hanna"),
        "sven": make_handler(db, "sven", level=2),
        "olga": make_handler(db, "olga", categories=("safety",)),
    }


def staff_client(app: Flask, db: Session, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, db, user)
    return client


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def oral_fields(client: FlaskClient, **extra: object) -> dict[str, object]:
    page = client.get("/staff/oral-reports/new").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert token
    fields: dict[str, object] = {
        "csrf_token": csrf_of(page),
        "form_token": token.group(1),
        "channel": "telephone",
        "received": local(utcnow() - timedelta(hours=2)),
        "category": "fraud",
        "tier": "3",
        "minutes": MINUTES,
    }
    fields.update(extra)
    return fields


def the_case(db: Session) -> Case:
    db.expire_all()
    return db.scalars(select(Case).order_by(Case.id.desc())).first()  # type: ignore[return-value]


def events(db: Session, case: Case) -> list[EventKind]:
    return list(
        db.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )


def test_the_oral_path_end_to_end(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    hanna = staff_client(app, db, team["hanna"])
    assert "Record a report" in hanna.get("/staff/inbox").get_data(as_text=True)
    received = (utcnow() - timedelta(hours=3)).replace(second=0, microsecond=0)
    fields = oral_fields(
        hanna,
        received=local(received),
        third_party="y",
        attachments=[file_bytes("call.ogg", b"OggS recording")],
    )
    response = hanna.post("/staff/oral-reports/new", data=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "no-store" in response.headers["Cache-Control"]
    assert "not stored" in html and "through the channel they" in html
    code, passphrase = receipt_of(html)
    # The receipt is shown once: the same form again opens no second case and shows nothing.
    again = hanna.post("/staff/oral-reports/new", data={**fields, "attachments": []})
    assert again.status_code == 302
    assert len(db.scalars(select(Case)).all()) == 1
    # Nothing of the receipt is kept: no pending receipt, only the lookup.
    case = the_case(db)
    assert case.channel == "telephone" and case.third_party and case.minutes_state == "awaiting"
    assert case.received_at == received
    assert db.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case.id)).first()
    assert "oral_report_recorded" in audit_actions(db, case)
    assert code.encode() not in case.sealed_report and MINUTES.encode() not in case.sealed_report

    page = hanna.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "The minutes await the reporter's approval." in page
    assert "Third-party report" in page and MINUTES in page and "call.ogg" in page

    # The reporter signs in with what the handler passed on and reads the minutes.
    assert sign_in(client, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    mine = client.get("/case").get_data(as_text=True)
    assert "These minutes await your approval." in mine and MINUTES in mine
    assert "These minutes are correct" in mine and "Correct the minutes" in mine
    # ...and corrects them.
    response = client.post(
        "/case/minutes/correct", data={"csrf_token": csrf_of(mine), "body": CORRECTED}
    )
    assert response.status_code == 302
    assert db.scalars(select(MinutesVersion.sealed_text)).one().find(CORRECTED.encode()) == -1
    page = hanna.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "The reporter corrected the minutes." in page
    assert MINUTES in page and CORRECTED in page and oral.CORRECTED_TEXT in page
    # Corrected minutes cannot be approved until the handler revises them.
    mine = client.get("/case").get_data(as_text=True)
    assert "These minutes are correct" not in mine
    refused = client.post("/case/minutes/approve", data={"csrf_token": csrf_of(mine)})
    assert refused.status_code == 400
    # The handler revises them, asking again.
    response = hanna.post(
        f"/staff/cases/{case.uid}/minutes", data={"csrf_token": csrf_of(page), "body": REVISED}
    )
    assert response.status_code == 302
    mine = client.get("/case").get_data(as_text=True)
    assert REVISED in mine and "These minutes await your approval." in mine
    assert oral.REVISED_TEXT in mine
    response = client.post("/case/minutes/approve", data={"csrf_token": csrf_of(mine)})
    assert response.status_code == 302
    mine = client.get("/case").get_data(as_text=True)
    assert "You approved these minutes." in mine and oral.APPROVED_TEXT in mine
    page = hanna.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "The reporter approved the minutes." in page
    assert "Send the revised minutes" not in page
    assert events(db, case) == [
        EventKind.RECEIVED,
        EventKind.MINUTES_CORRECTED,
        EventKind.MINUTES_REVISED,
        EventKind.MINUTES_APPROVED,
    ]
    assert "minutes_revised" in audit_actions(db, case)


def test_a_future_time_or_an_unknown_channel_is_refused_keeping_the_input(
    app: Flask, db: Session, team: dict[str, User]
) -> None:
    hanna = staff_client(app, db, team["hanna"])
    future = hanna.post(
        "/staff/oral-reports/new",
        data=oral_fields(hanna, received=local(utcnow() + timedelta(hours=1))),
    )
    html = future.get_data(as_text=True)
    assert future.status_code == 400 and oral.FUTURE_TIME in html and MINUTES in html
    unknown = hanna.post("/staff/oral-reports/new", data=oral_fields(hanna, channel="pigeon"))
    html = unknown.get_data(as_text=True)
    assert unknown.status_code == 400 and oral.UNKNOWN_CHANNEL in html and MINUTES in html
    missing = hanna.post("/staff/oral-reports/new", data=oral_fields(hanna, received=""))
    assert missing.status_code == 400 and MINUTES in missing.get_data(as_text=True)
    empty = hanna.post("/staff/oral-reports/new", data=oral_fields(hanna, minutes=" "))
    assert "Write the minutes" in empty.get_data(as_text=True)
    assert db.scalars(select(Case)).all() == []


def test_recording_needs_a_handler_and_a_csrf_token(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    assert client.get("/staff/oral-reports/new").status_code in (302, 303)
    hanna = staff_client(app, db, team["hanna"])
    fields = oral_fields(hanna)
    del fields["csrf_token"]
    assert hanna.post("/staff/oral-reports/new", data=fields).status_code == 400
    assert db.scalars(select(Case)).all() == []


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    return replace(
        app.extensions["candor.clock"],
        calendar=BusinessCalendar("Europe/Berlin", "DE", "BY"),
    )


def record(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    handler: User,
    *,
    received: datetime,
    now: datetime,
) -> Case:
    config: Config = app.extensions["candor.config"]
    oral.record_oral_report(
        db,
        oral.OralReport(
            form_token=f"oral-{received.isoformat()}",
            channel="meeting",
            received_at=received,
            category="fraud",
            tier=3,
            minutes=MINUTES,
        ),
        handler=handler,
        intake_config=config.intake,
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=settings,
        now=now,
    )
    return the_case(db)


def test_the_clocks_run_from_the_time_received(
    db: Session, app: Flask, settings: clock.ClockSettings, team: dict[str, User]
) -> None:
    """Recorded three days after a meeting: acknowledgement is due seven days after the
    meeting, as for a report filed then; the warnings already past are skipped, not sent late."""
    recorded_at = T0 + timedelta(days=6)
    case = record(db, app, settings, team["hanna"], received=T0, now=recorded_at)
    filed = file_case(db, app, settings, now=T0)
    ack = deadline(db, case, "acknowledge")
    due = T0 + timedelta(days=7)
    assert ack.due_at == deadline(db, filed, "acknowledge").due_at == due
    assert deadline(db, case, "feedback").due_at == deadline(db, filed, "feedback").due_at
    assert ack.started_at == T0
    # Both warnings (two days and one day before) fell before the report was recorded.
    assert ack.steps_done == 2 and ack.next_action_at == due
    clock.tick(db, now=recorded_at, settings=settings)
    assert "deadline_warning" not in audit_actions(db, case)
    clock.tick(db, now=due - SECOND, settings=settings)
    assert deadline(db, case, "acknowledge").state is DeadlineState.RUNNING
    clock.tick(db, now=due, settings=settings)
    assert deadline(db, case, "acknowledge").state is DeadlineState.BREACHED
    assert audit_actions(db, case).count("deadline_breached") == 1
    clock.tick(db, now=due + SECOND, settings=settings)
    assert audit_actions(db, case).count("deadline_breached") == 1


def test_a_time_received_in_the_future_is_refused(
    db: Session, app: Flask, settings: clock.ClockSettings, team: dict[str, User]
) -> None:
    with pytest.raises(InvalidInputError, match="future"):
        record(db, app, settings, team["hanna"], received=T0 + SECOND, now=T0)
    assert db.scalars(select(Case)).all() == []
    # At the very moment is fine.
    assert record(db, app, settings, team["hanna"], received=T0, now=T0).received_at == T0


def test_third_party_flag_at_intake_and_by_the_handler(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    page = client.get("/report").get_data(as_text=True)
    assert "on someone else's behalf" in page
    file_report(client, third_party="y")
    case = the_case(db)
    assert case.third_party
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "Third-party report" in page and "Filed by the reporter on the website." in page
    response = hanna.post(
        f"/staff/cases/{case.uid}/third-party",
        data={"csrf_token": csrf_of(page), "third_party": "no"},
    )
    assert response.status_code == 302 and not the_case(db).third_party
    assert (
        hanna.post(
            f"/staff/cases/{case.uid}/third-party",
            data={"csrf_token": csrf_of(page), "third_party": "yes"},
        ).status_code
        == 302
    )
    assert the_case(db).third_party
    assert [a for a in audit_actions(db, case) if a.startswith("third_party")] == [
        "third_party_cleared",
        "third_party_set",
    ]
    # Without a token nothing changes.
    assert (
        hanna.post(f"/staff/cases/{case.uid}/third-party", data={"third_party": "no"}).status_code
        == 400
    )
    assert the_case(db).third_party
    file_report(client)
    assert not the_case(db).third_party


def reference(case: Case) -> str:
    return f"C-{case.uid[:8].upper()}"


def test_linking_cases_by_reference_and_who_sees_the_link(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client, category="fraud")
    fraud = the_case(db)
    file_report(client, category="safety")
    safety = the_case(db)
    # olga receives only safety: she holds one of the two.
    assert db.get(CaseKeyGrant, (fraud.id, team["olga"].id)) is None
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(f"/staff/cases/{fraud.uid}").get_data(as_text=True)
    link = hanna.post(
        f"/staff/cases/{fraud.uid}/links",
        data={"csrf_token": csrf_of(page), "reference": reference(safety).lower()},
    )
    assert link.status_code == 302
    page = hanna.get(f"/staff/cases/{safety.uid}").get_data(as_text=True)
    assert f'href="/staff/cases/{fraud.uid}">{reference(fraud)}</a>' in page
    olga = staff_client(app, db, team["olga"])
    page = olga.get(f"/staff/cases/{safety.uid}").get_data(as_text=True)
    assert "A linked case that you do not hold." in page
    assert reference(fraud) not in page and fraud.uid not in page
    # She cannot link to or unlink from a case she does not hold; the answer does not say it exists.
    refused = olga.post(
        f"/staff/cases/{safety.uid}/links/remove",
        data={"csrf_token": csrf_of(page), "reference": reference(fraud)},
    )
    assert refused.status_code == 400
    assert "No case that you hold has that reference." in refused.get_data(as_text=True)
    assert (
        olga.post(
            f"/staff/cases/{fraud.uid}/links",
            data={"csrf_token": csrf_of(page), "reference": reference(safety)},
        ).status_code
        == 404
    )
    # Twice, or to itself, is refused.
    page = hanna.get(f"/staff/cases/{fraud.uid}").get_data(as_text=True)
    for ref, words in ((reference(safety), "already linked"), (reference(fraud), "itself")):
        again = hanna.post(
            f"/staff/cases/{fraud.uid}/links", data={"csrf_token": csrf_of(page), "reference": ref}
        )
        assert again.status_code == 400 and words in again.get_data(as_text=True)
    unlink = hanna.post(
        f"/staff/cases/{safety.uid}/links/remove",
        data={"csrf_token": csrf_of(page), "reference": reference(fraud)},
    )
    assert unlink.status_code == 302
    assert "No linked cases." in hanna.get(f"/staff/cases/{fraud.uid}").get_data(as_text=True)
    for case in (fraud, safety):
        actions = audit_actions(db, case)
        assert actions.count("case_linked") == 1 and actions.count("case_unlinked") == 1
    trail = " ".join(db.scalars(select(AuditEntry.detail)))
    assert reference(fraud) not in trail and reference(safety) not in trail
    # No token, no link.
    assert (
        hanna.post(
            f"/staff/cases/{fraud.uid}/links", data={"reference": reference(safety)}
        ).status_code
        == 400
    )


def test_a_reporter_who_wrote_on_the_web_has_no_minutes_to_approve(
    client: FlaskClient, db: Session, team: dict[str, User]
) -> None:
    code, passphrase = file_report(client)
    sign_in(client, code, passphrase)
    page = client.get("/case").get_data(as_text=True)
    assert "The minutes of your report" not in page
    refused = client.post("/case/minutes/approve", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 400
    assert events(db, the_case(db)) == [EventKind.RECEIVED]
