"""The EU Directive preset against the words of Directive (EU) 2019/1937, article 9(1).

(b) "acknowledgment of receipt of the report to the reporting person within seven days of that
receipt;"
(f) "a reasonable timeframe to provide feedback, not exceeding three months from the
acknowledgment of receipt or, if no acknowledgement was sent to the reporting person, three
months from the expiry of the seven-day period after the report was made;"

Time is a parameter: a fixed clock, one second before, at and after each step.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from importlib import resources

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuthorKind, Case, CaseEvent, DeadlineState, EventKind, Message, User
from portal.services import casework, clock
from portal.services.calendar import BusinessCalendar
from portal.services.policies import PolicyError, load_policy, parse_policy
from tests.factories import make_handler, sign_in_as
from tests.portal.services.test_clock import SECOND, T0, act, deadline, file_case
from tests.portal.test_reporter_web import csrf_of, file_report

FIRST_ACK = T0 + timedelta(days=1)  # Tuesday 24 November 2026, 09:00 UTC
FEEDBACK_DUE = datetime.fromisoformat("2027-02-24T09:00:00+00:00")
# Three months from the end of the seven days after Monday 23 November: 30 February clamps to
# the 28th.
FALLBACK_DUE = datetime.fromisoformat("2027-02-28T09:00:00+00:00")


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    return replace(
        app.extensions["candor.clock"],
        calendar=BusinessCalendar("Europe/Berlin", "DE", "BY"),
    )


@pytest.fixture
def hanna(db: Session) -> User:
    user = make_handler(db, "hanna")
    make_handler(db, "sven", level=2)
    make_handler(db, "eva", level=3)
    return user


def second_acknowledgement(
    db: Session, case: Case, now: datetime, settings: clock.ClockSettings
) -> None:
    """A second acknowledgement event reaching the clock, as an import or an old case could."""
    db.add(CaseEvent(case_id=case.id, kind=EventKind.ACKNOWLEDGED, occurred_at=now))
    clock.apply_event(db, case, EventKind.ACKNOWLEDGED, now=now, settings=settings)
    db.commit()


def feedback_state_after_tick(
    db: Session, case: Case, now: datetime, settings: clock.ClockSettings
) -> DeadlineState:
    clock.tick(db, now=now, settings=settings)
    return deadline(db, case, "feedback").state


def test_the_first_acknowledgement_anchors_feedback_three_months_on(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    """(f) "not exceeding three months from the acknowledgment of receipt": acknowledged on
    24 November, feedback is due on 24 February; due one second later, not one second earlier.
    """
    case = file_case(db, app, settings)
    act(db, hanna, case, "acknowledge", FIRST_ACK, settings, app)
    assert deadline(db, case, "feedback").due_at == FEEDBACK_DUE
    assert feedback_state_after_tick(db, case, FEEDBACK_DUE - SECOND, settings) is (
        DeadlineState.RUNNING
    )
    assert feedback_state_after_tick(db, case, FEEDBACK_DUE, settings) is DeadlineState.BREACHED
    assert feedback_state_after_tick(db, case, FEEDBACK_DUE + SECOND, settings) is (
        DeadlineState.BREACHED
    )


@pytest.mark.parametrize(
    "later",
    [
        timedelta(days=59),  # the example: 22 January, which moved feedback to 22 April
        FEEDBACK_DUE - FIRST_ACK - SECOND,
        FEEDBACK_DUE - FIRST_ACK,
        FEEDBACK_DUE - FIRST_ACK + SECOND,
    ],
)
def test_a_second_acknowledgement_does_not_move_feedback(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User, later: timedelta
) -> None:
    """(f) "three months from the acknowledgment of receipt": there is one acknowledgement of
    receipt, so a second one, however late, leaves feedback due on 24 February."""
    case = file_case(db, app, settings)
    act(db, hanna, case, "acknowledge", FIRST_ACK, settings, app)
    second_acknowledgement(db, case, FIRST_ACK + later, settings)
    feedback = deadline(db, case, "feedback")
    assert feedback.due_at == FEEDBACK_DUE
    db.refresh(case)
    assert case.next_due_at == FEEDBACK_DUE


def test_a_handler_cannot_send_a_second_acknowledgement(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    """(b) "acknowledgment of receipt of the report": sent once; a second is refused and the
    feedback deadline stays where the first put it."""
    case = file_case(db, app, settings)
    act(db, hanna, case, "acknowledge", FIRST_ACK, settings, app)
    with pytest.raises(casework.InvalidInputError, match="already been acknowledged"):
        act(db, hanna, case, "acknowledge", FIRST_ACK + timedelta(days=59), settings, app)
    db.rollback()
    assert deadline(db, case, "feedback").due_at == FEEDBACK_DUE
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert kinds.count(EventKind.ACKNOWLEDGED) == 1
    sent_by_staff = select(func.count()).where(
        Message.case_id == case.id, Message.author_kind == AuthorKind.HANDLER
    )
    assert db.scalar(sent_by_staff) == 1


@pytest.mark.parametrize("offset", [-SECOND, timedelta(0), SECOND])
def test_the_first_acknowledgement_anchors_feedback_either_side_of_the_seven_days(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User, offset: timedelta
) -> None:
    """(b) "within seven days of that receipt" and (f) "three months from the acknowledgment of
    receipt": the acknowledgement is in time up to the seventh day's end, and feedback runs
    three months from it either way (one sent late is still the acknowledgement of receipt)."""
    case = file_case(db, app, settings)
    seven_days = T0 + timedelta(days=7)
    if offset > timedelta(0):
        clock.tick(db, now=seven_days, settings=settings)
    acknowledged = seven_days + offset
    act(db, hanna, case, "acknowledge", acknowledged, settings, app)
    ack = deadline(db, case, "acknowledge")
    in_time = offset <= timedelta(0)
    assert ack.state is (DeadlineState.MET if in_time else DeadlineState.BREACHED)
    three_months_on = datetime.fromisoformat("2027-02-28T09:00:00+00:00") + offset
    assert deadline(db, case, "feedback").due_at == three_months_on


def test_without_an_acknowledgement_feedback_is_due_three_months_after_the_seven_days(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    """(f) "or, if no acknowledgement was sent to the reporting person, three months from the
    expiry of the seven-day period after the report was made"."""
    case = file_case(db, app, settings)
    seven_days = T0 + timedelta(days=7)
    assert deadline(db, case, "acknowledge").due_at == seven_days
    feedback = deadline(db, case, "feedback")
    assert feedback.due_at == FALLBACK_DUE
    # The seven days run out with no acknowledgement: feedback does not move.
    clock.tick(db, now=seven_days - SECOND, settings=settings)
    assert deadline(db, case, "acknowledge").state is DeadlineState.RUNNING
    clock.tick(db, now=seven_days, settings=settings)
    assert deadline(db, case, "acknowledge").state is DeadlineState.BREACHED
    clock.tick(db, now=seven_days + SECOND, settings=settings)
    assert deadline(db, case, "feedback").due_at == FALLBACK_DUE
    assert feedback_state_after_tick(db, case, FALLBACK_DUE - SECOND, settings) is (
        DeadlineState.RUNNING
    )
    assert feedback_state_after_tick(db, case, FALLBACK_DUE, settings) is DeadlineState.BREACHED
    assert feedback_state_after_tick(db, case, FALLBACK_DUE + SECOND, settings) is (
        DeadlineState.BREACHED
    )


