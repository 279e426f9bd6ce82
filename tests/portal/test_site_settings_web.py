from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, User
from portal.services import site_settings
from portal.timeutil import utcnow
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_admin import audit_actions, csrf_of, file_report, post_form

CATEGORIES = "/admin/site/categories"
QUESTIONS = "/admin/site/questions"
GROUPS = "/admin/site/groups"
LOOK = "/admin/site/look"


@pytest.fixture
def admin(client: FlaskClient, db: Session) -> User:
    user = make_admin(db)
    sign_in_as(client, db, user)
    return user


@pytest.fixture
def hanna(db: Session) -> User:
    return make_handler(db, "hanna")


def category_rows(**extra: str) -> dict[str, object]:
    return {
        "key": ["fraud", "safety"],
        "label-fraud": "Fraud and bribery",
        "position-fraud": "2",
        "label-safety": "Safety",
        "position-safety": "1",
        **extra,
    }


def report_form(client: FlaskClient) -> str:
    return client.get("/report").get_data(as_text=True)


def image_bytes(fmt: str, size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, format=fmt)
    return out.getvalue()


def test_categories_are_renamed_reordered_added_and_audited(
    client: FlaskClient, app: Flask, db: Session, admin: User, hanna: User
) -> None:
    status, _, location = post_form(
        client, CATEGORIES, **category_rows(new_key="privacy", new_label="Data protection")
    )
    assert (status, location) == (302, CATEGORIES)
    form = report_form(app.test_client())
    assert form.index("Safety") < form.index("Fraud and bribery") < form.index("Data protection")
    assert "site_categories_changed" in audit_actions(db)
    # The inbox filter offers the new labels too.
    handler = app.test_client()
    sign_in_as(handler, db, hanna)
    assert "Data protection" in handler.get("/staff/inbox").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"label-fraud": "  "}, "needs a label"),
        ({"new_key": "safety", "new_label": "Again"}, "Two categories have the key"),
        ({"new_key": "Bad Key", "new_label": "Bad"}, "lower-case letters"),
    ],
)
def test_a_bad_category_table_is_refused_and_kept_as_typed(
    client: FlaskClient, admin: User, fields: dict[str, str], problem: str
) -> None:
    status, page, _ = post_form(client, CATEGORIES, **category_rows(**fields))
    assert status == 400
    assert problem in page
    assert 'value="2"' in page  # the admin's positions come back as typed
    assert "Fraud and bribery" in page or "label-fraud" in page
    assert "site_categories_changed" not in page


def test_a_category_with_cases_is_retired_and_its_old_case_keeps_its_label(
    client: FlaskClient, app: Flask, db: Session, admin: User, hanna: User
) -> None:
    file_report(app)
    page = client.get(f"{CATEGORIES}/fraud/remove").get_data(as_text=True)
    assert "retired rather than deleted" in page
    # A bare POST without the confirmation field removes nothing.
    bare = client.post(f"{CATEGORIES}/fraud/remove", data={"csrf_token": csrf_of(page)})
    assert bare.status_code == 400
    status, _, _ = post_form(client, f"{CATEGORIES}/fraud/remove", confirm="yes")
    assert status == 302
    assert "Fraud" not in report_form(app.test_client())
    intake = site_settings.intake_settings(db, app.extensions["candor.config"])
    assert [c.key for c in intake.retired] == ["fraud"]
    assert intake.category("fraud") is not None
    case = db.scalars(select(Case)).one()
    handler = app.test_client()
    sign_in_as(handler, db, hanna)
    case_page = handler.get(f"/staff/cases/{case.uid}").get_data(as_text=True)
    assert "Report (Fraud)" in case_page
    assert "Fraud" in handler.get("/staff/inbox").get_data(as_text=True)
    listed = client.get(CATEGORIES).get_data(as_text=True)
    assert "Retired categories" in listed
    # A reporter cannot file into a retired category, even by a crafted form.
    reporter = app.test_client()
    page = reporter.get("/report").get_data(as_text=True)
    form_token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert form_token
    refused = reporter.post(
        "/report",
        data={
            "csrf_token": csrf_of(page),
            "form_token": form_token.group(1),
            "category": "fraud",
            "tier": "3",
            "anonymity": "anonymous",
            "q_what_happened": "Again.",
            "website": "",
        },
    )
    assert refused.status_code == 400
    assert len(db.scalars(select(Case)).all()) == 1
    # Restoring the configuration's categories offers "fraud" again (the configuration lists it).
    post_form(client, f"{CATEGORIES}/restore", confirm="yes")
    assert "Fraud" in report_form(app.test_client())


