"""Properties of running deadlines under random acts, on a real database.

For random receipt times from 2024 to 2030, calendars (countries and regions, with and without
the organisation's own closing days), tiers 1 to 3 and each preset, a case is filed and a random
sequence of acts is done to it through the real services: acknowledgement, feedback, decision
and resolution messages, replies, the reporter's messages, pauses and resumptions, extensions,
status changes that resolve, close and reopen the case, an appeal, the reporter's "I am
satisfied", a change of tier, and passes of the worker at random times. After every act:

(a) every due time of a clock that counts working days (or rolls to one) falls on a working day
    of the calendar, and so does every time the worker will next act on a working-day clock: a
    warning, an escalation step, or the end of a pause's allowance;
(b) no deadline's due time moves earlier, except through an act its policy names as moving
    it: an event in the clock's ``restart_on`` (re-anchoring) or ``recompute_on`` (due again
    from its start at the new tier's time). In the presets those are the EU Directive's
    feedback clock on the acknowledgement (Art. 9(1)(f): three months from the
    acknowledgement, which may come before the end of the seven days the clock ran from) and
    seeds/000's first response on a change of tier (line 40: a critical matter "unanswered
    within 15 minutes" is escalated, whenever it is found to be critical). Everything else may
    only keep a due time or move it later: a pause moves it by the time that stood still, an
    extension lengthens it, reopening runs a clock again to the due time it had, a change of
    tier leaves every other running clock as it is, and the worker never moves one.

The seed-membership preset's investigation clock is given a pause here (see
``pausable_investigation``): no preset declares one, and pausing must still keep (a) and (b).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import AuthorKind, Case, CaseEvent, CaseStatus, Deadline, DeadlineState, User
from portal.services import casework, clock, intake, messaging
from portal.services.calendar import BusinessCalendar, Unit
from portal.services.casework import CaseAccess
from portal.services.clock.preview import HORIZON, preview_timeline
from portal.services.errors import ServiceError
from portal.services.policies import PRESETS, ClockRule, load_policy
from tests.factories import handler_private_key
from tests.portal.services.test_clock import SECOND, ladder
from tests.portal.services.test_seed_lines import observed, preview_steps
from tests.portal.services.test_working_day_properties import PLACES

__all__ = ["ladder"]  # a fixture, shared with the clock's own tests

START = datetime(2024, 1, 1)
END = datetime(2030, 12, 31, 23, 59, 59)
HANDLER_MESSAGES = ("acknowledge", "feedback", "decision", "resolution", "reply", "request_info")
ACTS = (
    *HANDLER_MESSAGES,
    "reporter_message",
    "pause",
    "resume",
    # A pause, and the resumption the given number of hours later.
    "pause_resume",
    "extend",
    "resolved_status",
    "reopen",
    "close",
    "appeal",
    "satisfied",
    "tier",
    "tick",
)


@dataclass(frozen=True)
class Scenario:
    preset: str
    tier: int
    received: datetime
    calendar: BusinessCalendar
    # (time since the previous act, the act, a number choosing its clock or its tier, or the
    # hours a pause_resume stands still)
    acts: tuple[tuple[timedelta, str, int], ...]


# The worker passes often, and the clock acts are tried more than once.
EVERY_ACT = (*ACTS, "tick", "tick", "pause", "resume", "extend")
# Pauses and extensions, which only the members' investigation clock allows, in depth.
CLOCK_ACTS = ("pause", "resume", "extend", "tick", "acknowledge", "decision", "reopen")
CLOCK_ACTS += ("resolved_status", "appeal", "tier", "pause_resume", "pause_resume", "tick")


@st.composite
def scenarios(
    draw: st.DrawFn,
    presets: tuple[str, ...] = PRESETS,
    pool: tuple[str, ...] = EVERY_ACT,
    longest_gap: timedelta = timedelta(days=25),
) -> Scenario:
    received = draw(st.datetimes(min_value=START, max_value=END, timezones=st.just(UTC)))
    zone, country, subdivision = draw(st.sampled_from(PLACES))
    # The organisation's own closing days, drawn near the receipt so that they matter.
    offsets = draw(st.frozensets(st.integers(min_value=0, max_value=150), max_size=25))
    closed = frozenset(received.date() + timedelta(days=k) for k in offsets)
    acts = draw(
        st.lists(
            st.tuples(
                st.timedeltas(min_value=timedelta(0), max_value=longest_gap),
                st.sampled_from(pool),
                st.integers(min_value=0, max_value=240),
            ),
            max_size=14,
        )
    )
    return Scenario(
        preset=draw(st.sampled_from(presets)),
        tier=draw(st.integers(min_value=1, max_value=3)),
        received=received,
        calendar=BusinessCalendar(zone, country, subdivision, closed=closed),
        acts=tuple(acts),
    )


def file(db: Session, app: Flask, settings: clock.ClockSettings, s: Scenario) -> Case:
    config: Config = app.extensions["candor.config"]
    categories = tuple(replace(c, policies=(s.preset,)) for c in config.intake.categories)
    # A new form each time: the same form posted twice opens no second case.
    form_token = secrets.token_hex(16)
    intake.submit_report(
        db,
        intake.Submission(
            form_token=form_token,
            category="fraud",
            tier=s.tier,
            answers={"what_happened": "Something happened."},
        ),
        intake=replace(config.intake, categories=categories),
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=settings,
        now=s.received,
    )
    lookup = crypto.lookup_hmac(config.security.receipt_pepper, f"submission:{form_token}")
    return db.scalars(select(Case).where(Case.submission_lookup == lookup)).one()


def allows(rule: ClockRule, act: str) -> bool:
    if act == "extend":
        return rule.extend_to is not None
    return rule.pausable


@dataclass
class Actor:
    db: Session
    app: Flask
    settings: clock.ClockSettings
    access: CaseAccess
    handler: User

    @property
    def case(self) -> Case:
        return self.access.case

    def status(self, status: CaseStatus, now: datetime, *, tier: int | None = None) -> None:
        casework.update_case(
            self.db,
            self.access,
            tier=self.case.tier if tier is None else tier,
            category=self.case.category,
            status=status,
            outcome="withdrawn" if status is CaseStatus.CLOSED else None,
            intake=self.app.extensions["candor.config"].intake,
            settings=self.settings,
            now=now,
        )

    def deadline_key(self, choice: int, can: str) -> tuple[str, str]:
        """A deadline of the case whose clock allows the act, if one does (else any)."""
        deadlines = sorted(
            self.db.scalars(select(Deadline).where(Deadline.case_id == self.case.id)),
            key=lambda d: (d.policy, d.clock),
        )
        able = [d for d in deadlines if allows(load_policy(d.policy).clock(d.clock), can)]
        pool = able or deadlines
        if not pool:
            return (self.case.policies[0], "none")
        chosen = pool[choice % len(pool)]
        return chosen.policy, chosen.clock

    def do(self, name: str, choice: int, now: datetime) -> None:
        db, case, settings = self.db, self.case, self.settings
        if name in HANDLER_MESSAGES:
            casework.send_message(
                db,
                self.access,
                name,
                f"{name} message",
                store=self.app.extensions["candor.attachments"],
                settings=settings,
                now=now,
            )
        elif name == "reporter_message":
            messaging.add_message(
                db, case, "A question.", author_kind=AuthorKind.REPORTER, store=None, now=now
            )
        elif name in ("pause", "extend"):
            policy, key = self.deadline_key(choice, name)
            act = clock.pause if name == "pause" else clock.extend
            act(db, case, policy, key, "A reason.", actor=self.handler, now=now, settings=settings)
        elif name == "pause_resume":
            self.do("pause", choice, now)
            self.do("resume", choice, now + timedelta(hours=choice))
        elif name == "resume":
            policy, key = self.deadline_key(choice, name)
            clock.resume(db, case, policy, key, actor=self.handler, now=now, settings=settings)
        elif name == "resolved_status":
            self.status(CaseStatus.RESOLVED, now)
        elif name == "reopen":
            self.status(CaseStatus.INVESTIGATING, now)
        elif name == "close":
            self.status(CaseStatus.CLOSED, now)
        elif name == "appeal":
            clock.file_appeal(db, case, now=now, settings=settings)
        elif name == "satisfied":
            clock.say_satisfied(db, case, now=now, settings=settings)
        elif name == "tier":
            self.status(case.status, now, tier=choice % 3 + 1)
        else:
            clock.tick(db, now=now, settings=settings)


@dataclass(frozen=True)
class Seen:
    due_at: datetime
    stopped: bool


def snapshot(db: Session, case: Case) -> dict[tuple[str, str], Seen]:
    db.expire_all()
    return {
        (d.policy, d.clock): Seen(d.due_at, d.stopped_at is not None)
        for d in db.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }


def event_kinds(db: Session, case: Case) -> list[str]:
    return [
        kind.value
        for kind in db.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    ]


def counts_working_days(rule: ClockRule) -> bool:
    return rule.duration.unit is Unit.WORKING_DAYS or rule.roll_to_working_day


def on_working_day(calendar: BusinessCalendar, moment: datetime) -> bool:
    return calendar.is_working_day(moment.astimezone(calendar.zone).date())


def check_working_days(db: Session, case: Case, calendar: BusinessCalendar, after: str) -> None:
    for d in db.scalars(select(Deadline).where(Deadline.case_id == case.id)):
        rule = load_policy(d.policy).clock(d.clock)
        if counts_working_days(rule):
            assert on_working_day(calendar, d.due_at), (after, d.name, d.due_at)
        if rule.duration.unit is Unit.WORKING_DAYS and d.next_action_at is not None:
            # A warning, an escalation step or the end of a pause's allowance.
            what = "pause end" if d.state is DeadlineState.PAUSED else "next step"
            assert on_working_day(calendar, d.next_action_at), (after, d.name, what)


PROPERTY = settings(
    max_examples=200,
    deadline=None,
    # One database for all examples: each files a case of its own and closes it at the end.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(scenario=scenarios())
@pytest.mark.usefixtures("pausable_investigation")
def test_working_day_deadlines_stay_on_working_days_and_only_named_acts_move_one_earlier(
    db: Session, app: Flask, ladder: dict[int, User], scenario: Scenario
) -> None:
    run(db, app, ladder, scenario)


@PROPERTY
@given(
    scenario=scenarios(presets=("seed-membership",), pool=CLOCK_ACTS, longest_gap=timedelta(days=4))
)
@pytest.mark.usefixtures("pausable_investigation")
def test_pauses_and_extensions_keep_working_days_and_never_move_a_deadline_earlier(
    db: Session, app: Flask, ladder: dict[int, User], scenario: Scenario
) -> None:
    run(db, app, ladder, scenario)


def run(db: Session, app: Flask, ladder: dict[int, User], scenario: Scenario) -> None:
    settings = replace(app.extensions["candor.clock"], calendar=scenario.calendar)
    hanna = ladder[1]
    case = file(db, app, settings, scenario)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    # seeds/002's acknowledgement names who investigates: assign first, as a handler would.
    casework.assign(db, access, hanna.id, now=scenario.received)
    actor = Actor(db, app, settings, access, hanna)
    check_working_days(db, case, scenario.calendar, "receipt")
    now = scenario.received
    try:
        for gap, name, choice in scenario.acts:
            now += gap
            before, kinds_before = snapshot(db, case), event_kinds(db, case)
            try:
                actor.do(name, choice, now)
                event(f"done: {name}")
            except ServiceError as exc:
                event(f"refused: {name}: {type(exc).__name__}")
                # Refused (nothing to pause, a second acknowledgement, ...): nothing changes.
                db.rollback()
            if name == "pause_resume":
                now += timedelta(hours=choice)  # the time the resumption came
            after = snapshot(db, case)
            new_kinds = set(event_kinds(db, case)[len(kinds_before) :])
            check_working_days(db, case, scenario.calendar, f"{name} at {now.isoformat()}")
            for key, seen in before.items():
                rule = load_policy(key[0]).clock(key[1])
                moving = rule.restart_on | rule.recompute_on
                named = {kind.value for kind in moving} & new_kinds
                if after[key].due_at < seen.due_at:
                    assert named, (
                        f"{name} at {now.isoformat()} moved {key[0]}/{key[1]} earlier: "
                        f"{seen.due_at.isoformat()} -> {after[key].due_at.isoformat()}"
                    )
                if seen.stopped and after[key].stopped:
                    assert after[key].due_at == seen.due_at, (name, key)
    finally:
        # Later examples run the worker at other times: this case must not be acted on then.
        db.rollback()
        clock.stop_all(db, case, now=now)
        db.commit()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios(pool=("tick",)))
def test_the_worker_does_what_the_preview_shows_when_nobody_acts(
    db: Session, app: Flask, ladder: dict[int, User], scenario: Scenario
) -> None:
    """The admin's preview and the worker read one schedule: for any receipt time, calendar,
    tier and preset, the worker run a second before and at each previewed time produces the
    previewed steps at those times, and nothing else."""
    settings = replace(app.extensions["candor.clock"], calendar=scenario.calendar)
    case = file(db, app, settings, scenario)
    timeline = preview_timeline(
        scenario.preset, scenario.received, scenario.tier, calendar=scenario.calendar
    )
    assert timeline.events  # every preset has a clock that starts on receipt
    try:
        for moment in sorted({e.at for e in timeline.events}):
            for now in (moment - SECOND, moment):
                clock.tick(db, now=now, settings=settings)
        assert observed(db, case) == preview_steps(timeline)
    finally:
        db.rollback()
        clock.stop_all(db, case, now=scenario.received + HORIZON)
        db.commit()
