"""Both sides see the clock: the reporter's dates and automatic messages, the handler's
deadlines."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, Deadline, DeadlineState
from portal.services import clock
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report


def test_a_case_left_alone_escalates_and_both_sides_see_it(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    sven = make_handler(db, "sven", level=2)
    code, passphrase = file_report(client)
    case = db.scalars(select(Case)).one()
    ack = db.scalars(select(Deadline).where(Deadline.clock == "acknowledge")).one()

    clock.tick(db, now=ack.due_at + timedelta(minutes=1), settings=app.extensions["candor.clock"])

    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    page = reporter.get("/case").get_data(as_text=True)
    assert "Automatic message" in page and "passed to someone more senior" in page
    assert "We will give you feedback by" in page

    staff = app.test_client()
    sign_in_as(staff, db, sven)
    inbox = staff.get("/staff/inbox?level=2").get_data(as_text=True)
    assert "1 case." in inbox
    case_page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "Acknowledge the report" in case_page
    assert "<td>2</td>" in case_page  # the level the acknowledgement clock drove the case to
    assert (
        'escalated: <span dir="auto" translate="no">'
        "eu-directive/acknowledge: level 1 -&gt; 2 (deadline passed)</span>"
    ) in case_page
    sign_in_as(staff, db, hanna)
    assert "1 case." in staff.get("/staff/inbox?due_soon=0").get_data(as_text=True)


@pytest.mark.usefixtures("pausable_investigation")
def test_an_admin_runs_two_policies_on_a_category_and_each_clock_is_acted_on(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    hanna = make_handler(db, "hanna")
    page = client.get("/admin/categories").get_data(as_text=True)
    none = client.post("/admin/categories", data={"csrf_token": csrf_of(page), "category": "fraud"})
    assert "Choose at least one policy." in client.get(none.location).get_data(as_text=True)
    chosen = client.post(
        "/admin/categories",
        data={
            "csrf_token": csrf_of(page),
            "category": "fraud",
            "policies": ["seed-membership", "eu-directive"],
        },
    )
    assert chosen.status_code == 302
    config = app.extensions["candor.config"]
    assert clock.policies_for(db, config.intake, "fraud") == ("eu-directive", "seed-membership")
    assert clock.policies_for(db, config.intake, "safety") == ("eu-directive",)
    assert clock.policies_by_category(db, config.intake) == {
        "fraud": ("eu-directive", "seed-membership"),
        "safety": ("eu-directive",),
    }

    reporter = app.test_client()
    # The landing page and the report form both give the timeline. Both categories run the
    # Directive; only fraud runs the members' policy besides.
    for path in ("/", "/report"):
        timeline = re.sub(r"\s+", " ", reporter.get(path).get_data(as_text=True))
        assert "<li>We acknowledge your report within 7 calendar days.</li>" in timeline
        assert (
            "For a report about fraud, we also:</p> <ul><li>Acknowledge your complaint and tell "
            "you who investigates it within 48 hours.</li><li>Investigate and send you a "
            "decision within 10 working days.</li></ul>"
        ) in timeline
        assert timeline.count("within 7 calendar days") == 1
    file_report(reporter)
    case = db.scalars(select(Case)).one()
    assert case.policies == ["eu-directive", "seed-membership"]

    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    url = f"/staff/cases/{case.uid}"
    page = staff.get(url).get_data(as_text=True)
    assert "EU Whistleblowing Directive" in page and "Members&#39; complaints" in page
    assert "Acknowledge the report" in page and "Acknowledge, naming who investigates" in page
    staff.post(url + "/assign", data={"csrf_token": csrf_of(page), "assignee": str(hanna.id)})
    staff.post(
        url + "/messages",
        data={"csrf_token": csrf_of(page), "kind": "acknowledge", "body": "Received."},
    )
    page = staff.get(url).get_data(as_text=True)
    pause = f"{url}/deadlines/seed-membership/investigate/pause"
    assert f'action="{pause}"' in page

    refused = staff.post(
        f"{url}/deadlines/eu-directive/feedback/pause",
        data={"csrf_token": csrf_of(page), "reason": "Waiting"},
    )
    assert refused.status_code == 400
    assert "This deadline cannot be paused." in refused.get_data(as_text=True)
    no_reason = staff.post(pause, data={"csrf_token": csrf_of(page), "reason": " "})
    assert "Give the reason for the pause." in no_reason.get_data(as_text=True)
    paused = staff.post(pause, data={"csrf_token": csrf_of(page), "reason": "Waiting"})
    assert paused.status_code == 302
    investigate = db.scalars(
        select(Deadline).where(
            Deadline.policy == "seed-membership", Deadline.clock == "investigate"
        )
    ).one()
    assert investigate.state is DeadlineState.PAUSED
    resumed = staff.post(
        f"{url}/deadlines/seed-membership/investigate/resume", data={"csrf_token": csrf_of(page)}
    )
    assert resumed.status_code == 302
    db.refresh(investigate)
    assert investigate.state is DeadlineState.RUNNING
    unknown = staff.post(
        f"{url}/deadlines/seed-membership/investigate/stop", data={"csrf_token": csrf_of(page)}
    )
    assert unknown.status_code == 404