def test_restoring_keeps_a_retired_category_the_configuration_does_not_list(
    app: Flask, db: Session, hanna: User
) -> None:
    config = app.extensions["candor.config"]
    admin = make_admin(db)
    site_settings.save_categories(
        db, config, [("fraud", "Fraud"), ("bribery", "Bribery")], actor_id=admin.id, now=utcnow()
    )
    file_report(app, category="bribery")
    site_settings.restore_defaults(db, config, "categories", actor_id=admin.id, now=utcnow())
    intake = site_settings.intake_settings(db, config)
    assert [c.key for c in intake.categories] == ["fraud", "safety"]
    assert [(c.key, c.label) for c in intake.retired] == [("bribery", "Bribery")]


def test_questions_change_the_report_form(
    client: FlaskClient, app: Flask, db: Session, admin: User, hanna: User
) -> None:
    status, _, _ = post_form(
        client,
        QUESTIONS,
        key=["what_happened", "when_where"],
        **{
            "label-what_happened": "What did you see?",
            "help-what_happened": "Say who, what and when.",
            "required-what_happened": "1",
            "multiline-what_happened": "1",
            "position-what_happened": "1",
            "label-when_where": "Where?",
            "position-when_where": "2",
        },
        new_key="evidence",
        new_label="What evidence exists?",
        new_help="Documents, e-mails, witnesses.",
        new_required="1",
    )
    assert status == 302
    form = report_form(app.test_client())
    assert "What did you see?" in form
    assert "Say who, what and when." in form
    assert "What evidence exists?" in form
    assert 'name="q_evidence"' in form
    assert "site_questions_changed" in audit_actions(db)
    # Removing a question needs a confirmation and leaves the form without it.
    assert "keep their answers" in client.get(f"{QUESTIONS}/evidence/remove").get_data(as_text=True)
    post_form(client, f"{QUESTIONS}/evidence/remove", confirm="yes")
    assert 'name="q_evidence"' not in report_form(app.test_client())


def test_a_question_without_a_label_is_refused(client: FlaskClient, admin: User) -> None:
    status, page, _ = post_form(
        client,
        QUESTIONS,
        key=["what_happened"],
        **{"label-what_happened": "", "required-what_happened": "1"},
        new_key="extra",
        new_label="Anything else?",
    )
    assert status == 400
    assert "needs a label" in page
    assert 'value="Anything else?"' in page


def test_groups_are_edited_and_restored(
    client: FlaskClient, app: Flask, db: Session, admin: User, hanna: User
) -> None:
    status, _, _ = post_form(
        client,
        GROUPS,
        key=["employee"],
        **{"label-employee": "Member of staff", "position-employee": "1"},
        new_key="contractor",
        new_label="Contractor",
    )
    assert status == 302
    form = report_form(app.test_client())
    assert "Member of staff" in form and "Contractor" in form and "Vendor or supplier" not in form
    post_form(client, f"{GROUPS}/restore", confirm="yes")
    form = report_form(app.test_client())
    assert "Vendor or supplier" in form and "Contractor" not in form
    assert "site_settings_restored" in audit_actions(db)


