"""The admin's "Mark as reviewed" on a policy page: last reviewed, next due and "overdue" shown;
the act is a confirmed POST with a CSRF token, recorded in the audit trail."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, PolicyReview
from portal.timeutil import utcnow
from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of


def page(client: FlaskClient, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, html.unescape(response.get_data(as_text=True))


def review_section(body: str) -> str:
    found = re.search(r'<h2 id="review">.*?</dl>', body, flags=re.S)
    assert found
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def test_the_policy_page_shows_the_interval_its_source_and_never_reviewed(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    status, body = page(client, "/admin/policies/seed-membership")
    assert status == 200
    section = review_section(body)
    assert "This policy is reviewed every 12 calendar months." in section
    assert "seeds/002, line 25" in section and "annually" in section
    assert "Never marked as reviewed" in section
    assert "Not counting yet" in section
    assert 'href="/admin/policies/seed-membership/review"' in body
    status, body = page(client, "/admin/policies/eu-directive")
    assert "This policy sets no review interval" in review_section(body)


def test_an_overdue_review_says_so_with_its_date(client: FlaskClient, db: Session) -> None:
    sign_in_as(client, db, make_admin(db))
    # In use since two years ago and never reviewed: due a year ago.
    since = utcnow() - timedelta(days=731)
    db.add(PolicyReview(policy="seed-complaints", counted_from=since))
    db.commit()
    section = review_section(page(client, "/admin/policies/seed-complaints")[1])
    local_day = since.astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    assert f"Never marked as reviewed; in use since {local_day}" in section
    assert "Next review due" in section and "(overdue)" in section


def test_mark_as_reviewed_confirms_then_records_and_moves_the_due_date(
    client: FlaskClient, db: Session
) -> None:
    admin = make_admin(db)
    sign_in_as(client, db, admin)
    db.add(PolicyReview(policy="seed-complaints", counted_from=utcnow() - timedelta(days=731)))
    db.commit()
    status, body = page(client, "/admin/policies/seed-complaints/review")
    assert status == 200
    assert "The policy is recorded as reviewed today, by you, in the audit trail." in body
    assert '<form method="post"' in body and "<script" not in body
    # The GET changed nothing.
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "policy_reviewed")).all() == []
    response = client.post(
        "/admin/policies/seed-complaints/review",
        data={"csrf_token": csrf_of(body), "confirm": "yes"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/policies/seed-complaints")
    status, body = page(client, "/admin/policies/seed-complaints")
    assert "recorded as reviewed today. The next review is due on" in body
    section = review_section(body)
    assert "by Admin" in section and "(overdue)" not in section
    db.expire_all()
    row = db.get(PolicyReview, "seed-complaints")
    assert row is not None and row.reviewed_by_id == admin.id and row.reviewed_at is not None
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "policy_reviewed")).one()
    assert entry.actor_id == admin.id and entry.detail.startswith("seed-complaints; next due ")


def test_a_post_without_csrf_or_without_confirmation_records_nothing(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_admin(db))
    _, body = page(client, "/admin/policies/seed-complaints/review")
    refused = client.post("/admin/policies/seed-complaints/review", data={"confirm": "yes"})
    assert refused.status_code == 400
    bare = client.post("/admin/policies/seed-complaints/review", data={"csrf_token": csrf_of(body)})
    assert bare.status_code == 400
    db.expire_all()
    assert db.get(PolicyReview, "seed-complaints") is None
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "policy_reviewed")).all() == []


def test_only_admins_mark_reviewed_and_unknown_policies_are_not_found(
    client: FlaskClient, db: Session
) -> None:
    sign_in_as(client, db, make_handler(db, "hana"))
    assert client.get("/admin/policies/seed-complaints/review").status_code == 403
    assert client.post("/admin/policies/seed-complaints/review").status_code in (400, 403)
    admin_client = client.application.test_client()
    sign_in_as(admin_client, db, make_admin(db))
    assert admin_client.get("/admin/policies/no-such-policy/review").status_code == 404
    assert db.get(PolicyReview, "seed-complaints") is None
