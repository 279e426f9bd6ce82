from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, CaseEvent, CaseKeyGrant, CaseStatus, EventKind, User
from portal.services import casework, inbox
from portal.timeutil import utcnow
from tests.factories import file_bytes, handler_private_key, make_handler, sign_in_as
from tests.portal.test_reporter_web import (
    REPORT_TEXT,
    csrf_of,
    file_report,
    intake_fields,
)


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    return {
        "hanna": make_handler(db, "hanna"),
        "sven": make_handler(db, "sven", level=2),
        "olga": make_handler(db, "olga", categories=("safety",)),
    }


def staff_client(app: Flask, db: Session, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, db, user)
    return client


def case_url(db: Session) -> str:
    case = db.scalars(select(Case)).one()
    return f"/staff/cases/{case.uid}"


def actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_inbox_lists_the_case_with_a_preview_and_filters(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client, tier="1")
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get("/staff/inbox").get_data(as_text=True)
    assert "1 case." in page and REPORT_TEXT[:40] in page
    assert "0 cases." in hanna.get("/staff/inbox?tier=3").get_data(as_text=True)
    assert "1 case." in hanna.get("/staff/inbox?tier=1&status=new").get_data(as_text=True)
    assert "0 cases." in hanna.get("/staff/inbox?mine=1").get_data(as_text=True)
    assert "0 cases." in hanna.get("/staff/inbox?overdue=1").get_data(as_text=True)


