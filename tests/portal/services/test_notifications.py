"""Notifications end to end, against a real SMTP server on loopback (aiosmtpd), never a mock.

Time is an input: every pass gets its ``now``, so retries and deadlines need no sleeping.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from portal import create_app
from portal.config import Config, SmtpConfig
from portal.models import Case, Deadline, OutboxMessage, OutboxState
from portal.services import clock, notifications
from portal.services.errors import InvalidInputError
from portal.services.notifications import DeliveryResult
from portal.timeutil import utcnow
from tests.conftest import make_config
from tests.factories import NOW, make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import REPORT_TEXT, file_report

ADDRESS = "hanna@example.org"
REFUSED = "nobody@example.org"
ANSWER = "Last week, depot 4"  # the second answer intake_fields() gives
NOTHING = DeliveryResult(sent=0, retried=0, failed=0)


# -- a real SMTP server on loopback --------------------------------------------------------------


class Collector:
    """An aiosmtpd handler that keeps every accepted message and refuses one mailbox."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class MailServer:
    """An SMTP server on a fixed loopback port that a test can start and stop."""

    def __init__(self) -> None:
        self.port = free_port()
        self.collector = Collector()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        parsed = []
        for _, _, content in self.collector.received:
            message = message_from_bytes(content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mail() -> Iterator[MailServer]:
    """A running server."""
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_down() -> Iterator[MailServer]:
    """A server that is not (yet) listening: its port refuses connections."""
    server = MailServer()
    yield server
    server.stop()


def smtp_for(config: Config, server: MailServer) -> SmtpConfig:
    return dataclasses.replace(config.smtp, host="127.0.0.1", port=server.port, security="none")


def body_of(message: EmailMessage) -> str:
    content = message.get_content()
    assert isinstance(content, str)
    return content


def queue_one(db: Session, *, to: str = ADDRESS, subject: str = "[Test] Case C-0000: x") -> int:
    notifications.enqueue(
        db, to=to, subject=subject, body="Open the case.\n", recipient_id=None, now=NOW
    )
    db.commit()
    return latest_outbox_id(db)


def latest_outbox_id(db: Session) -> int:
    latest = db.scalar(select(func.max(OutboxMessage.id)))
    assert latest is not None
    return latest


def outbox_row(db: Session, message_id: int) -> OutboxMessage:
    db.expire_all()
    return db.get_one(OutboxMessage, message_id)


def tick_until_quiet(db: Session, app: Flask, now: datetime) -> None:
    """Drive the clock at ``now`` until no deadline has a step left that is due."""
    for _ in range(10):
        if clock.tick(db, now=now, settings=app.extensions["candor.clock"]).claimed == 0:
            return
    raise AssertionError("the clock kept finding due steps")


# -- 1. a notification arrives, and holds no case content ---------------------------------------


def test_a_breached_deadline_mails_the_handler_a_reference_and_a_link_only(
    app: Flask, client: FlaskClient, db: Session, config: Config, mail: MailServer
) -> None:
    hanna = make_handler(db, "hanna")
    hanna.email = ADDRESS
    db.commit()
    file_report(client)
    case = db.scalars(select(Case)).one()
    later = utcnow() + timedelta(days=60)  # the seven days to acknowledge are long gone

    tick_until_quiet(db, app, later)
    result = notifications.deliver_due(db, smtp_for(config, mail), now=later)

    received = mail.to(ADDRESS)
    assert received and result.sent == len(received) and result.retried == result.failed == 0
    assert all(to == [ADDRESS] for _, to, _ in mail.collector.received)
    reference = f"C-{case.uid[:8].upper()}"
    link = f"http://localhost/staff/cases/{case.uid}"
    assert any("overdue" in m["Subject"] for m in received)
    for message in received:
        assert message["From"] == config.smtp.from_address
        assert reference in message["Subject"]
        assert link in body_of(message)
        text = f"{message['Subject']}\n{body_of(message)}".lower()
        for secret in (REPORT_TEXT, ANSWER, "fraud", case.category):
            assert secret.lower() not in text
    raw = b"\n".join(content for _, _, content in mail.collector.received).lower()
    assert REPORT_TEXT.lower().encode() not in raw and ANSWER.lower().encode() not in raw
    assert all(
        m.state is OutboxState.SENT and m.sent_at == later
        for m in db.scalars(select(OutboxMessage))
    )


def test_a_user_without_an_address_gets_nothing_and_email_off_sends_nothing(
    app: Flask, client: FlaskClient, db: Session, config: Config, mail: MailServer
) -> None:
    make_handler(db, "hanna")  # no e-mail address
    sven = make_handler(db, "sven")
    sven.email = "sven@example.org"
    db.commit()
    file_report(client)
    later = utcnow() + timedelta(days=60)
    tick_until_quiet(db, app, later)
    queued = db.scalars(select(OutboxMessage)).all()
    assert queued and {m.to_address for m in queued} == {"sven@example.org"}

    # The test configuration has no SMTP host: delivery is off and the outbox keeps its rows.
    assert config.smtp.host == ""
    assert notifications.deliver_due(db, config.smtp, now=later) == NOTHING
    assert mail.collector.received == []
    assert all(m.state is OutboxState.PENDING and m.attempts == 0 for m in queued)


# -- 2. an SMTP outage delays, never loses nor doubles ------------------------------------------


def test_an_outage_is_retried_with_growing_pauses_then_sent_exactly_once(
    db: Session, config: Config, mail_down: MailServer
) -> None:
    smtp = smtp_for(config, mail_down)
    message_id = queue_one(db)

    assert notifications.deliver_due(db, smtp, now=NOW) == DeliveryResult(0, 1, 0)
    row = outbox_row(db, message_id)
    assert row.state is OutboxState.PENDING and row.attempts == 1
    assert row.last_error and row.sent_at is None
    first_wait = row.next_attempt_at - NOW
    assert first_wait > timedelta(0)

    # Not due yet: nothing is tried.
    assert notifications.deliver_due(db, smtp, now=row.next_attempt_at - timedelta(seconds=1)) == (
        NOTHING
    )
    assert outbox_row(db, message_id).attempts == 1

    second_try = row.next_attempt_at
    assert notifications.deliver_due(db, smtp, now=second_try) == DeliveryResult(0, 1, 0)
    row = outbox_row(db, message_id)
    assert row.state is OutboxState.PENDING and row.attempts == 2
    assert row.next_attempt_at - second_try > first_wait  # exponential back-off

    mail_down.start()
    third_try = row.next_attempt_at
    assert notifications.deliver_due(db, smtp, now=third_try) == DeliveryResult(1, 0, 0)
    row = outbox_row(db, message_id)
    assert row.state is OutboxState.SENT and row.sent_at == third_try
    assert len(mail_down.collector.received) == 1

    assert notifications.deliver_due(db, smtp, now=third_try + timedelta(days=1)) == NOTHING
    assert len(mail_down.collector.received) == 1
    assert outbox_row(db, message_id).state is OutboxState.SENT


def test_a_refused_recipient_is_retried_while_the_others_are_sent(
    db: Session, config: Config, mail: MailServer
) -> None:
    smtp = smtp_for(config, mail)
    refused = queue_one(db, to=REFUSED)
    good = queue_one(db)

    assert notifications.deliver_due(db, smtp, now=NOW) == DeliveryResult(1, 1, 0)
    assert outbox_row(db, good).state is OutboxState.SENT
    row = outbox_row(db, refused)
    assert row.state is OutboxState.PENDING and row.attempts == 1
    assert "Refused" in row.last_error and row.next_attempt_at > NOW
    assert [to for _, to, _ in mail.collector.received] == [[ADDRESS]]


# -- 3. given up after max_attempts, and shown to the admins ------------------------------------


def test_a_message_that_keeps_failing_is_given_up_and_shown_to_admins(
    client: FlaskClient, db: Session, config: Config, mail_down: MailServer
) -> None:
    # E-mail is on for this site (an SMTP host is configured), so the page's empty state applies.
    app = client.application
    app.extensions["candor.config"] = dataclasses.replace(
        config, smtp=dataclasses.replace(config.smtp, host="127.0.0.1")
    )
    sign_in_as(client, db, make_admin(db))
    page = client.get("/admin/notifications")
    assert page.status_code == 200
    assert "None: every notification so far was sent" in page.get_data(as_text=True)

    smtp = smtp_for(config, mail_down)
    assert smtp.max_attempts == 3
    subject = "[Test] Case C-DEADBEEF: overdue"
    message_id = queue_one(db, subject=subject)
    now = NOW
    for attempt in range(1, smtp.max_attempts + 1):
        last = attempt == smtp.max_attempts
        expected = DeliveryResult(0, 0, 1) if last else DeliveryResult(0, 1, 0)
        assert notifications.deliver_due(db, smtp, now=now) == expected
        row = outbox_row(db, message_id)
        assert row.attempts == attempt
        now = row.next_attempt_at if row.state is OutboxState.PENDING else now
    assert row.state is OutboxState.FAILED and row.last_error and row.sent_at is None

    # A failed message is not tried again, even when the server is back.
    mail_down.start()
    assert notifications.deliver_due(db, smtp, now=now + timedelta(days=30)) == NOTHING
    assert mail_down.collector.received == []
    assert [m.id for m in notifications.failed_messages(db)] == [message_id]

    html = client.get("/admin/notifications").get_data(as_text=True)
    assert subject in html and ADDRESS in html
    assert "None: every notification so far was sent" not in html


# -- 4. header injection --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("field", ["to", "subject"])
def test_enqueue_refuses_a_line_break_in_a_header(db: Session, field: str, bad: str) -> None:
    fields = {"to": ADDRESS, "subject": "[Test] Case C-0000: x"}
    fields[field] = f"{fields[field]}{bad}Bcc: eve@example.org"
    with pytest.raises(InvalidInputError, match="line break"):
        notifications.enqueue(
            db,
            to=fields["to"],
            subject=fields["subject"],
            body="Open the case.\n",
            recipient_id=None,
            now=NOW,
        )
    db.rollback()
    assert db.scalars(select(OutboxMessage)).all() == []


def test_notify_users_skips_an_address_with_a_line_break(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    """One account with a header-breaking address is skipped: it must not stop the clock for
    every case, and nothing of it reaches the outbox."""
    hanna = make_handler(db, "hanna")
    sven = make_handler(db, "sven")
    file_report(client)
    case = db.scalars(select(Case)).one()
    hanna.email = f"{ADDRESS}\r\nBcc: eve@example.org"
    sven.email = "sven@example.org"
    db.commit()
    count = notifications.notify_users(
        db, [hanna, sven], app.extensions["candor.clock"], case=case, what="overdue", now=NOW
    )
    db.commit()
    assert count == 1
    assert [m.to_address for m in db.scalars(select(OutboxMessage))] == ["sven@example.org"]


@pytest.mark.parametrize(
    "address",
    [f"{ADDRESS}\r\nBcc: eve@example.org", "hanna@[example.org"],  # the second trips the stdlib
)
def test_an_unsendable_row_written_around_enqueue_is_given_up_not_wedging_the_batch(
    db: Session, config: Config, mail: MailServer, address: str
) -> None:
    """Regression: such a row used to make deliver_due raise before its commit, so the messages
    already sent in the batch stayed PENDING and went out again on every pass."""
    db.add(
        OutboxMessage(
            recipient_id=None,
            to_address=address,
            subject="[Test] x",
            body="y\n",
            state=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=NOW - timedelta(minutes=1),  # first in the batch
            last_error="",
            created_at=NOW,
        )
    )
    db.commit()
    good = queue_one(db)
    smtp = smtp_for(config, mail)

    assert notifications.deliver_due(db, smtp, now=NOW) == DeliveryResult(1, 0, 1)
    assert notifications.deliver_due(db, smtp, now=NOW + timedelta(hours=1)) == NOTHING
    assert [to for _, to, _ in mail.collector.received] == [[ADDRESS]]
    assert outbox_row(db, good).state is OutboxState.SENT
    [failed] = notifications.failed_messages(db)
    assert failed.to_address == address and failed.attempts == 1 and failed.last_error


# -- 5. the CLI pass ------------------------------------------------------------------------------


@pytest.fixture
def mail_app(
    database: tuple[str, sessionmaker[Session]], tmp_path: Path, mail: MailServer
) -> Flask:
    """An app whose configuration sends e-mail to the test server."""
    config = make_config(database[0], tmp_path, smtp__host="127.0.0.1", smtp__port=mail.port)
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = database[1]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    return app


def test_clock_tick_command_acts_on_a_due_deadline_and_mails_the_handler(
    mail_app: Flask, db: Session, mail: MailServer
) -> None:
    hanna = make_handler(db, "hanna")
    hanna.email = ADDRESS
    db.commit()
    file_report(mail_app.test_client())
    case = db.scalars(select(Case)).one()
    # The new report's own notice is tested in test_case_news: here only the deadline's.
    db.execute(delete(OutboxMessage))
    # The CLI reads the real clock: make one step of the acknowledge deadline due now.
    db.execute(
        update(Deadline)
        .where(Deadline.case_id == case.id, Deadline.clock == "acknowledge")
        .values(next_action_at=utcnow() - timedelta(minutes=1))
    )
    db.commit()

    result = mail_app.test_cli_runner().invoke(args=["candor", "clock", "tick"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "deadlines acted on: 1 of 1 due; notifications sent: 1, to retry: 0, failed: 0"
    )
    [message] = mail.to(ADDRESS)
    assert f"C-{case.uid[:8].upper()}" in message["Subject"]
    assert f"/staff/cases/{case.uid}" in body_of(message)

    again = mail_app.test_cli_runner().invoke(args=["candor", "clock", "tick"])
    assert again.exit_code == 0, again.output
    assert "deadlines acted on: 0 of 0 due; notifications sent: 0," in again.output
    assert len(mail.collector.received) == 1


def test_clock_tick_command_survives_an_smtp_outage(
    mail_app: Flask, db: Session, mail: MailServer
) -> None:
    mail.stop()
    notifications.enqueue(
        db, to=ADDRESS, subject="[Test] x", body="y\n", recipient_id=None, now=utcnow()
    )
    db.commit()
    message_id = latest_outbox_id(db)

    result = mail_app.test_cli_runner().invoke(args=["candor", "clock", "tick"])

    assert result.exit_code == 0, result.output
    assert "notifications sent: 0, to retry: 1, failed: 0" in result.output
    row = outbox_row(db, message_id)
    assert row.state is OutboxState.PENDING and row.attempts == 1 and row.last_error
