"""Response templates (issue 18): shipped defaults for every typed message, admins' own texts
per kind and language, and a handler starting a message from one, filled for the case.

seeds/002, line 57: "We will acknowledge receipt of your complaint within 48 hours, and advise
you of who is investigating your complaint." A handler on a members' complaint picks the
acknowledgement template; the text names the investigator and the decision's due date, and the
reporter reads it as sent."""

from __future__ import annotations

import html
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import babel.dates
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal import i18n
from portal.config import Config
from portal.models import AuditEntry, Case, Deadline, ResponseTemplate
from portal.services.clock import appeals
from portal.services.response_templates import catalogue, store
from portal.timeutil import utcnow
from tests.conftest import make_config
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_committee_web import appealed_case
from tests.portal.test_reporter_web import csrf_of, file_report

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def config(database: tuple[str, sessionmaker[Session]], tmp_path: Path) -> Config:
    """Reports about fraud run the members' complaints policy (seeds/002)."""
    return make_config(
        database[0],
        tmp_path,
        intake__categories=[
            {"key": "fraud", "label": "Fraud", "policies": ["seed-membership"]},
            {"key": "safety", "label": "Safety", "policies": ["eu-directive"]},
        ],
    )


def textarea(page: str, name: str = "body") -> str:
    found = re.search(rf'<textarea[^>]*\bid="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no textarea {name}"
    # WTForms opens the box with a line break, which browsers drop.
    return html.unescape(found.group(1)).removeprefix("\r\n")


def words(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def long_date(moment: object, locale: str = "en_GB") -> str:
    return str(babel.dates.format_date(moment.astimezone(BERLIN), "long", locale=locale))  # type: ignore[attr-defined]


def test_every_kind_has_a_default_in_every_language(db: Session) -> None:
    assert set(catalogue.KINDS) == {
        "acknowledgement",
        "request_info",
        "feedback",
        "decision",
        "resolution",
        "secretary_answer",
    }
    for kind in catalogue.KINDS:
        for code in i18n.CODES:
            text = store.template_text(db, kind, code)
            # A fresh site has every template, and each passes the check an admin's text passes.
            assert text.strip(), (kind, code)
            assert catalogue.check_text(text) == text.strip()
            assert not store.template_state(db, kind, code).own
    assert db.scalars(select(ResponseTemplate)).all() == []


def test_the_admin_page_lists_every_kind_and_language(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    page = client.get("/admin/response-templates")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'class="table-scroll" tabindex="0"' in body
    languages = app.extensions["candor.config"].site.languages
    for kind in catalogue.KINDS:
        for code in languages:
            assert f"/admin/response-templates/{kind}/{code}" in body
    assert words(body).count("The default") == len(catalogue.KINDS) * len(languages)
    assert "Response templates" in client.get("/admin/users").get_data(as_text=True)


def test_an_admin_edits_a_template_refused_placeholders_keep_the_text(
    client: FlaskClient, db: Session
) -> None:
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    url = "/admin/response-templates/acknowledgement/en"
    page = client.get(url).get_data(as_text=True)
    assert "Thank you for your report to {site_name}." in textarea(page, "text")
    # The page lists each placeholder with what it is.
    for name in catalogue.PLACEHOLDERS:
        assert f'<code translate="no">{{{name}}}</code>' in page
    typed = "Dear reporter, {investigatr} looks at {reference}."
    refused = client.post(url, data={"csrf_token": csrf_of(page), "text": typed})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "Unknown placeholder: {investigatr}." in words(body)
    assert textarea(body, "text") == typed  # nothing lost
    assert db.scalars(select(ResponseTemplate)).all() == []
    unclosed = client.post(url, data={"csrf_token": csrf_of(page), "text": "Hello {reference"})
    assert unclosed.status_code == 400
    assert "A brace is not closed." in words(unclosed.get_data(as_text=True))

    mine = "Dear reporter, {investigator} looks at {reference} and answers by {next_due}."
    preview = client.post(
        url, data={"csrf_token": csrf_of(page), "text": mine, "action": "preview"}
    )
    assert preview.status_code == 200
    shown = words(preview.get_data(as_text=True))
    assert "Dear reporter, Admin looks at C-1A2B3C4D and answers by" in shown
    assert db.scalars(select(ResponseTemplate)).all() == []  # a preview saves nothing

    saved = client.post(url, data={"csrf_token": csrf_of(page), "text": mine})
    assert saved.status_code == 302
    db.expire_all()
    row = db.scalars(select(ResponseTemplate)).one()
    assert (row.kind, row.language, row.text, row.updated_by_id) == (
        "acknowledgement",
        "en",
        mine,
        admin.id,
    )
    assert store.template_text(db, "acknowledgement", "en") == mine
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "response_template_saved")
    ).one()
    assert (entry.actor_id, entry.detail) == (admin.id, "acknowledgement:en")
    listed = words(client.get("/admin/response-templates").get_data(as_text=True))
    assert "Your organisation's own, saved" in listed and "by Admin" in listed


def test_resetting_a_template_asks_first_and_is_audited(client: FlaskClient, db: Session) -> None:
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    page = client.get("/admin/response-templates/feedback/en").get_data(as_text=True)
    client.post(
        "/admin/response-templates/feedback/en",
        data={"csrf_token": csrf_of(page), "text": "Our own feedback on {reference}."},
    )
    reset = "/admin/response-templates/feedback/en/reset"
    confirm = client.get(reset)
    assert confirm.status_code == 200
    assert "Go back to the default text?" in confirm.get_data(as_text=True)
    token = csrf_of(confirm.get_data(as_text=True))
    bare = client.post(reset, data={"csrf_token": token})  # without the confirmation field
    assert bare.status_code == 400
    db.expire_all()
    assert len(db.scalars(select(ResponseTemplate)).all()) == 1
    done = client.post(reset, data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    db.expire_all()
    assert db.scalars(select(ResponseTemplate)).all() == []
    assert store.template_text(db, "feedback", "en").startswith("We are writing to tell you")
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "response_template_reset")
    ).one()
    assert (entry.actor_id, entry.detail) == (admin.id, "feedback:en")
    # Nothing of its own left: the reset page leads back to the editor.
    assert client.get(reset).status_code == 302


