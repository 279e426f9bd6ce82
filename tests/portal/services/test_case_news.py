"""Being told about one's cases: a new report, the reporter's message, an appeal; at once or in
the daily digest as each handler chose; a tier 1 case at once whatever the choice. Every rule is
checked on mail a real SMTP server on loopback (aiosmtpd) received, never on a mock, and no mail
may hold anything the reporter wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.config import Config
from portal.models import AuditEntry, Case, DigestEntry, DigestKind, OutboxMessage, User
from portal.services import casework, clock, notifications
from portal.services.calendar import BusinessCalendar
from portal.services.clock import appeals
from portal.timeutil import utcnow
from tests.conftest import make_config
from tests.factories import handler_private_key, make_admin, make_handler, sign_in_as
from tests.portal.services.test_clock import act, file_case
from tests.portal.services.test_notifications import MailServer, smtp_for
from tests.portal.test_reporter_web import REPORT_TEXT, csrf_of, file_report, intake_fields

ANSWER = "Last week, depot 4"
REPLY = "He also takes the pallets home on Fridays."
DIGEST = "Daily summary of your cases"


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


def handler(db: Session, name: str, *, digest: bool = False, level: int = 1) -> User:
    user = make_handler(db, name, level=level)
    user.email = f"{name}@example.org"
    user.notify_by_digest = digest
    db.commit()
    return user


def body_of(message: EmailMessage) -> str:
    content = message.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def only_case(db: Session) -> Case:
    return db.scalars(select(Case)).one()


def reference(case: Case) -> str:
    return f"C-{case.uid[:8].upper()}"


def link(case: Case) -> str:
    return f"http://localhost/staff/cases/{case.uid}"


def deliver(db: Session, config: Config, mail: MailServer, now: datetime) -> None:
    result = notifications.deliver_due(db, smtp_for(config, mail), now=now)
    assert result.retried == result.failed == 0


def assert_no_content(mail: MailServer, *secrets: str) -> None:
    """Nothing the reporter wrote (nor the category) in any header or body of any mail."""
    raw = b"\n".join(content for _, _, content in mail.collector.received).lower()
    assert raw, "no mail was received at all"
    for secret in (REPORT_TEXT, ANSWER, "fraud", *secrets):
        assert secret.lower().encode() not in raw
    for message in mail.messages:
        text = f"{message['Subject']}\n{body_of(message)}".lower()
        for secret in (REPORT_TEXT, ANSWER, *secrets):
            assert secret.lower() not in text


# -- a new report: at once, or in the digest ------------------------------------------------------


def test_a_new_report_is_told_at_once_or_kept_for_the_digest_as_each_handler_chose(
    app: Flask, client: FlaskClient, db: Session, config: Config, mail: MailServer
) -> None:
    handler(db, "hanna")
    handler(db, "sven", digest=True)
    file_report(client)
    case = only_case(db)
    now = utcnow()
    deliver(db, config, mail, now)

    [told] = mail.to("hanna@example.org")
    assert told["Subject"] == f"[Test Organisation] Case {reference(case)}: a new report arrived"
    assert link(case) in body_of(told)
    assert "critical" not in told["Subject"].lower()
    assert mail.to("sven@example.org") == []
    [entry] = db.scalars(select(DigestEntry)).all()
    assert (entry.kind, entry.case_id) == (DigestKind.REPORT, case.id)

    # Sven's digest lists the case by reference and link, and the entry goes with it.
    settings = app.extensions["candor.clock"]
    assert notifications.queue_daily_digests(db, settings, now=now) == 1
    deliver(db, config, mail, now)
    [digest] = mail.to("sven@example.org")
    assert digest["Subject"] == f"[Test Organisation] {DIGEST}"
    body = body_of(digest)
    assert f"New reports since the last summary:\n- {reference(case)}: {link(case)}\n" in body
    assert db.scalars(select(DigestEntry)).all() == []
    # Hanna was told at once, and nothing is due soon: she gets no digest.
    assert [m["Subject"] for m in mail.to("hanna@example.org")] == [told["Subject"]]
    assert_no_content(mail)


def test_an_event_after_the_days_digest_waits_for_the_next_one(
    app: Flask, client: FlaskClient, db: Session, config: Config, mail: MailServer
) -> None:
    handler(db, "sven", digest=True)
    settings = app.extensions["candor.clock"]
    file_report(client)
    case = only_case(db)
    now = utcnow()
    assert notifications.queue_daily_digests(db, settings, now=now) == 1

    clock.reporter_writes(db, case, REPLY, store=None, now=now, settings=settings)
    # Today's digest went out already: the message waits, it is not lost.
    assert notifications.queue_daily_digests(db, settings, now=now + timedelta(minutes=5)) == 0
    [waiting] = db.scalars(select(DigestEntry)).all()
    assert waiting.kind is DigestKind.MESSAGE

    tomorrow = now + timedelta(days=1)
    assert notifications.queue_daily_digests(db, settings, now=tomorrow) == 1
    deliver(db, config, mail, tomorrow)
    first, second = mail.to("sven@example.org")
    assert "New reports since the last summary:" in body_of(first)
    assert "reporter wrote" not in body_of(first)
    assert (
        f"Cases where the reporter wrote since the last summary:\n- {reference(case)}: "
        f"{link(case)}\n" in body_of(second)
    )
    assert "New reports" not in body_of(second)
    assert db.scalars(select(DigestEntry)).all() == []
    assert_no_content(mail, REPLY)


# -- the reporter writes ---------------------------------------------------------------------------


def test_the_reporters_message_tells_the_holders_without_its_words(
    app: Flask, client: FlaskClient, db: Session, config: Config, mail: MailServer
) -> None:
    handler(db, "hanna")
    file_report(client)
    case = only_case(db)
    settings = app.extensions["candor.clock"]
    later = utcnow() + timedelta(hours=2)
    clock.reporter_writes(db, case, REPLY, store=None, now=later, settings=settings)
    deliver(db, config, mail, later)

    subjects = [m["Subject"] for m in mail.to("hanna@example.org")]
    assert subjects == [
        f"[Test Organisation] Case {reference(case)}: a new report arrived",
        f"[Test Organisation] Case {reference(case)}: the reporter wrote a new message",
    ]
    assert all(link(case) in body_of(m) for m in mail.messages)
    assert_no_content(mail, REPLY)


# -- appeals ---------------------------------------------------------------------------------------


def decided(db: Session, app: Flask, hanna: User, settings: clock.ClockSettings) -> Case:
    """A members' complaint (a policy with an appeal) decided by Hanna."""
    received = datetime.fromisoformat("2026-11-23T10:00:00+00:00")
    case = file_case(db, app, settings, policies=("seed-membership",), now=received)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.assign(db, access, hanna.id, now=received)
    act(db, hanna, case, "acknowledge", received, settings, app)
    act(db, hanna, case, "decision", received + timedelta(days=5), settings, app)
    return case


