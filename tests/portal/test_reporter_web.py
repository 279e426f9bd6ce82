from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import (
    Attachment,
    AuthorKind,
    Case,
    CaseEvent,
    CaseExclusion,
    CaseKeyGrant,
    EventKind,
    Message,
)
from portal.services import messaging
from portal.services.attachments import FolderStore, write_attachment
from tests.factories import NOW, file_bytes, make_handler

REPORT_TEXT = "The warehouse manager sells the spare parts privately."


def intake_fields(client: FlaskClient, **extra: object) -> dict[str, object]:
    page = client.get("/report").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert csrf and token
    fields: dict[str, object] = {
        "csrf_token": csrf.group(1),
        "form_token": token.group(1),
        "category": "fraud",
        "tier": "2",
        "anonymity": "anonymous",
        "q_what_happened": REPORT_TEXT,
        "q_when_where": "Last week, depot 4",
        "website": "",
    }
    fields.update(extra)
    return fields


def receipt_of(html: str) -> tuple[str, str]:
    code = re.search(r'id="receipt-code">([^<]+)<', html)
    phrase = re.search(r'id="passphrase">([^<]+)<', html)
    assert code and phrase
    return code.group(1), phrase.group(1)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.fixture
def handlers(db: Session) -> list[int]:
    return [make_handler(db, "hanna").id, make_handler(db, "sven", level=2).id]


def file_report(client: FlaskClient, **extra: object) -> tuple[str, str]:
    response = client.post("/report", data=intake_fields(client, **extra), follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return receipt_of(response.get_data(as_text=True))


def test_filing_opens_an_encrypted_case_with_a_receipt(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("proof.pdf", b"%PDF-1.4 invoice")]),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    code, passphrase = receipt_of(html)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", code)
    assert len(passphrase.split()) == 7
    assert "Nobody, not even the staff, can recover them" in html
    assert "We will acknowledge your report by" in html
    assert "We will give you feedback by" in html
    case = db.scalars(select(Case)).one()
    assert case.tier == 2 and case.category == "fraud" and case.policies == ["eu-directive"]
    assert REPORT_TEXT.encode() not in case.sealed_report
    assert {g.user_id for g in db.scalars(select(CaseKeyGrant))} == set(handlers)
    events = db.scalars(select(CaseEvent)).all()
    assert [e.kind for e in events] == [EventKind.RECEIVED]
    attachment = db.scalars(select(Attachment)).one()
    assert attachment.author_kind is AuthorKind.REPORTER


