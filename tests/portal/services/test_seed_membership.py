"""The members' complaints preset against the words of seeds/002, line by line.

Line 61: "We aim to investigate the complaint within 10 working days. If your complaint is more
complex, or involves people who are not available at the time, we may extend this to 20 working
days." The days run from the complaint, so a complaint nobody acknowledges still has an
investigation deadline; the seed names no pause, so the preset declares none.

Time is a parameter: a fixed clock, one second before, at and after each step.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.models import DeadlineState, EventKind, User
from portal.services import casework, clock
from portal.services.calendar import BusinessCalendar
from portal.services.clock.preview import Happening, preview_timeline
from portal.services.policies import load_policy
from tests.factories import handler_private_key, make_handler
from tests.portal.services.test_clock import SECOND, act, deadline, file_case

BERLIN = ZoneInfo("Europe/Berlin")
BAVARIA = BusinessCalendar("Europe/Berlin", "DE", "BY")
LINE_61 = 'seeds/002, line 61: "We aim to investigate the complaint within 10 working days."'


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC"))


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    return replace(app.extensions["candor.clock"], calendar=BAVARIA)


@pytest.fixture
def hanna(db: Session) -> User:
    user = make_handler(db, "hanna")
    make_handler(db, "sven", level=2)
    make_handler(db, "eva", level=3)
    db.commit()
    return user


# (seed line, received, investigation due), local times in Bavaria.
INVESTIGATION_DUE = [
    (LINE_61 + " A Monday: two weeks on.", "2026-11-23T10:00", "2026-12-07T10:00"),
    (LINE_61 + " A Friday evening: the day counts.", "2026-11-27T17:30", "2026-12-11T17:30"),
    (LINE_61 + " A Saturday: counting starts Monday.", "2026-11-28T11:00", "2026-12-11T11:00"),
    (
        LINE_61 + " Over Christmas: 25, 26 December and 1 January are not working days.",
        "2026-12-18T16:00",
        "2027-01-05T16:00",
    ),
    (
        LINE_61 + " Over Easter and a daylight-saving change: the local hour is kept.",
        "2027-03-19T12:00",
        "2027-04-06T12:00",
    ),
]


@pytest.mark.parametrize(("seed", "received", "due"), INVESTIGATION_DUE)
def test_an_unacknowledged_complaint_has_an_investigation_deadline_from_receipt(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    hanna: User,
    seed: str,
    received: str,
    due: str,
) -> None:
    case = file_case(db, app, settings, policies=("seed-membership",), now=local(received))
    investigate = deadline(db, case, "investigate")
    assert investigate.started_at == local(received), seed
    assert investigate.due_at == local(due), seed
    for now, state in [
        (local(due) - SECOND, DeadlineState.RUNNING),
        (local(due), DeadlineState.BREACHED),
        (local(due) + SECOND, DeadlineState.BREACHED),
    ]:
        clock.tick(db, now=now, settings=settings)
        assert deadline(db, case, "investigate").state is state, (seed, now)


@pytest.mark.parametrize(
    ("seed", "acknowledged_after"),
    [
        (LINE_61 + " Acknowledged at once.", timedelta(0)),
        (LINE_61 + " Acknowledged a second before the 48 hours end.", timedelta(hours=48) - SECOND),
        (LINE_61 + " Acknowledged at the 48 hours.", timedelta(hours=48)),
        (LINE_61 + " Acknowledged a week late.", timedelta(days=7)),
    ],
)
def test_the_acknowledgement_does_not_move_the_investigation_deadline(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    hanna: User,
    seed: str,
    acknowledged_after: timedelta,
) -> None:
    received = local("2026-11-23T10:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=received)
    act(db, hanna, case, "acknowledge", received + acknowledged_after, settings, app)
    investigate = deadline(db, case, "investigate")
    assert investigate.due_at == local("2026-12-07T10:00"), seed
    assert investigate.started_at == received, seed


@pytest.mark.parametrize(
    ("seed", "decided", "state"),
    [
        (LINE_61 + " Decided a second before the 10 days end.", -SECOND, DeadlineState.MET),
        (LINE_61 + " Decided as the 10 days end.", timedelta(0), DeadlineState.MET),
        (LINE_61 + " Decided a second late.", SECOND, DeadlineState.BREACHED),
    ],
)
def test_the_decision_stops_the_investigation_deadline(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    hanna: User,
    seed: str,
    decided: timedelta,
    state: DeadlineState,
) -> None:
    received = local("2026-11-23T10:00")
    due = local("2026-12-07T10:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=received)
    act(db, hanna, case, "acknowledge", received, settings, app)
    act(db, hanna, case, "decision", due + decided, settings, app)
    investigate = deadline(db, case, "investigate")
    assert investigate.state is state, seed
    assert investigate.stopped_at == due + decided, seed


def test_the_extension_to_20_working_days_also_counts_from_receipt(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    """seeds/002, line 61: "we may extend this to 20 working days"."""
    received = local("2026-11-23T10:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    clock.extend(
        db, case, "seed-membership", "investigate", "The people involved are away",
        actor=hanna, now=received + timedelta(days=3), settings=settings,
    )  # fmt: skip
    # 25 and 26 December are holidays in Bavaria: Monday 21 December.
    assert deadline(db, case, "investigate").due_at == local("2026-12-21T10:00")


def test_the_preset_declares_no_pause(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    """The seed names no pause: "We may contact you within this period to seek further
    information" (seeds/002, line 61) asks within the 10 days, it does not stop them."""
    rule = load_policy("seed-membership").clock("investigate")
    assert not rule.pausable and rule.pause_cap is None
    assert rule.start is EventKind.RECEIVED
    assert rule.source is not None and "within 10 working days" in rule.source
    received = local("2026-11-23T10:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    with pytest.raises(clock.ClockError, match="cannot be paused"):
        clock.pause(
            db, case, "seed-membership", "investigate", "Waiting for the member",
            actor=hanna, now=received + timedelta(days=1), settings=settings,
        )  # fmt: skip
    db.rollback()
    investigate = deadline(db, case, "investigate")
    assert investigate.state is DeadlineState.RUNNING
    assert investigate.due_at == local("2026-12-07T10:00")


def test_the_preview_shows_the_investigation_deadline_from_receipt() -> None:
    """seeds/002, line 61, as the admin page and `clock preview` show it: due ten working days
    after receipt, with no acknowledgement needed."""
    timeline = preview_timeline("seed-membership", local("2026-12-18T16:00"), 3, calendar=BAVARIA)
    due = [
        e.at for e in timeline.events if e.clock == "investigate" and e.happening is Happening.DUE
    ]
    assert due == [local("2027-01-05T16:00")]
    assert [r.key for r in timeline.not_started] == ["appeal"]