def test_unknown_kinds_and_languages_are_not_found(client: FlaskClient, db: Session) -> None:
    sign_in_as(client, db, make_admin(db))
    assert client.get("/admin/response-templates/reply/en").status_code == 404
    assert client.get("/admin/response-templates/acknowledgement/xx").status_code == 404
    assert client.get("/admin/response-templates/acknowledgement/xx/reset").status_code == 404


def members_case(client: FlaskClient, app: Flask, db: Session) -> tuple[Case, str, str]:
    code, passphrase = file_report(client, late="no")
    case = db.scalars(select(Case)).one()
    assert case.policies == ["seed-membership"]
    return case, code, passphrase


def use_template(staff: FlaskClient, case: Case, kind: str, body: str = "") -> str:
    page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    response = staff.post(
        f"/staff/cases/{case.uid}/template",
        data={"csrf_token": csrf_of(page), "template": kind, "body": body, "kind": "reply"},
    )
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_handler_acknowledges_from_the_template_naming_the_investigator(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    hanna = make_handler(db, "hanna", title="Complaints officer")
    make_handler(db, "sara", level=2)
    case, code, passphrase = members_case(client, app, db)
    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert '<select id="template" name="template"' in page
    staff.post(
        f"/staff/cases/{case.uid}/assign",
        data={"csrf_token": csrf_of(page), "assignee": str(hanna.id)},
    )

    filled = use_template(staff, case, "acknowledgement")
    text = textarea(filled)
    decision = db.scalars(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.clock == "investigate")
    ).one()
    # The right due date: the decision's (10 working days), the next time the reporter hears.
    assert f"We will write to you here again by {long_date(decision.due_at)} at the latest." in text
    assert "Your complaint is investigated by Hanna (Complaints officer)." in text
    assert re.search(r"reference with us is C-[0-9A-F]+\.", text)
    assert "Thank you for your report to Test Organisation." in text
    assert "{" not in text
    # The kind of message follows the template; nothing was sent or stored.
    assert '<option value="acknowledge" selected>' in filled
    assert 'id="template-notice"' in filled
    db.expire_all()
    assert not db.scalars(select(AuditEntry).where(AuditEntry.action.like("message_%"))).all()

    # What the handler had typed is kept, first; the template comes below it.
    kept = textarea(use_template(staff, case, "acknowledgement", body="My own opening words."))
    assert kept.startswith("My own opening words.\n\n")
    assert "Your complaint is investigated by Hanna" in kept

    edited = text.replace("Thank you", "Many thanks")
    sent = staff.post(
        f"/staff/cases/{case.uid}/messages",
        data={"csrf_token": csrf_of(filled), "kind": "acknowledge", "body": edited},
    )
    assert sent.status_code == 302
    thread = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    # Named once: the service adds no second sentence to a text that names the investigator.
    assert words(thread).count("investigated by Hanna") == 1

    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    read = words(reporter.get("/case").get_data(as_text=True))
    assert "Many thanks for your report to Test Organisation." in read
    assert "Your complaint is investigated by Hanna (Complaints officer)." in read


