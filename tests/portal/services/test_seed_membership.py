"""The members' complaints preset against the words of seeds/002, line by line.

Line 61: "We aim to investigate the complaint within 10 working days. If your complaint is more
complex, or involves people who are not available at the time, we may extend this to 20 working
days." The days run from the complaint, so a complaint nobody acknowledges still has an
investigation deadline; the seed names no pause, so the preset declares none.

Line 19: "you should send your concern immediately and certainly within one month of the
occurrence". The form tells the reporter of the month and asks whether it has passed (yes or
no, never a date); a late report is still filed, and the handlers see a flag on the case page.

Lines 69-73: after an upheld complaint, "identify any other member who has been affected",
"correct, or [...] mitigate", "review and amend our arrangements": a checklist on the case,
ticked by a handler (a POST with CSRF protection), each tick audited.

Time is a parameter: a fixed clock, one second before, at and after each step.
"""

from __future__ import annotations

import html
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
from portal.models import AuditEntry, Case, CaseFollowUp, DeadlineState, EventKind, User
from portal.services import casework, clock, follow_ups, intake, messaging
from portal.services.calendar import BusinessCalendar
from portal.services.clock.preview import Happening, preview_timeline
from portal.services.errors import InvalidInputError, NotFoundError
from portal.services.policies import load_policy
from tests.factories import handler_private_key, make_admin, make_handler, sign_in_as
from tests.portal.services.test_clock import SECOND, act, deadline, file_case
from tests.portal.test_reporter_web import csrf_of, file_report, intake_fields

BERLIN = ZoneInfo("Europe/Berlin")
BAVARIA = BusinessCalendar("Europe/Berlin", "DE", "BY")
LINE_61 = 'seeds/002, line 61: "We aim to investigate the complaint within 10 working days."'
LINE_19 = 'seeds/002, line 19: "certainly within one month of the occurrence"'
WINDOW = load_policy("seed-membership").late_window
MEMBERS, EU = ("seed-membership",), ("eu-directive",)


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
    assert [r.key for r in timeline.not_started] == ["secretary", "appeal"]


def submit(
    db: Session, app: Flask, settings: clock.ClockSettings, policies: tuple[str, ...], **kw: object
) -> Case:
    config: Config = app.extensions["candor.config"]
    categories = tuple(replace(c, policies=policies) for c in config.intake.categories)
    intake.submit_report(
        db,
        intake.Submission(
            form_token=f"late-{kw.get('late')}-{'-'.join(policies)}",
            category="fraud",
            tier=3,
            answers={"what_happened": "The trainer was rude at the exam."},
            **kw,  # type: ignore[arg-type]
        ),
        intake=replace(config.intake, categories=categories),
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=settings,
        now=local("2026-11-23T10:00"),
    )
    return db.scalars(select(Case).order_by(Case.id.desc())).one()


def test_the_window_is_data_in_the_policy_and_quotes_the_seed() -> None:
    assert WINDOW is not None
    assert WINDOW.source is not None
    assert "certainly within one month of the occurrence" in WINDOW.source
    assert "normally within one month of the event" in WINDOW.source
    assert WINDOW.question == "Did this happen more than a month ago?"
    # Never a refusal: the reporter is told the report is still read.
    assert "please still send your report" in WINDOW.notice
    assert load_policy("eu-directive").late_window is None