def test_an_appeal_tells_each_holder_as_they_chose(
    app: Flask, db: Session, config: Config, mail: MailServer
) -> None:
    settings = replace(
        app.extensions["candor.clock"], calendar=BusinessCalendar("Europe/Berlin", "DE", "BY")
    )
    hanna = handler(db, "hanna")
    handler(db, "sven", digest=True)
    case = decided(db, app, hanna, settings)
    db.query(OutboxMessage).delete()
    db.query(DigestEntry).delete()
    db.commit()

    filed = datetime.fromisoformat("2026-12-01T10:00:00+00:00")
    assert clock.file_appeal(db, case, now=filed, settings=settings) == "committee"
    deliver(db, config, mail, filed)

    [told] = mail.to("hanna@example.org")
    assert told["Subject"].startswith(
        f"[Test Organisation] Case {reference(case)}: the reporter appealed the decision"
    )
    assert link(case) in body_of(told)
    assert mail.to("sven@example.org") == []
    [entry] = db.scalars(select(DigestEntry)).all()
    assert entry.kind is DigestKind.APPEAL
    notifications.queue_daily_digests(db, settings, now=filed)
    deliver(db, config, mail, filed)
    [digest] = mail.to("sven@example.org")
    assert f"Cases with an appeal since the last summary:\n- {reference(case)}" in body_of(digest)
    assert_no_content(mail, "Something happened", "decision message")


