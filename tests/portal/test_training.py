"""Training records (issue 18): admins define the trainings staff must have and record who
completed which and when; a person whose required training is missing or expired is flagged on
the training page and the accounts list; the policy page can state the requirements in words."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Role, TrainingCompletion, TrainingRequirement, User
from portal.services import training, training_records
from portal.services.errors import InvalidInputError
from tests.factories import NOW, make_admin, make_handler, make_user
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import WebClock, row_counts, staff_client
from tests.security.conftest import web_clock as web_clock  # the fixture, for these tests

COURSE = "Handling whistleblowing reports"
# NOW is 23 November 2026 (Europe/Berlin, the test site's zone, says the same day).
TODAY = date(2026, 11, 23)


def text(response: object) -> str:
    """The page's words, without tags."""
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def actions(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def people(db: Session) -> dict[str, User]:
    return {
        "admin": make_admin(db),
        "hanna": make_handler(db, "hanna"),
        "sven": make_handler(db, "sven", level=2),
    }


@pytest.fixture
def admin(app: Flask, db: Session, people: dict[str, User], web_clock: WebClock) -> FlaskClient:
    return staff_client(app, db, people["admin"])


def require(db: Session, name: str = COURSE, who: str = "handlers:1", months: str = "24") -> int:
    requirement = training.add_requirement(
        db, name=name, who=who, months=months, actor_id=_anyone(db), now=NOW
    )
    return requirement.id


def record(db: Session, user: User, requirement_id: int, day: date) -> TrainingCompletion:
    return training_records.record_completion(
        db,
        user,
        requirement_id=requirement_id,
        completed_on=day,
        note="",
        today=TODAY,
        actor_id=_anyone(db),
        now=NOW,
    )


def _anyone(db: Session) -> int:
    """An account to act as (the audit trail names a real one)."""
    actor = db.scalar(select(User.id).order_by(User.id))
    assert actor is not None
    return actor


def test_empty_state_says_what_to_do_and_offers_the_usual_course(
    admin: FlaskClient, db: Session
) -> None:
    page = admin.get("/admin/training")
    assert page.status_code == 200
    body = text(page)
    assert "No training is required yet" in body
    assert "Add a requirement below" in body
    assert f'value="{COURSE}"' in page.get_data(as_text=True)
    assert "Missing:" not in body
    # Nothing is required until the admin saves it.
    assert db.scalars(select(TrainingRequirement)).all() == []
    assert "Missing:" not in text(admin.get("/admin/users"))


def test_requirements_are_added_edited_and_retired_with_confirmation_and_audit(
    admin: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    token = csrf_of(admin.get("/admin/training").get_data(as_text=True))
    added = admin.post(
        "/admin/training/requirements/new",
        data={"csrf_token": token, "name": COURSE, "who": "handlers:1", "months": "24"},
    )
    assert added.status_code == 302
    (requirement,) = db.scalars(select(TrainingRequirement)).all()
    assert (requirement.name, requirement.audience, requirement.valid_months) == (
        COURSE,
        "handlers",
        24,
    )
    page = text(admin.get("/admin/training"))
    assert "All handlers" in page and "Valid for 24 months" in page
    assert f"Missing: {COURSE}" in page

    edit_url = f"/admin/training/requirements/{requirement.id}"
    assert f'value="{COURSE}"' in admin.get(edit_url).get_data(as_text=True)
    edited = admin.post(
        edit_url,
        data={"csrf_token": token, "name": "Investigations", "who": "handlers:2", "months": ""},
    )
    assert edited.status_code == 302
    db.expire_all()
    assert (requirement.name, requirement.min_level, requirement.valid_months) == (
        "Investigations",
        2,
        None,
    )
    page = text(admin.get("/admin/training"))
    assert "Handlers at escalation level 2 or above" in page and "Never expires" in page
    assert "Missing: Investigations" in page

    retire_url = f"/admin/training/requirements/{requirement.id}/retire"
    confirm = admin.get(retire_url)
    assert confirm.status_code == 200
    assert "Retire “Investigations”?" in text(confirm)
    assert "(1 account now)" in text(confirm)  # sven alone is at level 2
    # A POST without the confirmation page's field retires nothing.
    refused = admin.post(retire_url, data={"csrf_token": token})
    assert refused.status_code == 400
    db.expire_all()
    assert requirement.retired_at is None
    retired = admin.post(retire_url, data={"csrf_token": token, "confirm": "yes"})
    assert retired.status_code == 302
    db.expire_all()
    assert requirement.retired_at == NOW
    page = text(admin.get("/admin/training"))
    assert "Retired requirements" in page and "Investigations (retired on 23 November 2026)" in page
    assert "Missing:" not in page
    # A retired requirement is not edited again, nor retired twice.
    assert (
        admin.post(edit_url, data={"csrf_token": token, "name": "X", "who": "staff"}).status_code
        == 400
    )
    assert admin.post(retire_url, data={"csrf_token": token, "confirm": "yes"}).status_code == 400
    assert actions(db)[-3:] == [
        "training_requirement_added",
        "training_requirement_changed",
        "training_requirement_retired",
    ]
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith("training_requirement"))
    ).all()
    assert {e.actor_id for e in entries} == {people["admin"].id}
    assert "'Handling whistleblowing reports', handlers:1, 24 months" in entries[1].detail
    assert "-> 'Investigations', handlers:2, forever" in entries[1].detail


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "  ", "who": "handlers:1", "months": "24"}, "Name of the training"),
        ({"name": COURSE, "who": "everyone", "months": "24"}, "Who must have it"),
        ({"name": COURSE, "who": "handlers:1", "months": "two years"}, "whole number of months"),
        ({"name": COURSE, "who": "handlers:1", "months": "0"}, "whole number of months"),
        ({"name": COURSE, "who": "handlers:1", "months": "601"}, "whole number of months"),
        ({"name": "x" * 201, "who": "handlers:1", "months": ""}, "Name of the training"),
    ],
)
def test_a_bad_requirement_is_refused_with_a_clear_message_and_keeps_what_was_typed(
    admin: FlaskClient, db: Session, fields: dict[str, str], message: str
) -> None:
    token = csrf_of(admin.get("/admin/training").get_data(as_text=True))
    before = row_counts(db)
    response = admin.post("/admin/training/requirements/new", data={"csrf_token": token, **fields})
    assert response.status_code == 400
    assert "Nothing was saved yet" in text(response) and message in text(response)
    if fields["months"]:
        assert f'value="{fields["months"]}"' in response.get_data(as_text=True)
    assert row_counts(db) == before


