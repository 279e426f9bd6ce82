"""Staff-edited texts and the intake's labels per language, falling back to the default language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.i18n import in_language, remember_choice
from portal.models import AuditEntry, User
from portal.services import sitetext
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_admin import audit_actions, csrf_of, post_form

GERMAN_WAYS = "<p>Sie können sich auch an das Bundesamt für Justiz wenden.</p>"
TRANSLATIONS = "/admin/site/translations"


@pytest.fixture
def admin(client: FlaskClient, db: Session) -> User:
    user = make_admin(db)
    sign_in_as(client, db, user)
    return user


def page(app: Flask, path: str, language: str) -> str:
    """``path`` as a visitor who chose ``language`` sees it (a browser of their own)."""
    visitor = app.test_client()
    sep = "&" if "?" in path else "?"
    return visitor.get(f"{path}{sep}lang={language}").get_data(as_text=True)


def test_a_german_text_shows_in_german_and_the_default_elsewhere(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    editor = client.get("/admin/texts?key=other_ways&language=de").get_data(as_text=True)
    assert "There is no text in Deutsch of its own yet" in editor
    # The language chooser: the default language first, each a link with ?key=..&language=..
    assert editor.index("English") < editor.index("Deutsch") < editor.index("Français")
    assert "/admin/texts?key=other_ways&amp;language=fr" in editor

    path = "/admin/texts?key=other_ways&language=de"
    status, _, location = post_form(client, path, html=GERMAN_WAYS, action="save")
    assert status == 302 and "language=de" in location
    assert "There is no text in Deutsch of its own yet" not in client.get(path).get_data(
        as_text=True
    )

    assert "Bundesamt für Justiz" in page(app, "/", "de")
    french = page(app, "/", "fr")
    assert "Bundesamt" not in french
    # French has no text of its own: the built-in default, in French from the catalogue.
    with app.test_request_context("/?lang=fr"):
        remember_choice()
        built_in = str(sitetext.get_text(db, "other_ways"))
    assert "competent external authority" not in built_in
    assert built_in in french
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "site_text_changed")).one()
    assert (entry.actor_id, entry.detail) == (admin.id, "other_ways:de")


def test_a_language_without_its_own_text_gets_the_default_languages_text(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    post_form(client, "/admin/texts?key=other_ways", html="<p>Ring the ombudsman.</p>")
    assert "Ring the ombudsman." in page(app, "/", "fr")
    editor = client.get("/admin/texts?key=other_ways&language=fr").get_data(as_text=True)
    assert "There is no text in Français of its own yet" in editor
    # The editor starts from what French readers get now.
    assert "Ring the ombudsman." in editor


def test_the_mediator_notice_is_sent_in_the_cases_language(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    german = "<p>Wir konnten Ihre Beschwerde nicht binnen {duration} lösen.</p>"
    post_form(client, "/admin/texts?key=mediator_notice&language=de", html=german)
    with app.app_context():
        text = sitetext.get_plain_text(db, "mediator_notice", duration="45 Tagen", language="de")
        assert text == "Wir konnten Ihre Beschwerde nicht binnen 45 Tagen lösen."
        english = sitetext.get_plain_text(db, "mediator_notice", duration="45 days", language="en")
        assert english.startswith("We have not been able to resolve your complaint")
        assert "within 45 days." in english
        # Without a language: the one of the moment (here an ``in_language`` block).
        with in_language("de"):
            assert sitetext.get_plain_text(db, "mediator_notice").startswith("Wir konnten")


def test_removing_a_languages_text_falls_back_again(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    path = "/admin/texts?key=other_ways&language=de"
    post_form(client, path, html=GERMAN_WAYS)
    remove = "/admin/texts/remove?key=other_ways&language=de"
    confirm = client.get(remove).get_data(as_text=True)
    assert "Remove the text in Deutsch?" in confirm
    # A bare POST (no confirmation field) removes nothing.
    token = csrf_of(confirm)
    assert client.post(remove, data={"csrf_token": token}).status_code == 400
    assert "Bundesamt" in page(app, "/", "de")

    status, _, location = post_form(client, remove, confirm="yes")
    assert status == 302 and "/admin/texts" in location
    assert "Bundesamt" not in page(app, "/", "de")
    assert "site_text_removed" in audit_actions(db)
    # Nothing left to remove.
    assert client.get(remove).status_code == 404


def test_unknown_keys_and_languages_are_404(client: FlaskClient, admin: User) -> None:
    assert client.get("/admin/texts?key=nope").status_code == 404
    assert client.get("/admin/texts?key=other_ways&language=xx").status_code == 404
    assert client.get(f"{TRANSLATIONS}?language=xx").status_code == 404
    # The default language's labels are the ones written: nothing to translate there.
    assert client.get(f"{TRANSLATIONS}?language=en").status_code == 404


def test_a_translated_category_shows_on_the_german_form_only(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    make_handler(db, "hanna")
    listing = client.get(f"{TRANSLATIONS}?language=de").get_data(as_text=True)
    assert 'name="categories-fraud"' in listing and 'name="questions-what_happened"' in listing
    assert 'name="groups-employee"' in listing
    status, _, _ = post_form(
        client,
        f"{TRANSLATIONS}?language=de",
        **{"categories-fraud": "Betrug", "questions-what_happened": "Was ist passiert?"},
    )
    assert status == 302
    assert "site_translations_changed" in audit_actions(db)

    german = page(app, "/report", "de")
    assert "Betrug" in german and "Was ist passiert?" in german
    # Untranslated labels read as written.
    assert "Safety" in german
    english = page(app, "/report", "en")
    assert "Betrug" not in english and "Fraud" in english
    # The editors keep the labels as written, whatever the admin's own language.
    client.get("/admin/site/categories?lang=de")
    editor = client.get("/admin/site/categories").get_data(as_text=True)
    assert 'value="Fraud"' in editor and "Betrug" not in editor
    client.get("/admin/users?lang=en")

    # Emptied again: the label as written comes back (the cache follows the save).
    post_form(client, f"{TRANSLATIONS}?language=de", **{"categories-fraud": ""})
    assert "Betrug" not in page(app, "/report", "de")


def test_translations_are_capped_like_the_labels(
    client: FlaskClient, db: Session, admin: User
) -> None:
    status, body, _ = post_form(
        client, f"{TRANSLATIONS}?language=de", **{"categories-fraud": "x" * 201}
    )
    assert status == 400
    assert "is longer than 200 characters" in body
    assert "site_translations_changed" not in audit_actions(db)


def test_others_may_not_edit_texts_or_translations(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    hanna = make_handler(db, "hanna")
    sign_in_as(client, db, hanna)
    for path in (
        "/admin/texts?key=other_ways&language=de",
        "/admin/texts/remove?key=other_ways&language=de",
        f"{TRANSLATIONS}?language=de",
    ):
        assert client.get(path).status_code == 403, path
    signed_out = app.test_client()
    response = signed_out.post(f"{TRANSLATIONS}?language=de", data={"categories-fraud": "X"})
    assert response.status_code in (302, 400)
    assert "site_translations_changed" not in audit_actions(db)


def test_posts_without_a_csrf_token_are_refused(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    post_form(client, "/admin/texts?key=other_ways&language=de", html=GERMAN_WAYS)
    before = audit_actions(db)
    for path, data in (
        ("/admin/texts?key=other_ways&language=de", {"html": "<p>forged</p>"}),
        ("/admin/texts/remove?key=other_ways&language=de", {"confirm": "yes"}),
        (f"{TRANSLATIONS}?language=de", {"categories-fraud": "Gefälscht"}),
    ):
        assert client.post(path, data=data).status_code == 400, path
    assert audit_actions(db) == before
    assert "Bundesamt" in page(app, "/", "de")
    assert "Gefälscht" not in page(app, "/report", "de")


def test_a_welcome_text_replaces_the_built_in_introduction_per_language(
    client: FlaskClient, db: Session
) -> None:
    built_in = "Use this channel to tell"
    assert built_in in client.get("/").get_data(as_text=True)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    sitetext.set_text(db, "welcome", "<p>Welcome to ACME's channel.</p>", now, language="en")
    sitetext.set_text(db, "welcome", "<p>Willkommen beim Meldekanal.</p>", now, language="de")
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Welcome to ACME" in english and built_in not in english
    assert "Willkommen beim Meldekanal." in client.get("/?lang=de").get_data(as_text=True)
    # A language without its own text gets the default language's.
    assert "Welcome to ACME" in client.get("/?lang=fr").get_data(as_text=True)
    # Saved empty, the built-in introduction is back (in the page's language).
    sitetext.set_text(db, "welcome", "", now, language="en")
    assert built_in in client.get("/?lang=en").get_data(as_text=True)