def test_the_cases_language_picks_the_templates_language(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    admin = make_admin(db)
    hanna = make_handler(db, "hanna")
    case, _code, _passphrase = members_case(client, app, db)
    store_german = (
        "Guten Tag. Ihre Meldung {reference} bearbeitet {investigator}; "
        "Entscheidung bis {decision_due}."
    )
    sign_in_as(client, db, admin)
    page = client.get("/admin/response-templates/decision/de").get_data(as_text=True)
    assert (
        client.post(
            "/admin/response-templates/decision/de",
            data={"csrf_token": csrf_of(page), "text": store_german},
        ).status_code
        == 302
    )
    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    english = textarea(use_template(staff, case, "decision"))
    assert english.startswith("We have finished looking into your report C-")

    db.expire_all()
    case = db.get(Case, case.id)
    assert case is not None
    case.language = "de"
    db.commit()
    german = textarea(use_template(staff, case, "decision"))
    decision = db.scalars(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.clock == "investigate")
    ).one()
    # No one is assigned: the handler writing is the investigator; the date is written in German.
    assert german == (
        f"Guten Tag. Ihre Meldung C-{case.uid[:8].upper()} bearbeitet Hanna; Entscheidung bis "
        f"{long_date(decision.due_at, 'de')}."
    )


def test_a_value_the_case_lacks_is_left_for_the_handler(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    admin = make_admin(db)
    hanna = make_handler(db, "hanna")
    case, _code, _passphrase = members_case(client, app, db)
    sign_in_as(client, db, admin)
    page = client.get("/admin/response-templates/feedback/en").get_data(as_text=True)
    client.post(
        "/admin/response-templates/feedback/en",
        data={"csrf_token": csrf_of(page), "text": "Feedback on {reference} by {feedback_due}."},
    )
    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    filled = use_template(staff, case, "feedback")
    # The members' policy runs no feedback clock: the placeholder stays, and the handler is told.
    assert textarea(filled).endswith("by {feedback_due}.")
    assert "This case has no value for {feedback_due}: fill it in by hand." in words(filled)


def test_the_company_secretary_starts_the_appeal_outcome_from_its_template(
    app: Flask, db: Session
) -> None:
    people = {
        "hanna": make_handler(db, "hanna"),
        "sara": make_handler(db, "sara", level=2, title="Company Secretary"),
        "admin": make_admin(db),
    }
    appeals.assign_secretary(db, people["sara"].id, actor=people["admin"], now=utcnow())
    case = appealed_case(db, app, people)
    staff = app.test_client()
    sign_in_as(staff, db, people["sara"])
    page = staff.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "Start from the appeal outcome template" in page
    filled = use_template(staff, case, "secretary_answer")
    text = textarea(filled, "secretary-body")
    assert text.startswith("As Company Secretary, I have looked at your appeal about C-")
    assert text.endswith("\n\nSara")
    # The reply form's box stays as it was.
    assert textarea(filled) == ""
