"""The admin's pages for a policy of the organisation's own: create it from a preset, edit its
clocks in a form or its whole text (no script), read its history, choose it for a category; and
the handler's case page naming the version each deadline runs under."""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, Deadline, PolicyVersion
from portal.services.clock import versions
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report


def page(client: FlaskClient, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, html.unescape(response.get_data(as_text=True))


def create(client: FlaskClient, name: str = "acme-reports", preset: str = "eu-directive") -> Any:
    _, body = page(client, "/admin/policies/new")
    return client.post(
        "/admin/policies/new",
        data={
            "csrf_token": csrf_of(body),
            "preset": preset,
            "name": name,
            "title": "Reports at Acme",
        },
    )


def clock_fields(body: str) -> dict[str, Any]:
    """The edit form's clock fields as the browser would send them back unchanged."""
    fields: dict[str, Any] = {}
    for name, value in re.findall(r'<input[^>]*name="(clocks-[^"]+)"[^>]*value="([^"]*)"', body):
        if not name.endswith("at_expiry"):
            fields[name] = html.unescape(value)
    for name, value in re.findall(
        r'<input[^>]*checked[^>]*name="(clocks-\d+-at_expiry)"[^>]*value="([^"]*)"', body
    ) + re.findall(
        r'<input[^>]*name="(clocks-\d+-at_expiry)"[^>]*value="([^"]*)"[^>]*checked', body
    ):
        fields.setdefault(name, []).append(value)
    for name, value in re.findall(
        r'<select[^>]*name="(clocks-\d+-unit)".*?<option selected value="([^"]*)"', body, re.S
    ):
        fields[name] = value
    return fields


def edit_clocks(client: FlaskClient, changes: dict[str, Any], note: str = "Shorter.") -> Any:
    status, body = page(client, "/admin/policies/acme-reports/edit")
    assert status == 200
    data = {
        "csrf_token": csrf_of(body),
        "edited_version": re.search(r'name="edited_version"[^>]*value="(\d+)"', body)[1],  # type: ignore[index]
        **clock_fields(body),
        "note": note,
        **changes,
    }
    return client.post("/admin/policies/acme-reports/edit", data=data)


def test_an_admin_creates_a_policy_from_a_preset_and_it_is_listed(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    status, body = page(client, "/admin/policies/new?preset=seed-complaints")
    assert status == 200 and "<script" not in body
    assert re.search(r'<option selected value="seed-complaints">', body)
    response = create(client)
    assert response.status_code == 302
    assert response.location.endswith("/admin/policies/acme-reports")
    status, body = page(client, "/admin/policies/acme-reports")
    assert status == 200
    assert "Reports at Acme" in body and "acme-reports, version 1" in body
    assert "due: acknowledge the report" in body  # the preview runs on the version shown
    status, body = page(client, "/admin/policies")
    assert 'href="/admin/policies/acme-reports"' in body and "version 1" in body
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "policy_created"))
    assert entry.detail == "acme-reports@1 (from eu-directive)"
    # A preset page offers to make a policy from it, and stays read-only.
    status, body = page(client, "/admin/policies/eu-directive")
    assert (
        "eu-directive (as shipped)" in body
        and 'href="/admin/policies/new?preset=eu-directive"' in body
    )
    assert page(client, "/admin/policies/eu-directive/edit")[0] == 404