def test_two_active_requirements_cannot_share_a_name(admin: FlaskClient, db: Session) -> None:
    require(db)
    token = csrf_of(admin.get("/admin/training").get_data(as_text=True))
    response = admin.post(
        "/admin/training/requirements/new",
        data={"csrf_token": token, "name": f" {COURSE} ", "who": "admins", "months": ""},
    )
    assert response.status_code == 400
    assert "another requirement already has this name" in text(response)
    assert len(training.list_requirements(db)) == 1


def test_completions_are_recorded_corrected_and_removed_with_confirmation_and_audit(
    admin: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    course = require(db)
    hanna = people["hanna"]
    url = f"/admin/training/people/{hanna.id}"
    page = admin.get(url)
    assert page.status_code == 200
    assert f"Missing: {COURSE}" in text(page)
    assert 'value="2026-11-23"' in page.get_data(as_text=True)  # today, in the site's zone
    token = csrf_of(page.get_data(as_text=True))
    recorded = admin.post(
        url,
        data={
            "csrf_token": token,
            "requirement_id": str(course),
            "completed_on": "2026-03-03",
            "note": "Certificate 42",
        },
    )
    assert recorded.status_code == 302
    (completion,) = db.scalars(select(TrainingCompletion)).all()
    assert (completion.user_id, completion.completed_on, completion.note) == (
        hanna.id,
        date(2026, 3, 3),
        "Certificate 42",
    )
    assert completion.recorded_by_id == people["admin"].id
    body = text(admin.get(url))
    assert "Missing:" not in body
    assert "Completed on 3 March 2026; expires on 3 March 2028" in body
    assert "Certificate 42" in body

    correct_url = f"/admin/training/completions/{completion.id}"
    assert 'value="2026-03-03"' in admin.get(correct_url).get_data(as_text=True)
    corrected = admin.post(
        correct_url,
        data={
            "csrf_token": token,
            "requirement_id": str(course),
            "completed_on": "2024-03-03",
            "note": "",
        },
    )
    assert corrected.status_code == 302
    db.expire_all()
    assert completion.completed_on == date(2024, 3, 3) and completion.note == ""
    assert f"Expired on 3 March 2026: {COURSE}" in text(admin.get(url))

    remove_url = f"/admin/training/completions/{completion.id}/remove"
    confirm = admin.get(remove_url)
    assert confirm.status_code == 200
    assert f"Hanna completed “{COURSE}” on 3 March 2024." in text(confirm)
    assert admin.post(remove_url, data={"csrf_token": token}).status_code == 400
    assert db.get(TrainingCompletion, completion.id) is not None
    removed = admin.post(remove_url, data={"csrf_token": token, "confirm": "yes"})
    assert removed.status_code == 302
    db.expire_all()
    assert db.scalars(select(TrainingCompletion)).all() == []
    assert f"Missing: {COURSE}" in text(admin.get(url))
    assert admin.get(correct_url).status_code == 404
    trail = db.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action.in_(["training_recorded", "training_corrected", "training_removed"])
        )
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in trail] == [
        "training_recorded",
        "training_corrected",
        "training_removed",
    ]
    assert {e.subject_id for e in trail} == {hanna.id}
    assert {e.actor_id for e in trail} == {people["admin"].id}
    assert "on 2026-03-03 -> " in trail[1].detail and trail[1].detail.endswith("on 2024-03-03")
    assert "Certificate" not in " ".join(e.detail for e in trail)  # the note is not copied


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"completed_on": "2026-11-24"}, "cannot be in the future"),
        ({"completed_on": "3 March"}, "Completed on"),
        ({"completed_on": ""}, "Completed on"),
        ({"requirement_id": "999"}, "Training"),
        ({"requirement_id": "1' OR 1=1"}, "Training"),
        ({"note": "n" * 501}, "Note"),
    ],
)
def test_a_bad_completion_is_refused_with_a_clear_message(
    admin: FlaskClient,
    db: Session,
    people: dict[str, User],
    fields: dict[str, str],
    message: str,
) -> None:
    course = require(db)
    url = f"/admin/training/people/{people['hanna'].id}"
    token = csrf_of(admin.get(url).get_data(as_text=True))
    before = row_counts(db)
    data = {"requirement_id": str(course), "completed_on": "2026-11-01", "note": "kept"}
    response = admin.post(url, data={"csrf_token": token, **data, **fields})
    assert response.status_code == 400
    assert "Nothing was saved yet" in text(response) and message in text(response)
    assert row_counts(db) == before


