"""What the pages cache between requests (sanitised site texts, intake form classes) is seen to
change as soon as an admin's edit reaches the database, from this instance or another."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.models import SiteText
from portal.reporter import blank_pages, forms
from portal.services import sitetext
from portal.web import intake_settings
from tests.factories import make_handler

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_site_texts_are_sanitised_once_and_follow_every_edit(app: Flask, db: Session) -> None:
    with app.test_request_context("/"):
        first = sitetext.get_texts(db, "other_ways", "welcome")
        again = sitetext.get_texts(db, "other_ways", "welcome")
        # The cache answers: the same sanitised object, not a new run of bleach.
        assert again["other_ways"] is first["other_ways"]
        assert "competent external authority" in first["other_ways"]

        sitetext.set_text(db, "other_ways", "<p>Call the ombudsman.</p><script>x()</script>", NOW)
        edited = sitetext.get_texts(db, "other_ways")["other_ways"]
        assert "Call the ombudsman." in edited and "script" not in edited

        # Another instance's edit: a row changed in the database, nothing told this process.
        db.execute(
            update(SiteText)
            .where(SiteText.key == "other_ways")
            .values(html="<p>Write to the regulator.</p>", updated_at=NOW + timedelta(minutes=1))
        )
        db.commit()
        assert "Write to the regulator." in sitetext.get_texts(db, "other_ways")["other_ways"]

        assert sitetext.remove_text(db, "other_ways", "en", NOW + timedelta(minutes=2))
        back = sitetext.get_texts(db, "other_ways")["other_ways"]
        assert "competent external authority" in back


def test_the_intake_form_class_is_built_once_per_set_of_questions(app: Flask, db: Session) -> None:
    with app.test_request_context("/report"):
        intake = intake_settings()
        one = forms.intake_form(intake, [])
        two = forms.intake_form(intake, [])
        assert type(one) is type(two)
        assert one is not two  # a fresh form (and CSRF token) each time
        question = intake.questions[0]
        changed = replace(question, label="A label an admin just wrote")
        other = replace(intake, questions=(changed, *intake.questions[1:]))
        edited = forms.intake_form(other, [])
        assert type(edited) is not type(one)
        assert getattr(edited, f"q_{question.key}").label.text == "A label an admin just wrote"


def _tokens(page: str) -> tuple[str, str]:
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    form = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert csrf and form, page[:2000]
    return csrf.group(1), form.group(1)


def test_the_empty_intake_form_is_rendered_once_and_gets_fresh_tokens_each_time(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    make_handler(db, "hanna")
    first = client.get("/report").get_data(as_text=True)
    other = app.test_client()
    second = other.get("/report").get_data(as_text=True)
    with app.app_context():
        assert blank_pages.kept_count() == 1
    # Each visitor has tokens of their own, and nothing else differs.
    assert _tokens(first)[0] != _tokens(second)[0]
    assert _tokens(first)[1] != _tokens(second)[1]
    blanked = [p.replace(_tokens(p)[0], "C").replace(_tokens(p)[1], "F") for p in (first, second)]
    assert blanked[0] == blanked[1]
    assert blank_pages.CSRF_MARK not in first + second
    assert blank_pages.FORM_TOKEN_MARK not in first + second

    # The kept page's tokens are the visitor's own: the report is filed with them.
    csrf, token = _tokens(second)
    filed = other.post(
        "/report",
        data={
            "csrf_token": csrf,
            "form_token": token,
            "category": "fraud",
            "tier": "2",
            "anonymity": "anonymous",
            "q_what_happened": "Invoices are paid twice.",
            "website": "",
        },
    )
    assert filed.status_code == 303, filed.get_data(as_text=True)[:2000]
    # Another visitor's CSRF token is not accepted in this session.
    mixed = client.post(
        "/report",
        data={"csrf_token": csrf, "form_token": _tokens(first)[1], "category": "fraud"},
    )
    assert mixed.status_code == 400


def test_the_kept_intake_form_follows_what_it_shows(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    make_handler(db, "hanna")
    assert "Hanna" in client.get("/report").get_data(as_text=True)
    # A new handler (another instance's act, straight into the database) shows at once.
    make_handler(db, "sven")
    assert "Sven" in client.get("/report").get_data(as_text=True)
    # Each language has its page.
    german = client.get("/report?lang=de").get_data(as_text=True)
    assert 'lang="de"' in german and "Meldung" in german
    english = client.get("/report?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english
    # Other query strings are not kept (each would be one more page), yet answer the same.
    for n in range(3):
        assert client.get(f"/report?x={n}").status_code == 200
    with app.app_context():
        assert blank_pages.kept_count() == 4  # hanna; hanna and sven; German; English


def test_a_page_with_a_flashed_message_is_never_a_kept_one(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    make_handler(db, "hanna")
    client.get("/report")
    with client.session_transaction() as state:
        state["_flashes"] = [("info", "Only for this visitor.")]
    page = client.get("/report").get_data(as_text=True)
    assert "Only for this visitor." in page
    assert "Only for this visitor." not in app.test_client().get("/report").get_data(as_text=True)