def test_excluded_handler_never_gets_the_case_key(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    file_report(client, excluded=[str(handlers[0])])
    grants = db.scalars(select(CaseKeyGrant)).all()
    assert [g.user_id for g in grants] == [handlers[1]]
    assert [e.user_id for e in db.scalars(select(CaseExclusion))] == [handlers[0]]


def test_at_least_one_handler_must_remain(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    response = client.post(
        "/report", data=intake_fields(client, excluded=[str(h) for h in handlers])
    )
    assert response.status_code == 400
    assert "At least one handler must remain" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_validation_error_keeps_what_was_typed_and_asks_for_files_again(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask
) -> None:
    response = client.post(
        "/report",
        data=intake_fields(
            client, q_what_happened="", attachments=[file_bytes("a.txt", b"evidence")]
        ),
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Answer “What happened?”" in html
    assert "Last week, depot 4" in html
    assert "choose them again" in html
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    store: FolderStore = app.extensions["candor.attachments"]
    assert list(store.root.iterdir()) == []


def test_too_large_upload_says_so_and_keeps_the_text(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask
) -> None:
    big = b"x" * (5 * 1024 * 1024 + 1)  # the test limit is 5 MB
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("big.bin", big)]),
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "larger than 5 MB in all" in html
    assert REPORT_TEXT in html
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert list(app.extensions["candor.attachments"].root.iterdir()) == []


def test_far_too_large_body_gets_a_readable_refusal(
    client: FlaskClient, handlers: list[int]
) -> None:
    huge = b"x" * (11 * 1024 * 1024 + 1)
    response = client.post(
        "/report",
        data=intake_fields(client, attachments=[file_bytes("huge.bin", huge)]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "The limit is 5 MB in all" in response.get_data(as_text=True)


def test_honeypot_opens_no_case(client: FlaskClient, db: Session, handlers: list[int]) -> None:
    response = client.post("/report", data=intake_fields(client, website="http://spam"))
    assert response.status_code == 400
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_posting_the_same_form_twice_opens_one_case(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    fields = intake_fields(client)
    first = client.post("/report", data=fields, follow_redirects=True)
    second = client.post("/report", data=fields, follow_redirects=True)
    assert receipt_of(first.get_data(as_text=True)) == receipt_of(second.get_data(as_text=True))
    assert db.scalar(select(func.count()).select_from(Case)) == 1


def test_receipt_needs_the_saved_step(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    fields = intake_fields(client)
    html = client.post("/report", data=fields, follow_redirects=True).get_data(as_text=True)
    base = {"csrf_token": csrf_of(html), "form_token": fields["form_token"]}
    refused = client.post("/report/receipt", data={**base, "action": "saved"})
    assert refused.status_code == 400
    assert "Tick the box" in refused.get_data(as_text=True)
    printable = client.post("/report/receipt", data={**base, "action": "print"})
    assert receipt_of(printable.get_data(as_text=True)) == receipt_of(html)
    done = client.post("/report/receipt", data={**base, "action": "saved", "saved": "y"})
    assert done.status_code == 302
    again = client.post("/report", data=fields)
    assert again.status_code == 409
    assert db.scalar(select(func.count()).select_from(Case)) == 1


def sign_in(client: FlaskClient, code: str, passphrase: str, **extra: str) -> object:
    html = client.get("/check").get_data(as_text=True)
    data = {"csrf_token": csrf_of(html), "receipt_code": code, "passphrase": passphrase, **extra}
    return client.post("/check", data=data)


def test_wrong_receipt_code_or_passphrase_get_one_generic_message(
    client: FlaskClient, handlers: list[int]
) -> None:
    code, passphrase = file_report(client)
    wrong_code = code[:-1] + str((int(code[-1]) + 1) % 10)
    bodies = []
    for attempt in [(code, "wrong words entirely"), (wrong_code, passphrase), ("1234", passphrase)]:
        response = sign_in(client, *attempt)
        assert response.status_code == 400  # type: ignore[attr-defined]
        bodies.append(re.search(r'role="alert">([^<]+)<', response.get_data(as_text=True)).group(1))  # type: ignore[attr-defined,union-attr]
    assert len(set(bodies)) == 1
    assert "do not match" in bodies[0]


def test_passphrase_ignores_case_and_spacing(client: FlaskClient, handlers: list[int]) -> None:
    code, passphrase = file_report(client)
    response = sign_in(
        client, code.replace(" ", "-"), "  " + passphrase.upper().replace(" ", "   ")
    )
    assert response.status_code == 302  # type: ignore[attr-defined]


def test_guesses_on_one_receipt_code_meet_a_delay(client: FlaskClient, handlers: list[int]) -> None:
    # The whole story (the growing delay, the stated time, floods) is in
    # tests/security/test_guessing.py; here only that the page refuses and says so.
    code, passphrase = file_report(client)
    responses = [sign_in(client, code, f"guess {i}") for i in range(7)]
    assert [r.status_code for r in responses] == [400] * 6 + [429]  # type: ignore[attr-defined]
    assert "Try again after" in responses[-1].get_data(as_text=True)  # type: ignore[attr-defined]
    # The right passphrase waits too: the delay is on the code, whoever types it.
    assert sign_in(client, code, passphrase).status_code == 429  # type: ignore[attr-defined]


def test_reporter_reads_a_reply_and_sends_a_follow_up(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask
) -> None:
    code, passphrase = file_report(client)
    case = db.scalars(select(Case)).one()
    store = app.extensions["candor.attachments"]
    upload = write_attachment(store, "instructions.txt", "text/plain", b"Please send the invoices.")
    messaging.add_message(
        db,
        case,
        "Thank you, we are looking into it.",
        author_kind=AuthorKind.HANDLER,
        uploads=[upload],
        store=store,
        now=NOW + timedelta(hours=1),
    )
    assert sign_in(client, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    page = client.get("/case").get_data(as_text=True)
    assert "Thank you, we are looking into it." in page
    assert REPORT_TEXT in page
    link = re.search(r'href="(/case/attachments/[0-9a-f]+)">instructions.txt', page)
    assert link
    download = client.get(link.group(1))
    assert download.data == b"Please send the invoices."
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype == "application/octet-stream"

    sent = client.post(
        "/case/messages",
        data={
            "csrf_token": csrf_of(page),
            "body": "Here they are.",
            "attachments": [file_bytes("invoices.csv", b"no;amount\n1;100\n")],
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    page = client.get("/case").get_data(as_text=True)
    assert "Here they are." in page and "invoices.csv" in page
    kinds = [e.kind for e in db.scalars(select(CaseEvent).order_by(CaseEvent.id))]
    assert kinds == [EventKind.RECEIVED, EventKind.REPORTER_MESSAGE]


def test_sign_out_ends_the_session(client: FlaskClient, handlers: list[int]) -> None:
    code, passphrase = file_report(client)
    sign_in(client, code, passphrase)
    page = client.get("/case").get_data(as_text=True)
    out = client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert "Close this browser window" in out.get_data(as_text=True)
    assert client.get("/case").status_code == 302


def test_idle_session_expires_with_a_message_and_keeps_the_draft(
    client: FlaskClient, db: Session, handlers: list[int]
) -> None:
    from portal.models import ReporterSession

    code, passphrase = file_report(client)
    sign_in(client, code, passphrase)
    page = client.get("/case").get_data(as_text=True)
    for row in db.scalars(select(ReporterSession)):
        row.last_seen_at -= timedelta(minutes=31)
    db.commit()
    response = client.post(
        "/case/messages", data={"csrf_token": csrf_of(page), "body": "My long draft"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "inactivity" in html and "My long draft" in html
    # A mistyped passphrase keeps the draft too.
    retry = sign_in(client, code, "not it", draft="My long draft")
    assert "My long draft" in retry.get_data(as_text=True)  # type: ignore[attr-defined]
    back = sign_in(client, code, passphrase, draft="My long draft")
    assert back.status_code == 200  # type: ignore[attr-defined]
    assert "My long draft</textarea>" in back.get_data(as_text=True)  # type: ignore[attr-defined]
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_tampered_message_is_refused_not_half_shown(
    client: FlaskClient, db: Session, handlers: list[int], app: Flask
) -> None:
    code, passphrase = file_report(client)
    case = db.scalars(select(Case)).one()
    store = app.extensions["candor.attachments"]
    messaging.add_message(
        db, case, "First reply", author_kind=AuthorKind.HANDLER, store=store, now=NOW
    )
    messaging.add_message(
        db, case, "Second reply", author_kind=AuthorKind.HANDLER, store=store, now=NOW
    )
    second = db.scalars(select(Message).order_by(Message.id.desc())).first()
    assert second is not None
    body = bytearray(second.sealed_body)
    body[-1] ^= 1
    second.sealed_body = bytes(body)
    db.commit()
    sign_in(client, code, passphrase)
    response = client.get("/case")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "First reply" not in html
    assert "failed its integrity check" in html


def test_without_any_handler_the_form_says_reports_cannot_be_received(
    client: FlaskClient,
) -> None:
    response = client.get("/report")
    assert response.status_code == 503
    assert "Reports cannot be received yet" in response.get_data(as_text=True)


def test_successful_sign_ins_with_a_draft_are_not_counted_as_guesses(
    client: FlaskClient, handlers: list[int]
) -> None:
    code, passphrase = file_report(client)
    statuses = [sign_in(client, code, passphrase, draft="unsent").status_code for _ in range(7)]  # type: ignore[attr-defined]
    assert statuses == [200] * 7


def test_printable_view_does_not_need_the_saved_box(
    client: FlaskClient, handlers: list[int]
) -> None:
    html = client.post("/report", data=intake_fields(client), follow_redirects=True).get_data(
        as_text=True
    )
    print_button = re.search(r'<button[^>]*value="print"[^>]*>', html)
    assert print_button and "formnovalidate" in print_button.group(0)
