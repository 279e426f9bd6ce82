"""Proofs of report on the web: the download after filing and after a message, the public check
page, and a handler's check against the case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal import create_app
from portal.config import Config
from portal.models import AuditEntry, Case, ReporterSession, User
from portal.services.inbox import reference
from tests.conftest import TEST_PROOF_KEY, make_config
from tests.factories import NOW, file_bytes, make_handler, sign_in_as
from tests.portal.test_reporter_web import (
    REPORT_TEXT,
    csrf_of,
    intake_fields,
    receipt_of,
    sign_in,
)

MESSAGE = "Here is more: the invoices are in the blue folder.\r\nAsk Jo at the depot."


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("portal.reporter.views.utcnow", lambda: NOW)
    monkeypatch.setattr("portal.handler.proof_views.utcnow", lambda: NOW)


@pytest.fixture
def handler_id(db: Session) -> int:
    return make_handler(db, "hanna").id


def file_with_receipt(client: FlaskClient) -> str:
    fields = intake_fields(client, attachments=[file_bytes("minutes.txt", b"plain words")])
    response = client.post(
        "/report", data=fields, content_type="multipart/form-data", follow_redirects=True
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def download_report_proof(client: FlaskClient) -> tuple[str, str]:
    html = file_with_receipt(client)
    assert "Download a proof of your report" in html
    assert "anyone who finds it on your device can tell that you made a report" in html
    response = client.get("/report/receipt/proof")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers.get("Cache-Control", "")
    return html, response.get_data(as_text=True)


def check(client: FlaskClient, **fields: object) -> tuple[int, str]:
    page = client.get("/proof")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), **fields}
    response = client.post("/proof", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def test_the_report_proof_names_the_case_and_time_and_nothing_secret(
    client: FlaskClient, db: Session, handler_id: int
) -> None:
    html, proof = download_report_proof(client)
    code, passphrase = receipt_of(html)
    case = db.scalars(select(Case)).one()
    assert f"Case reference: {reference(case)}" in proof
    assert "Item: report 1" in proof
    assert f"Received: {NOW.strftime('%Y-%m-%d %H:%M:%S')} UTC" in proof
    key_id = crypto.proof_key_id(crypto.signing_public_key(TEST_PROOF_KEY)).hex()
    assert f"Site key: {key_id}" in proof
    for secret in (code, code.replace("-", ""), passphrase, REPORT_TEXT, "depot 4", "minutes.txt"):
        assert secret not in proof
    disposition = client.get("/report/receipt/proof").headers["Content-Disposition"]
    assert f'filename="candor-proof-{reference(case)}-report1.txt"' in disposition


def test_the_report_proof_verifies_on_the_check_page(client: FlaskClient, handler_id: int) -> None:
    _html, proof = download_report_proof(client)
    status, page = check(client, proof_file=file_bytes("proof.txt", proof.encode()))
    assert status == 200
    assert 'id="proof-valid"' in page
    assert "The report" in page
    assert 'id="text-matches"' not in page and 'id="text-differs"' not in page


def test_the_proof_is_gone_once_the_receipt_is_confirmed(
    client: FlaskClient, handler_id: int
) -> None:
    html = file_with_receipt(client)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', html)
    assert token
    done = client.post(
        "/report/receipt",
        data={
            "csrf_token": csrf_of(html),
            "form_token": token.group(1),
            "action": "saved",
            "saved": "y",
        },
    )
    assert done.status_code == 302
    assert client.get("/report/receipt/proof").status_code == 404
    assert client.get("/report/receipt/proof").status_code == 404


def sign_in_and_send(client: FlaskClient, html: str, body: str = MESSAGE) -> str:
    code, passphrase = receipt_of(html)
    assert sign_in(client, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    page = client.get("/case").get_data(as_text=True)
    assert "Proofs of your messages" not in page
    sent = client.post(
        "/case/messages",
        data={"csrf_token": csrf_of(page), "body": body},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert sent.status_code == 200
    return sent.get_data(as_text=True)


def test_a_message_proof_is_offered_after_sending_and_checks_with_its_text(
    client: FlaskClient, db: Session, handler_id: int
) -> None:
    html = file_with_receipt(client)
    page = sign_in_and_send(client, html)
    assert "Proofs of your messages (optional)" in page
    assert "anyone who finds it on your device can tell that you made a report" in page
    response = client.get("/case/proofs/message1")
    assert response.status_code == 200
    proof = response.get_data(as_text=True)
    assert "Item: message 1" in proof
    assert "invoices" not in proof and "blue folder" not in proof
    assert client.get("/case/proofs/message2").status_code == 404
    # The wrapped proof is in the session row, never in the clear.
    row = db.scalars(select(ReporterSession)).one()
    assert row.wrapped_proofs is not None and b"Commitment" not in row.wrapped_proofs

    status, result = check(client, proof_text=proof, original=MESSAGE)
    assert status == 200
    assert 'id="proof-valid"' in result and 'id="text-matches"' in result
    # A browser sends the textarea's lines with CRLF or LF: both match.
    _status, result = check(client, proof_text=proof, original=MESSAGE.replace("\r\n", "\n"))
    assert 'id="text-matches"' in result
    _status, result = check(client, proof_text=proof, original=MESSAGE.replace("blue", "red"))
    assert 'id="proof-valid"' in result and 'id="text-differs"' in result


def test_the_message_proof_goes_with_the_session(client: FlaskClient, handler_id: int) -> None:
    html = file_with_receipt(client)
    page = sign_in_and_send(client, html)
    sign_out = client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert sign_out.status_code == 200
    assert (
        client.get("/case/proofs/message1").status_code == 302
    )  # to sign-in: no session, no proof
    code, passphrase = receipt_of(html)
    sign_in(client, code, passphrase)
    assert "Proofs of your messages" not in client.get("/case").get_data(as_text=True)
    assert client.get("/case/proofs/message1").status_code == 404


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        ("Item: report 1", "Item: message 1"),
        ("Case reference: C-", "Case reference: C-0"),
        (":00 UTC", ":01 UTC"),
    ],
    ids=["item", "reference", "time"],
)
def test_a_tampered_proof_is_not_valid(
    client: FlaskClient, handler_id: int, find: str, replace: str
) -> None:
    _html, proof = download_report_proof(client)
    assert find in proof
    status, page = check(client, proof_text=proof.replace(find, replace, 1))
    assert status == 200
    assert 'id="proof-invalid"' in page and 'id="proof-valid"' not in page
    assert "What the proof claims" in page


def test_a_proof_with_another_commitment_is_not_valid(client: FlaskClient, handler_id: int) -> None:
    _html, proof = download_report_proof(client)
    commitment = re.search(r"Commitment: ([0-9a-f]{64})", proof)
    assert commitment
    forged = proof.replace(commitment.group(1), "0" * 64)
    _status, page = check(client, proof_text=forged)
    assert 'id="proof-invalid"' in page


def test_a_proof_signed_by_another_key_is_not_valid(
    app: Flask, config: Config, client: FlaskClient, handler_id: int, tmp_path: Path
) -> None:
    _html, proof = download_report_proof(client)
    other = make_config(
        config.database.url, tmp_path, proof__signing_key=crypto.generate_signing_key().hex()
    )
    elsewhere = create_app(other)
    elsewhere.extensions["candor.sessionmaker"] = app.extensions["candor.sessionmaker"]
    _status, page = check(elsewhere.test_client(), proof_text=proof)
    assert 'id="proof-invalid"' in page


def test_an_earlier_key_still_verifies(
    app: Flask, config: Config, client: FlaskClient, handler_id: int, tmp_path: Path
) -> None:
    _html, proof = download_report_proof(client)
    rotated = make_config(
        config.database.url,
        tmp_path,
        proof__signing_key=crypto.generate_signing_key().hex(),
        proof__previous_public_keys=[crypto.signing_public_key(TEST_PROOF_KEY).hex()],
    )
    site = create_app(rotated)
    site.extensions["candor.sessionmaker"] = app.extensions["candor.sessionmaker"]
    _status, page = check(site.test_client(), proof_text=proof)
    assert 'id="proof-valid"' in page and "an earlier key" in page


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"proof_text": "hello, this is not a proof"}, "not a proof file"),
        ({"proof_text": ""}, "Choose the proof file"),
        ({"proof_file": ("x.bin", b"\xff\xfe\x00binary")}, "not a proof"),
        ({"proof_file": ("big.txt", b"a" * 20_000)}, "too large"),
    ],
    ids=["gibberish", "nothing", "binary", "too large"],
)
def test_malformed_input_gets_a_clear_message(
    client: FlaskClient, fields: dict[str, object], says: str
) -> None:
    # A fresh file object per run: the parameters are shared by both databases' runs.
    sent = {
        name: file_bytes(*value) if isinstance(value, tuple) else value
        for name, value in fields.items()
    }
    status, page = check(client, **sent)
    assert status == 400
    assert says in page
    assert 'role="alert"' in page


def test_a_truncated_proof_is_malformed(client: FlaskClient, handler_id: int) -> None:
    _html, proof = download_report_proof(client)
    status, page = check(client, proof_text=proof.split("Signature:")[0])
    assert status == 400 and "not a proof file" in page


def test_the_check_page_publishes_the_key(client: FlaskClient) -> None:
    page = client.get("/proof").get_data(as_text=True)
    public = crypto.signing_public_key(TEST_PROOF_KEY).hex()
    assert f'id="proof-public-key" dir="ltr">{public}<' in page
    assert "<script" not in page
    assert "/proof" in client.get("/").get_data(as_text=True)


def test_the_check_needs_the_form_token(client: FlaskClient) -> None:
    response = client.post("/proof", data={"proof_text": "x"})
    assert response.status_code == 400


def test_no_proof_is_offered_without_a_key(
    database: tuple[str, object], tmp_path: Path, db: Session, handler_id: int
) -> None:
    config = make_config(database[0], tmp_path, proof__signing_key="")
    assert config.proof.signing_key is None
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = database[1]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    client = app.test_client()
    html = file_with_receipt(client)
    assert "Download a proof" not in html
    assert client.get("/report/receipt/proof").status_code == 404
    page = sign_in_and_send(client, html)
    assert "Proofs of your messages" not in page
    assert db.scalars(select(ReporterSession)).one().wrapped_proofs is None
    assert "does not sign new proofs" in client.get("/proof").get_data(as_text=True)


def handler_check(client: FlaskClient, case: Case, proof: str) -> tuple[int, str]:
    page = client.get(f"/staff/cases/{case.uid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Check a proof" in html
    response = client.post(
        f"/staff/cases/{case.uid}/proof",
        data={"csrf_token": csrf_of(html), "proof_file": file_bytes("p.txt", proof.encode())},
        content_type="multipart/form-data",
    )
    return response.status_code, response.get_data(as_text=True)


def test_a_handler_confirms_which_item_a_proof_covers(
    app: Flask, client: FlaskClient, db: Session, handler_id: int
) -> None:
    html, report_proof = download_report_proof(client)
    sign_in_and_send(client, html, "First follow-up.")
    sign_in_and_send(client, html, MESSAGE)
    message_proof = client.get("/case/proofs/message2").get_data(as_text=True)
    case = db.scalars(select(Case)).one()
    staff = app.test_client()
    sign_in_as(staff, db, db.get_one(User, handler_id))

    status, page = handler_check(staff, case, report_proof)
    assert status == 200 and 'id="proof-confirmed"' in page
    assert "covers this case&#39;s report" in page or "covers this case's report" in page

    status, page = handler_check(staff, case, message_proof)
    assert status == 200 and 'id="proof-confirmed"' in page
    assert "message 2" in page

    # Same signature, another commitment: the case holds another text.
    salt = re.search(r"Salt: ([0-9a-f]{64})", message_proof)
    assert salt
    other_salt = message_proof.replace(salt.group(1), "ab" * 32)
    status, page = handler_check(staff, case, other_salt)
    assert 'id="proof-not-confirmed"' in page and "not what the case holds" in page

    tampered = message_proof.replace("Item: message 2", "Item: message 1")
    status, page = handler_check(staff, case, tampered)
    assert 'id="proof-not-confirmed"' in page and "signature is not valid" in page

    status, page = handler_check(staff, case, "nonsense")
    assert status == 400 and "not a proof file" in page

    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "proof_checked").order_by(AuditEntry.id)
    ).all()
    assert [e.detail for e in entries] == [
        "report 1: signature valid, confirmed",
        "message 2: signature valid, confirmed",
        "message 2: signature valid, not confirmed",
        "message 1: signature not valid, not confirmed",
    ]
    for entry in entries:
        assert salt.group(1) not in entry.detail


def test_a_proof_of_another_case_is_not_confirmed(
    app: Flask, client: FlaskClient, db: Session, handler_id: int
) -> None:
    _html, first = download_report_proof(client)
    second_client = app.test_client()
    file_with_receipt(second_client)
    cases = db.scalars(select(Case).order_by(Case.id)).all()
    assert len(cases) == 2
    staff = app.test_client()
    sign_in_as(staff, db, db.get_one(User, handler_id))
    _status, page = handler_check(staff, cases[1], first)
    assert 'id="proof-not-confirmed"' in page and "belongs to another case" in page