def test_the_name_and_colours_are_saved_and_served_as_css(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    status, _, _ = post_form(
        client, LOOK, name="Acme Speak Up", accent="#0B3D2E", on_accent="#FFFFFF"
    )
    assert status == 302
    landing = app.test_client().get("/").get_data(as_text=True)
    assert "Acme Speak Up" in landing
    assert "/site.css?v=" in landing
    css = app.test_client().get("/site.css")
    assert css.mimetype == "text/css"
    assert "--accent: #0b3d2e; --on-accent: #ffffff;" in css.get_data(as_text=True)
    assert "site_look_changed" in audit_actions(db)
    post_form(client, f"{LOOK}/restore", confirm="yes")
    assert "Test Organisation" in app.test_client().get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("accent", "on_accent", "problem"),
    [
        ("#12345", "#ffffff", "is not a colour"),
        ("red; } body { x", "#ffffff", "is not a colour"),
        ("#777777", "#888888", "too hard to read"),
    ],
)
def test_bad_colours_are_refused_and_kept_as_typed(
    client: FlaskClient, admin: User, accent: str, on_accent: str, problem: str
) -> None:
    status, page, _ = post_form(client, LOOK, name="Acme", accent=accent, on_accent=on_accent)
    assert status == 400
    assert problem in page
    assert 'value="Acme"' in page


def test_contrast_ratio_follows_wcag() -> None:
    assert site_settings.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert site_settings.contrast_ratio("#1f5f8b", "#ffffff") > 4.5


def post_logo(client: FlaskClient, data: bytes, name: str = "logo.png") -> tuple[int, str]:
    token = csrf_of(client.get(LOOK).get_data(as_text=True))
    response = client.post(
        "/admin/site/logo",
        data={"csrf_token": token, "logo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    return response.status_code, response.get_data(as_text=True)


def test_a_logo_is_re_encoded_as_png_and_served_strictly(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    jpeg = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    Image.new("RGB", (1200, 300), (0, 0, 255)).save(jpeg, format="JPEG", exif=exif)
    status, _ = post_logo(client, jpeg.getvalue(), "photo.jpg")
    assert status == 302
    response = app.test_client().get("/site-logo.png")
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_data()
    assert b"secret description" not in body
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"
        assert image.size == (600, 150)
    assert "site-logo.png" in app.test_client().get("/").get_data(as_text=True)
    assert "site_logo_changed" in audit_actions(db)
    post_form(client, "/admin/site/logo/restore", confirm="yes")
    assert app.test_client().get("/site-logo.png").status_code == 404


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', "PNG, JPEG"),
        (image_bytes("GIF"), "PNG, JPEG"),
        (image_bytes("PNG") + b"\0" * site_settings.MAX_LOGO_BYTES, "larger than"),
    ],
)
def test_a_wrong_or_oversize_logo_is_refused(
    client: FlaskClient, app: Flask, admin: User, data: bytes, problem: str
) -> None:
    status, page = post_logo(client, data)
    assert status == 400
    assert problem in page
    assert app.test_client().get("/site-logo.png").status_code == 404


def test_only_admins_reach_the_settings(client: FlaskClient, db: Session) -> None:
    for path in (CATEGORIES, QUESTIONS, GROUPS, LOOK, f"{CATEGORIES}/restore"):
        assert client.get(path).status_code in (302, 303)
    handler = make_handler(db, "hanna")
    sign_in_as(client, db, handler)
    for path in (CATEGORIES, QUESTIONS, GROUPS, LOOK, f"{CATEGORIES}/fraud/remove"):
        assert client.get(path).status_code == 403


def test_a_post_without_csrf_is_refused(
    client: FlaskClient, app: Flask, db: Session, admin: User
) -> None:
    look = {"name": "Forged", "accent": "#000000", "on_accent": "#ffffff"}
    assert client.post(LOOK, data=look).status_code == 400
    assert client.post(f"{CATEGORIES}/fraud/remove", data={"confirm": "yes"}).status_code == 400
    settings = site_settings.current(db, app.extensions["candor.config"])
    assert settings.look.name == "Test Organisation"
    assert [c.key for c in settings.intake.categories] == ["fraud", "safety"]


def test_the_cache_sees_a_change_made_elsewhere(app: Flask, db: Session) -> None:
    config = app.extensions["candor.config"]
    admin = make_admin(db)
    assert site_settings.site_look(db, config).name == "Test Organisation"
    # Another instance's save: this process learns of it from the newest updated_at alone.
    site_settings.save_look(db, "Elsewhere", "#000000", "#ffffff", actor_id=admin.id, now=utcnow())
    assert site_settings.site_look(db, config).name == "Elsewhere"