def test_an_appeal_to_the_secretary_and_on_to_the_committee_tells_the_holders(
    app: Flask, db: Session, config: Config, mail: MailServer
) -> None:
    settings = replace(
        app.extensions["candor.clock"], calendar=BusinessCalendar("Europe/Berlin", "DE", "BY")
    )
    hanna = handler(db, "hanna")
    sven = handler(db, "sven", digest=True)
    sara = handler(db, "sara", level=2)
    case = decided(db, app, hanna, settings)
    appeals.assign_secretary(db, sara.id, actor=make_admin(db), now=case.received_at)
    db.query(OutboxMessage).delete()
    db.query(DigestEntry).delete()
    db.commit()

    filed = datetime.fromisoformat("2026-12-01T10:00:00+00:00")
    assert clock.file_appeal(db, case, now=filed, settings=settings) == "secretary"
    appeals.answer_as_secretary(
        db, case, "uphold_decision", "It stands.", actor=sara, now=filed, settings=settings
    )
    taken = filed + timedelta(days=3)
    appeals.take_to_committee(db, case, now=taken, settings=settings)
    deliver(db, config, mail, taken)

    first, second = mail.to("hanna@example.org")
    assert first["Subject"] == (
        f"[Test Organisation] Case {reference(case)}: the reporter appealed the decision to "
        "the Company Secretary"
    )
    assert second["Subject"].startswith(
        f"[Test Organisation] Case {reference(case)}: the reporter took the appeal to the committee"
    )
    # The secretary is asked to act (once, not again as a holder), then told as a holder.
    asked, holder = mail.to("sara@example.org")
    assert "an appeal waits for the Company Secretary" in asked["Subject"]
    assert holder["Subject"] == second["Subject"]
    assert mail.to("sven@example.org") == []
    assert [(e.user_id, e.kind) for e in db.scalars(select(DigestEntry))] == [
        (sven.id, DigestKind.APPEAL),
        (sven.id, DigestKind.APPEAL),
    ]
    assert_no_content(mail, "It stands.")


# -- tier 1 ---------------------------------------------------------------------------------------


def test_a_tier_1_report_is_told_at_once_as_critical_whatever_the_choice(
    app: Flask, client: FlaskClient, db: Session, config: Config, mail: MailServer
) -> None:
    handler(db, "sven", digest=True)
    file_report(client, tier="1")
    case = only_case(db)
    assert case.tier == 1
    settings = app.extensions["candor.clock"]
    later = utcnow() + timedelta(minutes=1)
    clock.reporter_writes(db, case, REPLY, store=None, now=later, settings=settings)
    deliver(db, config, mail, later)

    subjects = [m["Subject"] for m in mail.to("sven@example.org")]
    assert subjects == [
        f"[Test Organisation] Critical case {reference(case)}: a new report arrived",
        f"[Test Organisation] Critical case {reference(case)}: the reporter wrote a new message",
    ]
    assert "critical (tier 1)" in body_of(mail.messages[0])
    assert db.scalars(select(DigestEntry)).all() == []
    assert_no_content(mail, REPLY)


# -- who is not told ------------------------------------------------------------------------------


def test_excluded_and_inactive_handlers_are_not_told(
    app: Flask, client: FlaskClient, db: Session, config: Config, mail: MailServer
) -> None:
    handler(db, "hanna")
    sven = handler(db, "sven")
    ida = handler(db, "ida", digest=True)
    file_report(client, excluded=[str(sven.id)])
    case = only_case(db)
    ida.active = False
    db.commit()
    settings = app.extensions["candor.clock"]
    later = utcnow() + timedelta(hours=1)
    clock.reporter_writes(db, case, REPLY, store=None, now=later, settings=settings)
    deliver(db, config, mail, later)

    assert len(mail.to("hanna@example.org")) == 2
    assert mail.to("sven@example.org") == []
    assert mail.to("ida@example.org") == []
    # Ida chose the digest: what she was not told is not kept for her either.
    assert [e.user_id for e in db.scalars(select(DigestEntry))] == [ida.id]  # from intake
    assert db.scalars(select(DigestEntry.kind)).all() == [DigestKind.REPORT]
    assert_no_content(mail, REPLY)


