"""How a page picks its language, what it says about it, and what the case keeps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import i18n, web
from portal.config import ConfigError
from portal.models import Case
from tests.conftest import make_config
from tests.factories import make_handler, sign_in_as
from tests.portal.test_reporter_web import file_report, sign_in


def html_tag(page: str) -> str:
    found = re.search(r"<html[^>]*>", page)
    assert found
    return found.group(0)


def language_links(page: str) -> dict[str, str]:
    """hreflang -> the link's own lang and text, for every language link on the page."""
    return {
        hreflang: f"{lang}:{name}"
        for lang, hreflang, name in re.findall(
            r'<a href="\?(?:[^"]*&amp;)?lang=[a-z]+" '
            r'lang="([a-z]+)" hreflang="([a-z]+)"[^>]*>([^<]+)</a>',
            page,
        )
    }


def test_a_first_visit_follows_the_browser_and_keeps_nothing(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "ar, de;q=0.5"}).get_data(as_text=True)
    assert 'lang="ar"' in html_tag(page) and 'dir="rtl"' in html_tag(page)
    with client.session_transaction() as session:
        assert i18n.SESSION_KEY not in session
    # The next page without the header is in the default language again: nothing was stored.
    assert 'lang="en" dir="ltr"' in html_tag(client.get("/").get_data(as_text=True))


def test_a_language_the_site_does_not_offer_falls_back_to_the_default(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "ja, zh;q=0.8"}).get_data(as_text=True)
    assert 'lang="en"' in html_tag(page)
    assert 'lang="en"' in html_tag(client.get("/?lang=xx").get_data(as_text=True))


def test_every_reporter_page_links_each_language_in_that_language(client: FlaskClient) -> None:
    for path in ("/", "/report", "/check"):
        links = language_links(client.get(path).get_data(as_text=True))
        # The current language is named but not linked; every other one is a link.
        assert set(links) == set(i18n.CODES) - {"en"}, path
        assert links["de"] == "de:Deutsch"
        assert links["ar"] == "ar:العربية"
        assert links["tr"] == "tr:Türkçe"


def test_a_chosen_language_is_kept_in_the_session(client: FlaskClient) -> None:
    page = client.get("/check?lang=de").get_data(as_text=True)
    assert 'lang="de" dir="ltr"' in html_tag(page)
    assert '<span lang="de" dir="ltr" aria-current="true">Deutsch</span>' in page
    # Kept: later pages are in German whatever the browser asks for.
    later = client.get("/report", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="de"' in html_tag(later)
    # The links keep the page's other query values.
    assert 'href="?lang=fr"' in later
    assert 'href="?page=2&amp;lang=fr"' in client.get("/report?page=2").get_data(as_text=True)


def test_arabic_pages_run_right_to_left(client: FlaskClient) -> None:
    page = client.get("/?lang=ar").get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in html_tag(page)


def test_staff_pages_offer_only_the_staff_languages(client: FlaskClient, db: Session) -> None:
    handler = make_handler(db, "hanna")
    sign_in_as(client, db, handler)
    page = client.get("/staff/inbox?lang=de").get_data(as_text=True)
    assert 'lang="de"' in html_tag(page)
    assert set(language_links(page)) == {"en", "fr", "es", "it"}
    # A reporter-only language chosen elsewhere gives staff pages the default, not Arabic.
    page = client.get("/staff/inbox?lang=ar").get_data(as_text=True)
    assert 'lang="de"' in html_tag(page)
    with client.session_transaction() as session:
        session[i18n.SESSION_KEY] = "ar"
    assert 'lang="en"' in html_tag(client.get("/staff/inbox").get_data(as_text=True))


def test_dates_are_written_for_the_page_language(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    client.get("/?lang=de")
    code, passphrase = file_report(client)
    sign_in(client, code, passphrase)
    page = client.get("/case").get_data(as_text=True)
    months = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
    # The deadlines the reporter is promised, as German writes a date ("7. Dezember 2026").
    assert re.search(rf"<strong>\d{{1,2}}\. ({months}) 20\d\d</strong>", page), page


@pytest.fixture
def handlers(db: Session) -> list[int]:
    return [make_handler(db, "hanna").id]


def test_the_case_keeps_the_language_it_was_filed_and_last_opened_in(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    client.get("/?lang=tr")
    code, passphrase = file_report(client)
    assert db.scalar(select(Case.language)) == "tr"
    client.get("/?lang=ar")
    sign_in(client, code, passphrase)
    db.expire_all()
    assert db.scalar(select(Case.language)) == "ar"
    # A wrong passphrase changes nothing.
    client.get("/?lang=de")
    sign_in(client, code, "not the words")
    db.expire_all()
    assert db.scalar(select(Case.language)) == "ar"


def test_the_site_may_offer_fewer_languages(tmp_path: Path) -> None:
    config = make_config("sqlite://", tmp_path, site__languages=["de", "en"])
    assert config.site.languages == ("de", "en")
    assert config.site.default_language == "de"
    for bad in (["en", "xx"], [], ["de", "de"]):
        with pytest.raises(ConfigError, match=r"site\.languages"):
            make_config("sqlite://", tmp_path, site__languages=bad)
    with pytest.raises(ConfigError, match=r"site\.default_language"):
        make_config("sqlite://", tmp_path, site__languages=["de"], site__default_language="fr")


def test_every_path_belongs_to_one_part() -> None:
    assert i18n.part_of("templates/reporter/landing.html") == "reporter"
    assert i18n.part_of("portal/services/clock/worker.py") == "automatic"
    assert i18n.part_of("portal/services/clock/policy_text.py") == "staff"
    assert i18n.part_of("templates/admin/users.html") == "staff"
    assert set(part for _, part in i18n.PART_OF_PATH) <= set(i18n.PARTS)


def test_labels_inside_a_sentence_keep_each_language_s_capitals(app: Flask) -> None:
    cases = {
        "en": ("Fraud", "fraud", "investigate", "Investigate"),
        "de": ("Betrug", "Betrug", "prüfen", "Prüfen"),
        "tr": ("İhlal", "ihlal", "inceleyeceğiz", "İnceleyeceğiz"),
    }
    for code, (label, inside, start, capital) in cases.items():
        with app.test_request_context(f"/?lang={code}"):
            i18n.remember_choice()
            assert web.mid_sentence(label) == inside, code
            assert web.capfirst(start) == capital, code