def test_inbox_paginates_on_the_server(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    for _ in range(3):
        file_report(client)
    key = handler_private_key(team["hanna"])
    first = inbox.list_cases(
        db, team["hanna"], key, inbox.InboxFilters(), now=utcnow(), page_size=2
    )
    assert (first.total, len(first.rows), first.previous_cursor) == (3, 2, None)
    assert first.next_cursor is not None
    second = inbox.list_cases(
        db,
        team["hanna"],
        key,
        inbox.InboxFilters(),
        now=utcnow(),
        page_size=2,
        cursor=first.next_cursor,
    )
    assert (len(second.rows), second.next_cursor) == (1, None)
    assert second.previous_cursor is not None


def test_excluded_handler_and_other_category_never_see_the_case(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client, excluded=[str(team["hanna"].id)])
    url = case_url(db)
    hanna = staff_client(app, db, team["hanna"])
    olga = staff_client(app, db, team["olga"])  # handles only "safety"; the report is "fraud"
    for other in (hanna, olga):
        assert "0 cases." in other.get("/staff/inbox").get_data(as_text=True)
        assert other.get(url).status_code == 404
        assert other.get(url + "/recuse").status_code == 404
        page = other.get("/staff/inbox").get_data(as_text=True)
        assert (
            other.post(url + "/notes", data={"csrf_token": csrf_of(page), "body": "x"}).status_code
            == 404
        )
    sven = staff_client(app, db, team["sven"])
    assert sven.get(url).status_code == 200
    # Granting to the excluded handler is refused.
    case = db.scalars(select(Case)).one()
    access = casework.open_case(db, team["sven"], handler_private_key(team["sven"]), case.uid)
    with pytest.raises(casework.InvalidInputError):
        casework.grant(db, access, team["hanna"].id, now=utcnow())


def test_case_page_decrypts_and_the_opening_is_audited(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    client.post(
        "/report",
        data=intake_fields(
            client,
            anonymity="confidential",
            name="Rita Reporter",
            contact="rita@example.org",
            attachments=[file_bytes("ledger.csv", b"a;b\n1;2\n")],
        ),
        content_type="multipart/form-data",
    )
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    assert REPORT_TEXT in page and "Rita Reporter" not in page
    assert "Acknowledge the report" in page and "left" in page
    assert "case_opened" in actions(db)
    shown = hanna.post(case_url(db) + "/identity", data={"csrf_token": csrf_of(page)})
    assert "Rita Reporter" in shown.get_data(as_text=True)
    assert "identity_revealed" in actions(db)
    link = re.search(r'href="(/staff/cases/[0-9a-f]+/attachments/[0-9a-f]+)">ledger.csv', page)
    assert link
    download = hanna.get(link.group(1))
    assert download.data == b"a;b\n1;2\n"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "attachment_downloaded" in actions(db)


def test_acknowledge_reply_and_the_reporter_reads_it(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    code, passphrase = file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    sent = hanna.post(
        case_url(db) + "/messages",
        data={
            "csrf_token": csrf_of(page),
            "kind": "acknowledge",
            "body": "We have received your report.",
        },
    )
    assert sent.status_code == 302
    db.expire_all()
    case = db.scalars(select(Case)).one()
    assert case.status is CaseStatus.ACKNOWLEDGED
    kinds = [e.kind for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert EventKind.ACKNOWLEDGED in kinds
    empty = hanna.post(
        case_url(db) + "/messages", data={"csrf_token": csrf_of(page), "kind": "reply", "body": " "}
    )
    assert empty.status_code == 400 and "Write the message" in empty.get_data(as_text=True)

    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    assert "We have received your report." in reporter.get("/case").get_data(as_text=True)


def test_notes_stay_internal(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    code, passphrase = file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    hanna.post(
        case_url(db) + "/notes", data={"csrf_token": csrf_of(page), "body": "Check the depot logs."}
    )
    assert "Check the depot logs." in hanna.get(case_url(db)).get_data(as_text=True)
    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    assert "Check the depot logs." not in reporter.get("/case").get_data(as_text=True)


def test_triage_closing_needs_an_outcome(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    base = {"csrf_token": csrf_of(page), "tier": "1", "category": "safety"}
    refused = hanna.post(case_url(db) + "/update", data={**base, "status": "closed"})
    assert refused.status_code == 400 and "choose its outcome" in refused.get_data(as_text=True)
    done = hanna.post(
        case_url(db) + "/update", data={**base, "status": "closed", "outcome": "withdrawn"}
    )
    assert done.status_code == 302
    db.expire_all()
    case = db.scalars(select(Case)).one()
    assert (case.tier, case.category, case.status, case.outcome) == (
        1,
        "safety",
        CaseStatus.CLOSED,
        "withdrawn",
    )
    assert case.next_due_at is None
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "case_updated")).one()
    assert "status new -> closed" in entry.detail


def test_grant_assign_and_recuse(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    late = make_handler(db, "lena")  # added after the report: holds nothing yet
    lena = staff_client(app, db, late)
    assert lena.get(case_url(db)).status_code == 404
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    refused = hanna.post(
        case_url(db) + "/assign", data={"csrf_token": csrf_of(page), "assignee": str(late.id)}
    )
    assert refused.status_code == 400
    hanna.post(case_url(db) + "/grant", data={"csrf_token": csrf_of(page), "user_id": str(late.id)})
    assert lena.get(case_url(db)).status_code == 200
    assert (
        hanna.post(
            case_url(db) + "/assign", data={"csrf_token": csrf_of(page), "assignee": str(late.id)}
        ).status_code
        == 302
    )
    assert "1 case." in lena.get("/staff/inbox?mine=1").get_data(as_text=True)
    confirm = lena.get(case_url(db) + "/recuse").get_data(as_text=True)
    assert "lose access to this case" in confirm
    lena.post(case_url(db) + "/recuse", data={"csrf_token": csrf_of(confirm)})
    assert lena.get(case_url(db)).status_code == 404
    assert db.scalar(select(CaseKeyGrant).where(CaseKeyGrant.user_id == late.id)) is None
    assert {"access_granted", "case_assigned", "recused"} <= set(actions(db))
    # A recused handler cannot be granted again by the server's say-so.
    page = hanna.get(case_url(db)).get_data(as_text=True)
    again = hanna.post(
        case_url(db) + "/grant", data={"csrf_token": csrf_of(page), "user_id": str(late.id)}
    )
    assert again.status_code == 400


def test_bulk_grant_for_a_new_handler(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    file_report(client, excluded=[str(team["sven"].id)])
    late = make_handler(db, "lena")
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get("/staff/bulk-grant").get_data(as_text=True)
    response = hanna.post(
        "/staff/bulk-grant", data={"csrf_token": csrf_of(page), "user_id": str(late.id)}
    )
    assert response.status_code == 302
    assert len(db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.user_id == late.id)).all()) == 2
    page = hanna.get("/staff/bulk-grant").get_data(as_text=True)
    hanna.post(
        "/staff/bulk-grant", data={"csrf_token": csrf_of(page), "user_id": str(team["sven"].id)}
    )
    # Sven was excluded from the second case: still only the first.
    assert (
        len(db.scalars(select(CaseKeyGrant).where(CaseKeyGrant.user_id == team["sven"].id)).all())
        == 1
    )


def test_tampered_attachment_is_refused_before_any_byte(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("big.bin", b"z" * 200_000)]),
        content_type="multipart/form-data",
    )
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    link = re.search(r'href="(/staff/cases/[0-9a-f]+/attachments/([0-9a-f]+))">big.bin', page)
    assert link
    path = app.extensions["candor.attachments"].path(link.group(2))
    data = bytearray(path.read_bytes())
    data[-5] ^= 1  # in the last chunk: the first chunks would still verify
    path.write_bytes(bytes(data))
    response = hanna.get(link.group(1))
    assert response.status_code == 500
    assert b"z" * 1000 not in response.data


def test_export_is_a_decrypted_download_and_is_audited(
    client: FlaskClient, app: Flask, db: Session, team: dict[str, User]
) -> None:
    file_report(client)
    hanna = staff_client(app, db, team["hanna"])
    page = hanna.get(case_url(db)).get_data(as_text=True)
    hanna.post(
        case_url(db) + "/notes", data={"csrf_token": csrf_of(page), "body": "Internal remark."}
    )
    warning = hanna.get(case_url(db) + "/export")
    assert warning.status_code == 200 and "leaves the protection" in warning.get_data(as_text=True)
    response = hanna.post(
        case_url(db) + "/export", data={"csrf_token": csrf_of(page), "format": "pdf"}
    )
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data.startswith(b"%PDF")
    assert "case_exported" in actions(db)