def test_the_landing_page_promises_feedback_in_the_directives_terms(
    client: FlaskClient,
) -> None:
    """(f): three months "from the acknowledgment of receipt or, if no acknowledgement was sent
    ..., three months from the expiry of the seven-day period after the report was made"."""
    page = " ".join(client.get("/").get_data(as_text=True).split())
    assert (
        "We give you feedback within 3 calendar months of acknowledging your report or, if we "
        "have not acknowledged it, within 3 calendar months of the end of the 7 calendar days "
        "after you sent it." in page
    )
    assert "We acknowledge your report within 7 calendar days." in page
    assert "feedback within 3 calendar months.</li>" not in page


def test_a_clock_without_its_own_words_promises_its_duration() -> None:
    membership = load_policy("seed-membership")
    rule = membership.clocks[0]
    assert rule.promise_within is None
    assert membership.promised_within(rule) == str(rule.duration)


def test_a_promise_naming_an_unknown_duration_is_refused() -> None:
    raw = {
        "name": "broken",
        "title": "Broken",
        "clocks": [
            {
                "key": "feedback",
                "label": "Give feedback",
                "promise": "give you feedback",
                "start": "received",
                "stop": ["feedback_sent"],
                "duration": 3,
                "unit": "calendar_months",
                "promise_within": "{duration} of {when}",
            }
        ],
    }
    with pytest.raises(PolicyError, match="promise_within"):
        parse_policy(raw)


