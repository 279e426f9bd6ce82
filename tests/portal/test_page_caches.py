"""What the pages cache between requests (sanitised site texts, intake form classes) is seen to
change as soon as an admin's edit reaches the database, from this instance or another."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.models import SiteText
from portal.reporter import forms
from portal.services import sitetext
from portal.web import intake_settings

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