def test_a_name_taken_or_badly_written_is_refused_with_the_input_kept(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    create(client)
    response = create(client)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "A policy with this name exists already" in body
    assert 'value="Reports at Acme"' in body
    response = create(client, name="Acme Reports!")
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and "lower-case letters, digits and dashes" in body
    assert 'value="Acme Reports!"' in body
    assert db.scalar(select(PolicyVersion.name).where(PolicyVersion.name != "acme-reports")) is None


def test_editing_the_clocks_makes_version_2_with_history_and_diff(
    client: FlaskClient, db: Session
) -> None:
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    create(client)
    response = edit_clocks(
        client, {"clocks-0-duration": "3", "clocks-0-warn_before": "1 calendar_days"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    policy = versions.resolve_policy(db, "acme-reports")
    assert policy.name == "acme-reports@2"
    ack = policy.clock("acknowledge")
    assert str(ack.duration) == "3 calendar days" and [str(w) for w in ack.warn_before] == [
        "1 calendar day"
    ]
    # The other clock is as it was.
    assert policy.clock("feedback") == versions.resolve_policy(db, "acme-reports@1").clock(
        "feedback"
    )
    status, body = page(client, "/admin/policies/acme-reports/history")
    assert status == 200
    assert (
        "version 2" in body
        and "Shorter." in body
        and "Created from the preset eu-directive." in body
    )
    assert admin.display_name in body
    assert "<del>-duration = 7</del>" in body and "<ins>+duration = 3</ins>" in body
    status, body = page(client, "/admin/policies/acme-reports/history?version=1")
    assert "What version 1 changed from the preset" in body and '+title = "Reports at Acme"' in body
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "policy_edited"))
    assert entry.actor_id == admin.id and entry.detail == "acme-reports@2 (from eu-directive)"
    # The earlier version stays readable, with its own preview.
    status, body = page(
        client, "/admin/policies/acme-reports?version=1&received=2026-12-01T09%3A00&tier=3"
    )
    assert status == 200 and "acme-reports, version 1 (the latest is version 2)" in body
    assert "2026-12-08 09:00" in body
    status, body = page(client, "/admin/policies/acme-reports?received=2026-12-01T09%3A00&tier=3")
    assert "2026-12-04 09:00" in body and "2026-12-08 09:00" not in body


def test_an_invalid_edit_keeps_the_input_and_says_what_is_wrong_beside_the_field(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    create(client)
    response = edit_clocks(
        client,
        {"clocks-0-warn_before": "2 calendar_days, soon", "clocks-1-escalate_every": "weekly"},
    )
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert re.search(
        r'id="clocks-0-warn_before-error" role="alert">\'soon\' is not a duration', body
    )
    assert re.search(r'id="clocks-1-escalate_every-error" role="alert">\'weekly\' is not', body)
    assert 'value="2 calendar_days, soon"' in body and 'value="weekly"' in body
    response = edit_clocks(client, {"clocks-0-duration": "0"})
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and "Give a whole number from 1 to 100000." in body
    # A rule only the whole policy breaks is named beside its clock.
    response = edit_clocks(client, {"clocks-0-at_expiry": ["reporter_notice"]})
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and "reporter_notice: name the site text to send" in body
    response = edit_clocks(client, {}, note=" ")
    assert "Say in a few words what changed." in response.get_data(as_text=True)
    assert versions.latest_version(db, "acme-reports") == 1
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "policy_edited")) is None


