"""Each message of the thread keeps what it is, set where it is sent, and older rows say what
can be told for certain."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import crypto
from portal.config import Config
from portal.models import AuthorKind, Case, Message, User
from portal.services import casework, clock, intake, messaging
from portal.services.clock.acts import reporter_writes
from portal.services.errors import InvalidInputError
from tests.factories import handler_private_key, make_handler

T0 = datetime.fromisoformat("2026-11-23T09:00:00+00:00")


@pytest.fixture
def settings(app: Flask) -> clock.ClockSettings:
    settings: clock.ClockSettings = app.extensions["candor.clock"]
    return settings


@pytest.fixture
def hanna(db: Session) -> User:
    return make_handler(db, "hanna")


def file_case(db: Session, app: Flask, settings: clock.ClockSettings) -> Case:
    config: Config = app.extensions["candor.config"]
    categories = tuple(replace(c, policies=("eu-directive",)) for c in config.intake.categories)
    intake.submit_report(
        db,
        intake.Submission(
            form_token="kinds" + "0" * 27,
            category="fraud",
            tier=3,
            answers={"what_happened": "Something happened."},
        ),
        intake=replace(config.intake, categories=categories),
        pepper=config.security.receipt_pepper,
        profile=crypto.TEST,
        store=app.extensions["candor.attachments"],
        clock_settings=settings,
        now=T0,
    )
    return db.scalars(select(Case)).one()


def thread(db: Session, case: Case, hanna: User) -> list[messaging.MessageView]:
    db.expire_all()
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    return messaging.read_thread(db, access.case, access.case_private_key)


def send(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    hanna: User,
    case: Case,
    kind: str,
    at: datetime,
) -> None:
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.send_message(
        db,
        access,
        kind,
        f"A message of the kind {kind}.",
        store=app.extensions["candor.attachments"],
        settings=settings,
        now=at,
    )


def test_each_kind_a_handler_sends_is_kept_and_said(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    sent = ("acknowledge", "request_info", "reply", "feedback", "decision", "resolution")
    for step, kind in enumerate(sent, start=1):
        send(db, app, settings, hanna, case, kind, T0 + timedelta(hours=step))

    messages = thread(db, case, hanna)
    assert [m.kind for m in messages] == [
        "acknowledgement",
        "request_info",
        "reply",
        "feedback",
        "decision",
        "resolution",
    ]
    assert [m.kind_label for m in messages] == [
        "Acknowledgement",
        "Request for information",
        "Reply",
        "Feedback",
        "Decision",
        "Resolution",
    ]
    stored = db.scalars(select(Message.kind).order_by(Message.id)).all()
    assert stored[0] == "acknowledgement" and stored[-1] == "resolution"


def test_the_reporters_message_and_the_clocks_automatic_message_say_what_they_are(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    reporter_writes(
        db, case, "I have more to add.", store=None, now=T0 + timedelta(hours=1), settings=settings
    )
    # Nobody acknowledges within seven days: the clock writes to the reporter by itself.
    clock.tick(db, now=T0 + timedelta(days=8), settings=settings)

    messages = thread(db, case, hanna)
    assert messages[0].kind == "reporter" and messages[0].kind_label == "Reporter"
    automatic = [m for m in messages if m.author_kind is AuthorKind.SYSTEM]
    assert automatic and {m.kind for m in automatic} == {"automatic"}
    assert {m.kind_label for m in automatic} == {"Automatic message"}


def test_an_unknown_kind_is_refused_and_nothing_is_added(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    with pytest.raises(InvalidInputError):
        messaging.add_message(
            db, case, "Hello", author_kind=AuthorKind.SYSTEM, kind="gossip", store=None, now=T0
        )
    with pytest.raises(InvalidInputError):
        send(db, app, settings, hanna, case, "gossip", T0)
    db.rollback()
    assert thread(db, case, hanna) == []


def test_rows_from_before_kinds_say_what_is_certain(
    db: Session, app: Flask, settings: clock.ClockSettings, hanna: User
) -> None:
    case = file_case(db, app, settings)
    send(db, app, settings, hanna, case, "reply", T0 + timedelta(hours=1))
    reporter_writes(
        db, case, "Thank you.", store=None, now=T0 + timedelta(hours=2), settings=settings
    )
    db.execute(update(Message).values(kind=None))
    db.commit()

    handler_message, reporter_message = thread(db, case, hanna)
    assert (handler_message.kind, handler_message.kind_label) == ("message", "Message")
    assert (reporter_message.kind, reporter_message.kind_label) == ("reporter", "Reporter")
