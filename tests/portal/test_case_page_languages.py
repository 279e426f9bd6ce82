"""The handler's case page and export in more than one language: the reporter's language is
shown, what people wrote is marked ``dir="auto"``, and the PDF is written in the handler's page
language."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import babel.dates
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, User
from portal.services import audit
from tests.factories import make_handler
from tests.portal.test_export import export, pdf_text
from tests.portal.test_handler_cases import case_url, staff_client
from tests.portal.test_reporter_web import REPORT_TEXT, file_report


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    return {"hanna": make_handler(db, "hanna")}


def test_case_page_names_the_reporters_language(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    case = db.scalars(select(Case)).one()
    case.language = None
    db.commit()
    # None is the site's default language.
    assert "Reporter's language: English" in hanna.get(case_url(db)).get_data(as_text=True)
    case.language = "de"
    db.commit()
    assert "Reporter's language: Deutsch" in hanna.get(case_url(db)).get_data(as_text=True)


def test_what_people_wrote_reads_in_its_own_direction(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    assert f'<dd class="pre" dir="auto">{REPORT_TEXT[:40]}' in page
    assert 'id="body" name="body" rows="5" dir="auto"' in page


def test_case_page_and_pdf_follow_the_handlers_language(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db) + "?lang=fr").get_data(as_text=True)
    assert '<html lang="fr"' in page
    status, data = export(hanna, db, format="pdf")
    assert status == 200 and data.startswith(b"%PDF")
    case = db.scalars(select(Case)).one()
    zone = ZoneInfo(app.extensions["candor.config"].site.timezone)
    day = babel.dates.format_date(case.received_at.astimezone(zone), "long", locale="fr")
    assert day in pdf_text(data)


def test_audit_labels_read_as_the_stored_actions_in_english() -> None:
    # The English label is the stored action in words: the trail reads as it did before.
    for action, label in audit.ACTION_LABELS.items():
        assert label == action.replace("_", " ")