def test_the_whole_text_is_edited_as_toml_and_a_mistake_keeps_it(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    create(client)
    _status, body = page(client, "/admin/policies/acme-reports/edit")
    text = versions.get_version(db, "acme-reports").content
    assert text in body  # the textarea holds the text as saved
    broken = text.replace("[[clocks]]", "[[clocks]", 1)
    response = client.post(
        "/admin/policies/acme-reports/edit/text",
        data={"csrf_token": csrf_of(body), "edited_version": "1", "text": broken, "note": "Oops."},
    )
    answer = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert re.search(r'id="text-error" role="alert">This is not valid TOML', answer)
    assert broken in answer
    # A table of its own for the first clock, before the second one starts.
    head, _, rest = text.partition("[[clocks]]")
    first, _, others = rest.partition("[[clocks]]")
    tiered = (
        f'{head}[[clocks]]{first}[clocks.escalate_every_by_tier]\n1 = "1 hours"\n\n'
        f"[[clocks]]{others}"
    )
    response = client.post(
        "/admin/policies/acme-reports/edit/text",
        data={
            "csrf_token": csrf_of(body),
            "edited_version": "1",
            "text": tiered.replace("\n", "\r\n"),
            "note": "Tier 1 climbs every hour.",
        },
    )
    assert response.status_code == 302
    ack = versions.resolve_policy(db, "acme-reports").clock("acknowledge")
    assert str(ack.escalation_step(1)) == "1 hour"
    assert "\r" not in versions.get_version(db, "acme-reports").content


def test_a_custom_policy_is_chosen_for_a_category_and_the_case_page_names_its_version(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    hanna = make_handler(db, "hanna")
    create(client)
    _status, body = page(client, "/admin/categories")
    assert 'value="acme-reports"' in body
    chosen = client.post(
        "/admin/categories",
        data={"csrf_token": csrf_of(body), "category": "fraud", "policies": ["acme-reports"]},
    )
    assert chosen.status_code == 302
    reporter = app.test_client()
    file_report(reporter)
    first = db.scalars(select(Case)).one()
    assert first.policies == ["acme-reports@1"]
    assert edit_clocks(client, {"clocks-0-duration": "3"}).status_code == 302
    file_report(app.test_client())
    second = db.scalars(select(Case).where(Case.id != first.id)).one()
    assert second.policies == ["acme-reports@2"]

    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    _, body = page(staff, f"/staff/cases/{first.uid}")
    assert "acme-reports, version 1" in body and "version 2" not in body
    _, body = page(staff, f"/staff/cases/{second.uid}")
    assert "acme-reports, version 2" in body


def test_only_admins_reach_the_pages_and_every_save_needs_its_token(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    create(client)
    anonymous = client.application.test_client()
    handler = client.application.test_client()
    sign_in_as(handler, db, make_handler(db, "hanna"))
    for other in (anonymous, handler):
        for path in (
            "/admin/policies/new",
            "/admin/policies/acme-reports/edit",
            "/admin/policies/acme-reports/history",
        ):
            assert other.get(path).status_code in (302, 303, 403), path
        for path in (
            "/admin/policies/new",
            "/admin/policies/acme-reports/edit",
            "/admin/policies/acme-reports/edit/text",
        ):
            assert other.post(path, data={"name": "x", "note": "x"}).status_code in (
                302,
                303,
                400,
                403,
            ), path
    # Without the token, nothing is saved.
    response = client.post(
        "/admin/policies/acme-reports/edit/text",
        data={"edited_version": "1", "text": "x", "note": "Forged."},
    )
    assert response.status_code == 400
    response = client.post(
        "/admin/policies/new",
        data={"preset": "eu-directive", "name": "forged", "title": "Forged"},
    )
    assert response.status_code == 400
    assert versions.custom_names(db) == ["acme-reports"]
    assert versions.latest_version(db, "acme-reports") == 1
    assert page(client, "/admin/policies/nobody/history")[0] == 404
    assert page(client, "/admin/policies/acme-reports@1")[0] == 404
    assert page(client, "/admin/policies/acme-reports?version=9")[0] == 404


def test_a_handler_extends_a_deadline_of_a_custom_policy_at_its_version(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    hanna = make_handler(db, "hanna")
    create(client, name="acme-members", preset="seed-membership")
    _, body = page(client, "/admin/categories")
    client.post(
        "/admin/categories",
        data={"csrf_token": csrf_of(body), "category": "fraud", "policies": ["acme-members"]},
    )
    file_report(app.test_client())
    case = db.scalars(select(Case)).one()
    staff = app.test_client()
    sign_in_as(staff, db, hanna)
    url = f"/staff/cases/{case.uid}"
    body = staff.get(url).get_data(as_text=True)
    [action] = re.findall(r'action="([^"]*/investigate/extend)"', body)
    assert action.startswith(f"{url}/deadlines/acme-members")
    extended = staff.post(action, data={"csrf_token": csrf_of(body), "reason": "Witnesses away."})
    assert extended.status_code == 302
    row = db.scalars(select(Deadline).where(Deadline.clock == "investigate")).one()
    assert (row.policy, row.extensions) == ("acme-members@1", 1)


def test_what_an_admin_writes_is_shown_as_text(client: FlaskClient, db: Session) -> None:
    sign_in_as(client, db, make_admin(db))
    _, body = page(client, "/admin/policies/new")
    blank = client.post(
        "/admin/policies/new",
        data={"csrf_token": csrf_of(body), "preset": "eu-directive", "name": "x1", "title": " "},
    )
    assert blank.status_code == 400 and "Give the policy a title." in blank.get_data(as_text=True)
    client.post(
        "/admin/policies/new",
        data={
            "csrf_token": csrf_of(body),
            "preset": "eu-directive",
            "name": "acme-reports",
            "title": "<script>alert(1)</script>",
        },
    )
    edit_clocks(client, {"clocks-0-duration": "5"}, note="<img src=x onerror=alert(1)>")
    for path in ("", "/edit", "/history"):
        raw = client.get(f"/admin/policies/acme-reports{path}").get_data(as_text=True)
        assert "<script>alert" not in raw and "<img src=x" not in raw, path
    raw = client.get("/admin/policies/acme-reports/history").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in raw
