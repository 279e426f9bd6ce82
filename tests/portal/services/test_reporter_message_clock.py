"""The reporter's message is a typed event every clock sees: a policy that waits for the
reporter (a request for information, say) stops or restarts its clock when they write, as it
does for any other event it names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import CaseEvent, DeadlineState, EventKind, User
from portal.services import clock
from portal.services.clock import versions
from tests.factories import make_admin
from tests.portal.services.test_clock import SECOND, T0, deadline, file_case, ladder, settings

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

DAY = timedelta(days=1)


@pytest.mark.usefixtures("ladder")
def test_a_clock_that_names_the_reporters_message_stops_when_they_write(
    db: Session, app: Flask, settings: clock.ClockSettings
) -> None:
    admin = make_admin(db)
    versions.create_from_preset(
        db, "eu-directive", "acme-reports", "Reports at Acme", actor=admin, now=T0 - DAY
    )
    text = versions.get_version(db, "acme-reports").content
    assert text.count('stop = ["acknowledged"]') == 1
    versions.save_version(
        db,
        "acme-reports",
        text.replace('stop = ["acknowledged"]', 'stop = ["acknowledged", "reporter_message"]'),
        "The reporter's message also stops the acknowledgement clock.",
        edited_version=1,
        actor=admin,
        now=T0 - DAY,
    )
    case = file_case(db, app, settings, policies=("acme-reports",))
    assert deadline(db, case, "acknowledge").state is DeadlineState.RUNNING
    store = app.extensions["candor.attachments"]
    clock.reporter_writes(db, case, "One more thing.", store=store, now=T0 + DAY, settings=settings)
    acknowledge = deadline(db, case, "acknowledge")
    assert (acknowledge.state, acknowledge.stopped_at) == (DeadlineState.MET, T0 + DAY)
    # The other clock of the policy does not name the message: it runs on as it was.
    assert deadline(db, case, "feedback").state is DeadlineState.RUNNING
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert kinds == [EventKind.RECEIVED, EventKind.REPORTER_MESSAGE]


def test_under_a_policy_that_names_no_message_nothing_moves(
    db: Session, app: Flask, settings: clock.ClockSettings, ladder: dict[int, User]
) -> None:
    case = file_case(db, app, settings, policies=("eu-directive",))
    before = deadline(db, case, "acknowledge").due_at
    store = app.extensions["candor.attachments"]
    clock.reporter_writes(db, case, "Hello.", store=store, now=T0 + SECOND, settings=settings)
    acknowledge = deadline(db, case, "acknowledge")
    assert (acknowledge.state, acknowledge.due_at) == (DeadlineState.RUNNING, before)
