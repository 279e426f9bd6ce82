"""The reporter's pages in another language: what they say about the case's language and the
passphrase, and the reporter's own words marked to find their direction."""

from __future__ import annotations

import re

import pytest
from babel.support import Translations
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import i18n
from portal.models import Case
from tests.factories import make_handler
from tests.portal.test_reporter_web import csrf_of, intake_fields, receipt_of, sign_in

PASSPHRASE_NOTE = (
    "Your passphrase is made of English words on purpose: type them exactly as shown, in any "
    "language you use the site in."
)
WRITTEN_IN = (
    "The organisation's automatic messages to you are written in %(language)s. To change this, "
    "choose another language above and sign in again."
)


def words(code: str, msgid: str, **values: str) -> str:
    """``msgid`` as the shipped catalogue of ``code`` words it, HTML-escaped as pages write it."""
    translations = Translations.load(str(i18n.TRANSLATIONS_DIR), [code])
    assert msgid in translations._catalog, f"{code}: {msgid!r} is not translated"
    return str(escape(translations.gettext(msgid) % values))


@pytest.fixture
def handlers(db: Session) -> list[int]:
    return [make_handler(db, "hanna").id]


def test_the_receipt_names_the_language_of_automatic_messages(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    client.get("/?lang=ar")
    fields = intake_fields(client)
    html = client.post("/report", data=fields, follow_redirects=True).get_data(as_text=True)
    assert db.scalar(select(Case.language)) == "ar"
    assert words("ar", WRITTEN_IN, language="العربية") in html
    assert words("ar", PASSPHRASE_NOTE) in html
    # The words themselves are English, whatever the page's language and direction.
    assert re.search(r'<code lang="en" dir="ltr" translate="no" id="passphrase">', html)
    base = {"csrf_token": csrf_of(html), "form_token": fields["form_token"], "action": "print"}
    printable = client.post("/report/receipt", data=base).get_data(as_text=True)
    assert words("ar", PASSPHRASE_NOTE) in printable
    assert '<html lang="ar" dir="rtl">' in printable


def test_the_case_page_names_the_cases_language_and_marks_the_reporters_words(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    html = client.post("/report", data=intake_fields(client), follow_redirects=True).get_data(
        as_text=True
    )
    code, passphrase = receipt_of(html)
    assert str(escape(PASSPHRASE_NOTE)) in client.get("/check").get_data(as_text=True)
    client.get("/?lang=de")
    assert sign_in(client, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    assert db.scalar(select(Case.language)) == "de"
    page = client.get("/case").get_data(as_text=True)
    assert words("de", WRITTEN_IN, language="Deutsch") in page
    assert re.search(r'<dd class="pre" dir="auto">The warehouse manager', page)
    assert re.search(r'<textarea[^>]*dir="auto"[^>]*id="body"', page)


def test_a_case_without_a_language_reads_as_the_sites_default(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    html = client.post("/report", data=intake_fields(client), follow_redirects=True).get_data(
        as_text=True
    )
    code, passphrase = receipt_of(html)
    case = db.scalars(select(Case)).one()
    case.language = None
    db.commit()
    assert sign_in(client, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    assert "automatic messages to you are written in English" in client.get("/case").text