# -- the account page -----------------------------------------------------------------------------


def test_the_choice_is_made_on_the_account_page_with_csrf_and_audited(
    client: FlaskClient, db: Session
) -> None:
    hanna = handler(db, "hanna")
    sign_in_as(client, db, hanna)
    page = client.get("/staff/account").get_data(as_text=True)
    assert "How you are told" in page
    assert re.search(r'<input checked[^>]*value="immediately"', page)

    refused = client.post("/staff/account/notifications", data={"mode": "digest"})
    assert refused.status_code == 400
    db.expire_all()
    assert db.get_one(User, hanna.id).notify_by_digest is False

    saved = client.post(
        "/staff/account/notifications", data={"mode": "digest", "csrf_token": csrf_of(page)}
    )
    assert saved.status_code == 302
    db.expire_all()
    assert db.get_one(User, hanna.id).notify_by_digest is True
    trail = db.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "notification_preference_changed")
    ).all()
    assert trail == ["in the daily digest"]
    page = client.get("/staff/account").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="digest"', page)

    bad = client.post(
        "/staff/account/notifications", data={"mode": "never", "csrf_token": csrf_of(page)}
    )
    assert bad.status_code == 400
    db.expire_all()
    assert db.get_one(User, hanna.id).notify_by_digest is True


# -- the receipt ----------------------------------------------------------------------------------

EMERGENCY = "If a life is at risk now, call the emergency services on 112."


def printable(client: FlaskClient, html: str) -> str:
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', html)
    assert token
    response = client.post(
        "/report/receipt",
        data={"csrf_token": csrf_of(html), "form_token": token.group(1), "action": "print"},
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("tier", "told"), [("1", True), ("2", False), ("3", False)])
def test_only_a_tier_1_receipt_says_to_call_the_emergency_services(
    client: FlaskClient, db: Session, tier: str, told: bool
) -> None:
    make_handler(db, "hanna")
    db.commit()
    response = client.post("/report", data=intake_fields(client, tier=tier), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert (EMERGENCY in html) is told
    assert (EMERGENCY in printable(client, html)) is told


def test_the_emergency_number_comes_from_the_configuration(
    database: tuple[str, sessionmaker[Session]], tmp_path: Path, db: Session
) -> None:
    from portal import create_app

    config = make_config(database[0], tmp_path, site__emergency_number="+1 911")
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = database[1]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    make_handler(db, "hanna")
    db.commit()
    client = app.test_client()
    response = client.post("/report", data=intake_fields(client, tier="1"), follow_redirects=True)
    assert "call the emergency services on +1 911." in response.get_data(as_text=True)


# -- the worker's pass ---------------------------------------------------------------------------


def test_the_worker_sends_the_chosen_digest_even_with_the_sites_daily_summary_off(
    database: tuple[str, sessionmaker[Session]], tmp_path: Path, db: Session, mail: MailServer
) -> None:
    from portal import create_app

    config = make_config(database[0], tmp_path, smtp__host="127.0.0.1", smtp__port=mail.port)
    assert config.smtp.daily_digest is False
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = database[1]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    handler(db, "sven", digest=True)
    handler(db, "hanna")
    file_report(app.test_client())
    case = only_case(db)

    result = app.test_cli_runner().invoke(args=["candor", "clock", "tick"])
    assert result.exit_code == 0, result.output
    [digest] = mail.to("sven@example.org")
    assert digest["Subject"] == f"[Test Organisation] {DIGEST}"
    body = body_of(digest)
    assert body.startswith(f"New reports since the last summary:\n- {reference(case)}: ")
    assert "Overdue" not in body
    # Hanna, told at once, gets no digest: the site's summary of due cases is off.
    assert [m["Subject"] for m in mail.to("hanna@example.org")] == [
        f"[Test Organisation] Case {reference(case)}: a new report arrived"
    ]
    again = app.test_cli_runner().invoke(args=["candor", "clock", "tick"])
    assert again.exit_code == 0 and len(mail.to("sven@example.org")) == 1
    assert_no_content(mail)
