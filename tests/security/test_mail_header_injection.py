"""Mail header injection: a line break in anything that reaches a mail header adds a header.

A CR or LF in a staff e-mail address, the site name, the sender address or a subject part would
let its writer add ``Bcc:`` (a copy of every notification to themselves) or rewrite the message.
Addresses are checked on one line when an admin saves them; the site name and sender address
are refused at start-up; the outbox refuses a line break in a recipient or subject; and an
address written around all of that is skipped, never sent. The messages that reach a real SMTP
server (aiosmtpd on loopback) carry exactly the expected headers and recipients.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import Config, ConfigError
from portal.models import OutboxMessage, User
from portal.services import clock, notifications
from portal.timeutil import utcnow
from tests.conftest import make_config
from tests.factories import make_admin
from tests.portal.services.test_notifications import MailServer, smtp_for
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import file_case, staff_client

ADDRESS = "hanna@example.org"
BREAKS = ["\r\n", "\n", "\r"]
EXPECTED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


@pytest.fixture
def mail() -> Iterator[MailServer]:
    """A real SMTP server on loopback, as in the notification tests."""
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("bad", BREAKS)
def test_an_admin_cannot_save_an_address_with_a_line_break(
    app: Flask, db: Session, team: dict[str, User], bad: str
) -> None:
    hanna = team["hanna"]
    admin = staff_client(app, db, make_admin(db, "boss"))
    page = admin.get(f"/admin/users/{hanna.id}").get_data(as_text=True)
    response = admin.post(
        f"/admin/users/{hanna.id}",
        data={
            "csrf_token": csrf_of(page),
            "display_name": "Hanna",
            "title": "Compliance officer",
            "email": f"{ADDRESS}{bad}Bcc: eve@example.org",
            "level": "1",
            "is_handler": "y",
        },
    )
    assert response.status_code == 400
    assert "E-mail: enter an address like name@example.org" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get_one(User, hanna.id).email is None


@pytest.mark.parametrize("bad", BREAKS)
@pytest.mark.parametrize("key", ["site__name", "smtp__from_address"])
def test_the_configuration_refuses_a_line_break_in_a_header_part(
    tmp_path: Path, key: str, bad: str
) -> None:
    with pytest.raises(ConfigError, match="must be on one line"):
        make_config("sqlite://", tmp_path, **{key: f"Candor{bad}Bcc: eve@example.org"})


def test_notifications_carry_exactly_the_expected_headers(
    app: Flask, db: Session, config: Config, team: dict[str, User], mail: MailServer
) -> None:
    hanna, sven = team["hanna"], team["sven"]
    hanna.email = ADDRESS
    # Written around the checks (a database writer, an old row): skipped, never sent.
    sven.email = "sven@example.org\r\nBcc: eve@example.org"
    hanna.display_name = "Hanna\r\nBcc: eve@example.org"
    db.commit()
    case = file_case(app.test_client(), db)
    later = utcnow() + timedelta(days=60)
    for _ in range(10):
        if clock.tick(db, now=later, settings=app.extensions["candor.clock"]).claimed == 0:
            break
    smtp = dataclasses.replace(smtp_for(config, mail), from_address="candor@example.org")
    notifications.deliver_due(db, smtp, now=later)
    received = mail.messages
    assert received, "the clock sent nothing: the test proves nothing"
    assert all(to == [ADDRESS] for _, to, _ in mail.collector.received)
    for message in received:
        assert isinstance(message, EmailMessage)
        assert {k.lower() for k in message} <= EXPECTED_HEADERS
        assert message["To"] == ADDRESS
        assert case.uid[:8].upper() in message["Subject"]
    raw = b"\n".join(content for _, _, content in mail.collector.received)
    assert b"eve@example.org" not in raw
    assert all(
        "\r" not in m.to_address and "\n" not in m.to_address
        for m in db.scalars(select(OutboxMessage))
    )