def test_only_the_first_occurrence_restarts_unless_the_policy_says_otherwise() -> None:
    feedback = load_policy("eu-directive").clock("feedback")
    assert feedback.restart_on == frozenset({EventKind.ACKNOWLEDGED})
    assert feedback.restart_on_repeat is False
    assert feedback.anchor_clock == "acknowledge"


def test_the_preset_quotes_the_directive_lines_it_encodes() -> None:
    text = resources.files("portal.policies").joinpath("eu-directive.toml").read_text("utf-8")
    assert "Art. 9(1)(b)" in text and "within seven\n# days of that receipt" in text
    assert "Art. 9(1)(f)" in text and "three months from the expiry of the" in text


def kinds_offered(page: str) -> list[str]:
    select_kind = re.search(r'<select id="kind" name="kind">(.*?)</select>', page, re.S)
    assert select_kind
    return re.findall(r'<option value="([a-z_]+)"', select_kind.group(1))


def test_acknowledgement_is_offered_after_triage_and_not_once_sent(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    """(b) "acknowledgment of receipt ... within seven days": a handler who sets the status
    first can still acknowledge, and stop the seven-day clock; once sent, it is not offered."""
    handler = make_handler(db, "hanna")
    file_report(client)
    case = db.scalars(select(Case)).one()
    url = f"/staff/cases/{case.uid}"
    staff = app.test_client()
    sign_in_as(staff, db, handler)
    page = staff.get(url).get_data(as_text=True)
    triaged = staff.post(
        url + "/update",
        data={
            "csrf_token": csrf_of(page),
            "tier": "2",
            "category": case.category,
            "status": "investigating",
        },
    )
    assert triaged.status_code == 302
    page = staff.get(url).get_data(as_text=True)
    assert "<strong>Investigating</strong>" in page
    assert "acknowledge" in kinds_offered(page)

    sent = staff.post(
        url + "/messages",
        data={"csrf_token": csrf_of(page), "kind": "acknowledge", "body": "We have it."},
    )
    assert sent.status_code == 302
    db.expire_all()
    assert deadline(db, case, "acknowledge").state is DeadlineState.MET
    page = staff.get(url).get_data(as_text=True)
    assert "acknowledge" not in kinds_offered(page)
    assert "reply" in kinds_offered(page)

    # Set back to "new", the case still has its acknowledgement: it is not offered again.
    staff.post(
        url + "/update",
        data={"csrf_token": csrf_of(page), "tier": "2", "category": case.category, "status": "new"},
    )
    page = staff.get(url).get_data(as_text=True)
    assert "<strong>New</strong>" in page
    assert "acknowledge" not in kinds_offered(page)

    # A form left open from before is refused, and what was typed is kept.
    again = staff.post(
        url + "/messages",
        data={"csrf_token": csrf_of(page), "kind": "acknowledge", "body": "Thank you again."},
    )
    refused = again.get_data(as_text=True)
    assert again.status_code == 400
    assert "already been acknowledged, so nothing was sent" in refused
    assert "Thank you again.</textarea>" in refused
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert kinds.count(EventKind.ACKNOWLEDGED) == 1
