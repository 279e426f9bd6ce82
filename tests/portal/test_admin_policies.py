"""The admin's policy pages: each clock in words with its source, and the timeline preview (a
GET form, no script) showing the same events as the command line."""

from __future__ import annotations

import html
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import make_admin, make_handler, sign_in_as


def page(client: FlaskClient, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, html.unescape(response.get_data(as_text=True))


def rows(body: str) -> list[list[str]]:
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
        if "<td>" in row
    ]


def test_policies_are_listed_and_linked_from_the_admin_navigation(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    status, body = page(client, "/admin/users")
    assert status == 200 and 'href="/admin/policies"' in body
    status, body = page(client, "/admin/policies")
    assert status == 200
    for name in ("eu-directive", "seed-complaints", "seed-membership"):
        assert f'href="/admin/policies/{name}"' in body


def test_a_policy_shows_each_clock_in_words_with_its_source(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    status, body = page(client, "/admin/policies/eu-directive")
    assert status == 200
    assert (
        "Acknowledge the report: within 7 calendar days of receipt; warn 2 calendar days and "
        "1 calendar day before; escalate at once, then every 2 calendar days after"
    ) in body
    assert "Article 9(1)(b)" in body and "within seven days of that receipt" in body
    assert "<script" not in body
    # A first visit previews a report received now.
    assert "due: acknowledge the report" in body


def test_the_preview_form_shows_the_same_events_as_the_command_line(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    status, body = page(
        client,
        "/admin/policies/seed-complaints?received=2026-12-18T16%3A00&tier=1&group=employee",
    )
    assert status == 200
    assert re.search(r'<form method="get"', body)
    cli = app.test_cli_runner().invoke(
        args=[
            "candor",
            "clock",
            "preview",
            "--policy",
            "seed-complaints",
            "--received",
            "2026-12-18 16:00",
            "--tier",
            "1",
            "--group",
            "employee",
        ]
    )
    from_cli = [line.split("  ") for line in cli.stdout.splitlines()]
    labels = {
        "seed-complaints/review": "Review the complaint",
        "seed-complaints/resolve": "Resolve the complaint",
    }
    assert rows(body) == [[at, labels[name], what] for at, name, what in from_cli]
    # Tier 1, an employee: due 15 minutes after receipt, then straight to the executive team.
    assert rows(body)[1] == [
        "2026-12-18 16:15",
        "Review the complaint",
        "escalation to level 3 (the executive team)",
    ]
    assert "from: Employee" in body and "no ladder of its own" not in body
    # The ladders are shown with the seed lines they encode.
    assert "Who is told, step by step" in body
    assert "Employee, at tier 1 or 2:" in body and "If you do not hear back from them" in body


def test_a_group_without_a_ladder_is_said_so(client: FlaskClient, db: Session) -> None:
    sign_in_as(client, db, make_admin(db))
    status, body = page(
        client, "/admin/policies/eu-directive?received=2026-12-18T16%3A00&tier=1&group=vendor"
    )
    assert status == 200
    words = " ".join(body.split())
    assert "At tier 1 this policy gives the group “Vendor or supplier” no ladder" in words
    status, body = page(
        client, "/admin/policies/eu-directive?received=2026-12-18T16%3A00&tier=1&group=boss"
    )
    assert status == 400 and "<table>" not in body


def test_a_bad_time_or_unknown_policy_says_what_to_do(client: FlaskClient, db: Session) -> None:
    sign_in_as(client, db, make_admin(db))
    status, body = page(client, "/admin/policies/eu-directive?received=tomorrow&tier=1")
    assert status == 400
    assert "write it as 2026-12-18 16:00" in body and "<table>" not in body
    assert page(client, "/admin/policies/no-such-policy")[0] == 404


def test_only_admins_see_the_policies(client: FlaskClient, db: Session) -> None:
    assert client.get("/admin/policies").status_code in (302, 303, 401, 403)
    sign_in_as(client, db, make_handler(db, "hanna"))
    assert client.get("/admin/policies/eu-directive").status_code in (302, 303, 403)