def test_a_retired_requirement_is_not_offered_for_new_records(
    admin: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    old = require(db, "Old course")
    require(db)
    training.retire_requirement(db, db.get(TrainingRequirement, old), actor_id=_anyone(db), now=NOW)  # type: ignore[arg-type]
    url = f"/admin/training/people/{people['hanna'].id}"
    page = admin.get(url).get_data(as_text=True)
    assert "Old course" not in page
    token = csrf_of(page)
    response = admin.post(
        url, data={"csrf_token": token, "requirement_id": str(old), "completed_on": "2026-11-01"}
    )
    assert response.status_code == 400
    assert db.scalars(select(TrainingCompletion)).all() == []


def test_gaps_missing_expired_and_fresh(
    admin: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    course = require(db)
    ida = make_handler(db, "ida")
    # Hanna has none; Sven completed it 25 months ago (valid 24); Ida this month.
    record(db, people["sven"], course, date(2024, 10, 23))
    record(db, ida, course, date(2026, 11, 2))
    gaps = training_records.gaps_by_user(db, TODAY)
    assert [g.expired_on for g in gaps[people["hanna"].id]] == [None]
    assert [g.expired_on for g in gaps[people["sven"].id]] == [date(2026, 10, 23)]
    assert ida.id not in gaps and people["admin"].id not in gaps

    for page in (text(admin.get("/admin/training")), text(admin.get("/admin/users"))):
        assert page.count(f"Missing: {COURSE}") == 1
        assert page.count(f"Expired on 23 October 2026: {COURSE}") == 1
    training_page = admin.get("/admin/training").get_data(as_text=True)
    gaps_section = training_page.split('id="gaps"')[1].split('id="requirements"')[0]
    assert "Hanna" in gaps_section and "Sven" in gaps_section and "Ida" not in gaps_section
    assert "Completed on 2 November 2026; expires on 2 November 2028" in text(
        admin.get("/admin/training")
    )
    # A later completion supersedes the expired one.
    record(db, people["sven"], course, date(2026, 11, 20))
    assert people["sven"].id not in training_records.gaps_by_user(db, TODAY)


def test_the_day_it_expires_it_is_flagged_and_not_the_day_before(db: Session) -> None:
    hanna = make_handler(db, "hanna")
    course = require(db)
    record(db, hanna, course, date(2024, 11, 23))
    assert hanna.id not in training_records.gaps_by_user(db, date(2026, 11, 22))
    (gap,) = training_records.gaps_by_user(db, date(2026, 11, 23))[hanna.id]
    assert gap.expired_on == date(2026, 11, 23)


def test_a_retired_requirement_flags_nobody(
    admin: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    course = require(db)
    assert training_records.gaps_by_user(db, TODAY)
    requirement = db.get(TrainingRequirement, course)
    assert requirement is not None
    training.retire_requirement(db, requirement, actor_id=_anyone(db), now=NOW)
    assert training_records.gaps_by_user(db, TODAY) == {}
    assert "Missing:" not in text(admin.get("/admin/users"))
    assert "Missing:" not in text(admin.get("/admin/training"))
    assert training.requirements_summary(db) == []


def test_audiences_decide_who_is_flagged(db: Session, people: dict[str, User]) -> None:
    custodian = make_user(db, "clara", role=Role.CUSTODIAN)
    boss = make_admin(db, "boss", also_handler=True)
    require(db, "Supervision", who="handlers:2", months="")
    require(db, "Identity handling", who="custodians", months="12")
    require(db, "Site administration", who="admins", months="")
    gaps = {
        user_id: sorted(g.requirement.name for g in found)
        for user_id, found in training_records.gaps_by_user(db, TODAY).items()
    }
    assert gaps == {
        people["sven"].id: ["Supervision"],
        custodian.id: ["Identity handling"],
        people["admin"].id: ["Site administration"],
        boss.id: ["Site administration"],  # a level 1 handler: supervision is not required
    }
    # A deactivated account is never flagged.
    people["sven"].active = False
    db.commit()
    assert people["sven"].id not in training_records.gaps_by_user(db, TODAY)


def test_requirements_summary_states_the_requirement_in_words(
    app: Flask, db: Session, people: dict[str, User]
) -> None:
    require(db)
    require(db, "Identity handling", who="custodians", months="1")
    require(db, "Induction", who="staff", months="")
    # By name; in the page's language (here the site's default, English).
    with app.test_request_context("/policy"):
        assert training.requirements_summary(db) == [
            f"All handlers complete “{COURSE}”, and again every 24 months.",
            "Custodians complete “Identity handling”, and again every month.",
            "All staff complete “Induction” once.",
        ]


def test_expiry_is_counted_in_calendar_months() -> None:
    assert training.expires_on(date(2024, 3, 3), 24) == date(2026, 3, 3)
    assert training.expires_on(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert training.expires_on(date(2023, 2, 28), 12) == date(2024, 2, 28)
    assert training.expires_on(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert training.expires_on(date(2026, 3, 3), None) is None


def test_the_service_refuses_a_day_in_the_future(db: Session) -> None:
    hanna = make_handler(db, "hanna")
    course = require(db)
    with pytest.raises(InvalidInputError):
        record(db, hanna, course, date(2026, 11, 24))
    db.rollback()
    assert db.scalars(select(TrainingCompletion)).all() == []


def test_only_admins_reach_the_training_pages(
    app: Flask, db: Session, people: dict[str, User], web_clock: WebClock
) -> None:
    course = require(db)
    completion = record(db, people["sven"], course, date(2026, 11, 1))
    handler = staff_client(app, db, people["hanna"])
    token = csrf_of(handler.get("/staff/account").get_data(as_text=True))
    paths = [
        "/admin/training",
        "/admin/training/requirements/new",
        f"/admin/training/requirements/{course}",
        f"/admin/training/requirements/{course}/retire",
        f"/admin/training/people/{people['sven'].id}",
        f"/admin/training/completions/{completion.id}",
        f"/admin/training/completions/{completion.id}/remove",
    ]
    before = row_counts(db)
    for path in paths:
        assert handler.get(path).status_code in (403, 404), path
        if path == "/admin/training":
            continue  # a page to read only
        posted = handler.post(
            path,
            data={
                "csrf_token": token,
                "confirm": "yes",
                "name": "Forged",
                "who": "staff",
                "requirement_id": str(course),
                "completed_on": "2026-11-01",
            },
        )
        assert posted.status_code in (403, 404), path
    assert row_counts(db) == before
    signed_out = app.test_client()
    for path in paths:
        response = signed_out.get(path)
        assert response.status_code == 302 and "/staff/sign-in" in (response.location or "")


def test_unknown_ids_get_404(admin: FlaskClient, people: dict[str, User]) -> None:
    assert admin.get("/admin/training/requirements/999").status_code == 404
    assert admin.get("/admin/training/completions/999").status_code == 404
    assert admin.get("/admin/training/completions/999/remove").status_code == 404
    assert admin.get("/admin/training/people/999").status_code == 404


def test_names_and_notes_are_shown_escaped(
    admin: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    evil = '<script>alert("x")</script>'
    course = require(db, evil)
    training_records.record_completion(
        db,
        people["sven"],
        requirement_id=course,
        completed_on=date(2026, 11, 1),
        note=evil,
        today=TODAY,
        actor_id=people["admin"].id,
        now=NOW,
    )
    for path in (
        "/admin/training",
        "/admin/users",
        f"/admin/training/people/{people['sven'].id}",
        f"/admin/training/people/{people['hanna'].id}",
    ):
        page = admin.get(path).get_data(as_text=True)
        assert "<script>" not in page, path
        assert "&lt;script&gt;" in page, path


def test_a_bad_correction_changes_nothing(
    admin: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    course = require(db)
    completion = record(db, people["hanna"], course, date(2026, 3, 3))
    url = f"/admin/training/completions/{completion.id}"
    token = csrf_of(admin.get(url).get_data(as_text=True))
    before = row_counts(db)
    response = admin.post(
        url,
        data={
            "csrf_token": token,
            "requirement_id": str(course),
            "completed_on": "2027-01-01",
            "note": "changed",
        },
    )
    assert response.status_code == 400
    assert "cannot be in the future" in text(response)
    assert 'value="changed"' in response.get_data(as_text=True)  # what was typed stays
    db.expire_all()
    assert (completion.completed_on, completion.note) == (date(2026, 3, 3), "")
    assert row_counts(db) == before