@pytest.mark.parametrize(
    ("seed", "policies", "late", "kept", "flagged"),
    [
        (LINE_19 + " Says more than a month.", MEMBERS, True, True, True),
        (LINE_19 + " Says within the month.", MEMBERS, False, False, False),
        (LINE_19 + " Does not say.", MEMBERS, None, None, False),
        (LINE_19 + " The Directive first.", ("eu-directive", *MEMBERS), True, True, True),
        ("The Directive sets no window: the answer is not kept.", EU, True, None, False),
    ],
)
def test_a_late_report_is_filed_and_flagged_to_the_handlers(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    hanna: User,
    seed: str,
    policies: tuple[str, ...],
    late: bool | None,
    kept: bool | None,
    flagged: bool,
) -> None:
    case = submit(db, app, settings, policies, late=late)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    report = messaging.read_report(db, case, access.case_private_key)
    assert report.late is kept, seed
    detail = casework.case_detail(db, access, now=local("2026-11-23T11:00"))
    assert WINDOW is not None
    assert detail.late_flag == (WINDOW.flag if flagged else None), seed
    # Filed all the same, its clocks running.
    assert deadline(db, case, "acknowledge", policy=policies[-1]).state is DeadlineState.RUNNING


def test_the_answer_is_sealed_not_kept_in_the_clear(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = submit(db, app, settings, ("seed-membership",), late=True)
    assert b'"late"' not in case.sealed_report
    columns = {c.name for c in Case.__table__.columns}
    assert not any("late" in name for name in columns)


def test_the_form_asks_and_the_case_page_flags(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    """seeds/002, line 19, on the pages: the reporter reads the month and answers; the handler
    sees the flag."""
    admin = make_admin(db)
    hanna = make_handler(db, "hanna")
    db.commit()
    reporter = app.test_client()
    assert "more than a month ago" not in reporter.get("/report").get_data(as_text=True)
    clock.choose_policies(
        db, "fraud", ["eu-directive", "seed-membership"], actor=admin, now=local("2026-11-23T09:00")
    )
    form = reporter.get("/report").get_data(as_text=True)
    assert "Did this happen more than a month ago? (optional)" in form
    assert WINDOW is not None
    assert f"For a report about fraud: {WINDOW.notice}" in " ".join(form.split())
    assert 'name="late" type="radio" value="yes"' in form
    file_report(reporter, late="yes")
    case = db.scalars(select(Case)).one()
    sign_in_as(client, db, hanna)
    page = client.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "<strong>Late:</strong>" in page
    assert "Sent more than a month after it happened" in page


def test_a_late_answer_that_is_not_yes_or_no_is_refused_with_the_form_kept(
    app: Flask, db: Session
) -> None:
    make_handler(db, "hanna")
    db.commit()
    reporter = app.test_client()
    response = reporter.post("/report", data=intake_fields(reporter, late="maybe"))
    assert response.status_code == 400
    assert "The report was not sent yet." in response.get_data(as_text=True)
    assert db.scalars(select(Case)).first() is None


FOLLOW_UP = [
    ('seeds/002, line 71: "identify any other member who has been affected"', "others_affected"),
    ('seeds/002, line 72: "correct, or [...] mitigate"', "correct_or_mitigate"),
    ('seeds/002, line 73: "review and amend our arrangements"', "review_arrangements"),
]


def decided_case(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User, decide: bool = True
) -> Case:
    received = local("2026-11-23T10:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=received)
    act(db, hanna, case, "acknowledge", received, settings, app)
    if decide:
        act(db, hanna, case, "decision", received + timedelta(days=5), settings, app)
    return case


def test_the_preset_lists_the_seeds_follow_up_actions() -> None:
    actions = load_policy("seed-membership").follow_up
    assert [a.key for a in actions] == [key for _, key in FOLLOW_UP]
    for (seed, _), action in zip(FOLLOW_UP, actions, strict=True):
        quoted = seed.split('"')[1].split(" [...]")[0]
        assert action.source is not None and quoted in action.source, seed
    assert load_policy("eu-directive").follow_up == ()


@pytest.mark.parametrize(("seed", "action"), FOLLOW_UP)
def test_each_follow_up_action_is_ticked_once_and_audited(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    hanna: User,
    seed: str,
    action: str,
) -> None:
    case = decided_case(db, app, settings, hanna)
    before = follow_ups.follow_ups_of(db, case)
    assert before.open, seed
    assert all(f.done_at is None for f in before.items), seed
    done_at = local("2026-12-01T10:00")
    follow_ups.record_follow_up(db, case, "seed-membership", action, actor=hanna, now=done_at)
    after = {f.action: f for f in follow_ups.follow_ups_of(db, case).items}
    assert after[action].done_at == done_at and after[action].done_by == hanna.display_name
    assert [k for k, f in after.items() if f.done_at is not None] == [action], seed
    trail = db.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id)).all()
    assert [e.detail for e in trail if e.action == "follow_up_done"] == [
        f"seed-membership/{action}"
    ]
    with pytest.raises(InvalidInputError, match="already recorded"):
        follow_ups.record_follow_up(
            db, case, "seed-membership", action, actor=hanna, now=done_at + SECOND
        )
    db.rollback()
    assert db.scalars(select(CaseFollowUp)).all()[0].done_at == done_at


def test_follow_up_waits_for_the_decision(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    """Line 69: "In situations where a complaint has been successful": the outcome is known only
    once the decision is sent."""
    case = decided_case(db, app, settings, hanna, decide=False)
    assert not follow_ups.follow_ups_of(db, case).open
    with pytest.raises(InvalidInputError, match="after the decision is sent"):
        follow_ups.record_follow_up(
            db, case, "seed-membership", "others_affected", actor=hanna,
            now=local("2026-11-24T10:00"),
        )  # fmt: skip
    db.rollback()
    assert db.scalars(select(CaseFollowUp)).first() is None


@pytest.mark.parametrize(
    ("policy", "action"),
    [("seed-membership", "disciplinary"), ("eu-directive", "others_affected")],
)
def test_an_action_the_case_policy_does_not_list_is_not_found(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User, policy: str, action: str
) -> None:
    case = decided_case(db, app, settings, hanna)
    with pytest.raises(NotFoundError):
        follow_ups.record_follow_up(
            db, case, policy, action, actor=hanna, now=local("2026-12-01T10:00")
        )


def test_a_case_without_follow_up_shows_no_checklist(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings, now=local("2026-11-23T10:00"))
    checklist = follow_ups.follow_ups_of(db, case)
    assert checklist.items == [] and not checklist.open


def test_the_handler_ticks_on_the_case_page_with_csrf(
    client: FlaskClient, app: Flask, db: Session, settings: clock.ClockSettings, hanna: User
) -> None:
    case = decided_case(db, app, settings, hanna)
    sign_in_as(client, db, hanna)
    url = f"/staff/cases/{case.uid}"
    page = client.get(url).get_data(as_text=True)
    tick = f"{url}/follow-ups/seed-membership/others_affected"
    assert f'action="{tick}"' in page
    assert "Identify any other member affected by the failure" in page
    assert client.post(tick, data={}).status_code == 400
    assert client.get(tick).status_code == 405
    assert db.scalars(select(CaseFollowUp)).first() is None
    done = client.post(tick, data={"csrf_token": csrf_of(page)})
    assert done.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "The follow-up action is recorded as done." in page
    assert f'action="{tick}"' not in page
    assert "done, recorded by" in page
    again = client.post(tick, data={"csrf_token": csrf_of(page)})
    assert again.status_code == 400
    assert "already recorded as done" in again.get_data(as_text=True)
    unknown = client.post(
        f"{url}/follow-ups/seed-membership/nothing", data={"csrf_token": csrf_of(page)}
    )
    assert unknown.status_code == 404


def test_the_admin_policy_page_shows_the_window_and_the_follow_up(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    body = html.unescape(client.get("/admin/policies/seed-membership").get_data(as_text=True))
    assert "The report form asks “Did this happen more than a month ago?”" in body
    assert "certainly within one month of the occurrence" in body
    assert "Identify any other member affected by the failure" in body
    assert "review and amend our arrangements" in body
    other = client.get("/admin/policies/eu-directive").get_data(as_text=True)
    assert 'id="late-window"' not in other and 'id="follow-up"' not in other
