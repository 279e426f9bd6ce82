"""A confidential reporter's identity behind a custodian (Candor issue 17, part 1)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    AuditEntry,
    Case,
    IdentityRequest,
    IdentityRequestState,
    OutboxMessage,
    Role,
    User,
)
from portal.services import casework, identity_access
from portal.services.approvals import Notice
from portal.timeutil import utcnow
from tests.factories import handler_private_key, make_admin, make_handler, make_user
from tests.portal.test_handler_cases import actions, case_url, staff_client
from tests.portal.test_reporter_web import csrf_of, file_report
from tests.security.conftest import reporter_client

NAME = "Rita Reporter"
NOTICE = Notice(site_name="Candor", base_url="https://candor.example")


@pytest.fixture
def team(db: Session) -> dict[str, User]:
    return {"hanna": make_handler(db, "hanna"), "sven": make_handler(db, "sven", level=2)}


@pytest.fixture
def confidential(client: FlaskClient, db: Session, team: dict[str, User]) -> tuple[str, str]:
    """A confidential report held by hanna and sven; its receipt code and passphrase."""
    return file_report(client, anonymity="confidential", name=NAME, contact="rita@example.org")


def custodian(db: Session, username: str = "clara") -> User:
    user = make_user(db, username, role=Role.CUSTODIAN)
    user.email = f"{username}@example.org"
    db.commit()
    return user


def show(client: FlaskClient, url: str) -> tuple[int, str]:
    page = client.get(url).get_data(as_text=True)
    response = client.post(url + "/identity", data={"csrf_token": csrf_of(page)})
    return response.status_code, response.get_data(as_text=True)


def ask(client: FlaskClient, url: str, reason: str) -> int:
    page = client.get(url).get_data(as_text=True)
    response = client.post(
        url + "/identity-requests", data={"csrf_token": csrf_of(page), "reason": reason}
    )
    return response.status_code


def decide(client: FlaskClient, request_id: int, decision: str, reason: str) -> int:
    url = f"/staff/identity-requests/{request_id}/{decision}"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(
        url,
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "reason": reason,
            "confirm": "yes",
        },
    )
    return response.status_code


def the_request(db: Session) -> IdentityRequest:
    db.expire_all()
    row = db.scalars(select(IdentityRequest).order_by(IdentityRequest.id.desc())).first()
    assert row is not None
    return row


def reporter_page(app: Flask, code: str, passphrase: str) -> str:
    case = type("Filed", (), {"receipt_code": code, "passphrase": passphrase})()
    return reporter_client(app, case).get("/case").get_data(as_text=True)  # type: ignore[arg-type]


def test_without_a_custodian_the_identity_shows_as_before(
    app: Flask, db: Session, team: dict[str, User], confidential: tuple[str, str]
) -> None:
    admin = staff_client(app, db, make_admin(db))
    page = admin.get("/admin/identity-access").get_data(as_text=True)
    assert "Identity access is unchecked: no custodian is named" in page
    hanna = staff_client(app, db, team["hanna"])
    assert "Ask a custodian" not in hanna.get(case_url(db)).get_data(as_text=True)
    assert "Your identity has not been disclosed to anyone." in reporter_page(app, *confidential)
    status, html = show(hanna, case_url(db))
    assert status == 200 and NAME in html
    assert actions(db).count("identity_revealed") == 1
    # A request makes no sense here, and is refused.
    assert ask(hanna, case_url(db), "To interview a witness") == 400
    assert db.scalar(select(IdentityRequest.id)) is None


def test_with_a_custodian_the_identity_shows_only_after_approval(
    app: Flask, db: Session, team: dict[str, User], confidential: tuple[str, str]
) -> None:
    clara = staff_client(app, db, custodian(db))
    team["hanna"].email = "hanna@example.org"
    db.commit()
    admin = staff_client(app, db, make_admin(db))
    admin_page = admin.get("/admin/identity-access").get_data(as_text=True)
    assert "Identity access is checked" in admin_page and "clara" in admin_page
    hanna, sven = (staff_client(app, db, team[n]) for n in ("hanna", "sven"))
    url = case_url(db)

    # Refused without an approval: a clear page, nothing shown, nothing audited as shown.
    status, html = show(hanna, url)
    assert status == 403 and NAME not in html
    assert "only after a custodian approves your request" in html
    assert "identity_revealed" not in actions(db)
    assert "Ask a custodian" in hanna.get(url).get_data(as_text=True)

    # An empty reason is refused and loses nothing; a real one is sent and the custodian told.
    assert ask(hanna, url, "   ") == 400
    assert ask(hanna, url, "To interview a witness") == 302
    first = the_request(db)
    assert first.state is IdentityRequestState.REQUESTED
    assert ask(hanna, url, "Again") == 400  # one open request at a time
    mail = db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "clara@example.org"))
    (told,) = mail.all()
    assert "/staff/identity-requests" in told.body and "witness" not in told.body
    listing = clara.get("/staff/identity-requests").get_data(as_text=True)
    assert "To interview a witness" in listing and "Hanna" in listing
    assert NAME not in listing and "Rita" not in listing

    # Refused by the custodian, with a reason: still nothing shown.
    assert decide(clara, first.id, "refuse", "Not needed for an interview") == 302
    assert the_request(db).state is IdentityRequestState.REFUSED
    status, html = show(hanna, url)
    assert status == 403 and NAME not in html
    assert "Not needed for an interview" in hanna.get(url).get_data(as_text=True)
    # A refused request cannot be approved afterwards.
    assert clara.get(f"/staff/identity-requests/{first.id}/approve").status_code == 302

    # Asked again, approved: the opening works for hanna on this case only.
    assert ask(hanna, url, "Referral to the police") == 302
    second = the_request(db)
    assert decide(clara, second.id, "approve", "A referral is a lawful need") == 302
    assert the_request(db).state is IdentityRequestState.APPROVED
    status, html = show(hanna, url)
    assert status == 200 and NAME in html
    status, html = show(sven, url)
    assert status == 403 and NAME not in html
    db.expire_all()
    trail = list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    identity_rows = [(e.action, e.actor_id) for e in trail if e.action.startswith("identity")]
    clara_id = db.scalar(select(User.id).where(User.username == "clara"))
    assert identity_rows == [
        ("identity_requested", team["hanna"].id),
        ("identity_request_refused", clara_id),
        ("identity_requested", team["hanna"].id),
        ("identity_request_approved", clara_id),
        ("identity_revealed", team["hanna"].id),
    ]
    decided = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "hanna@example.org")
    )
    assert len(decided.all()) == 2
    # The case page shows the whole history to every handler on the case.
    history = sven.get(url).get_data(as_text=True)
    assert "Referral to the police" in history and "A referral is a lawful need" in history
    assert "Times the identity was shown" in history

    # The reporter learns that and when, never who.
    page = reporter_page(app, *confidential)
    assert "Your identity was disclosed to a member of staff on" in page
    assert "Hanna" not in page

    # Revoked: hanna must ask again.
    assert decide(clara, second.id, "revoke", "The referral was made") == 302
    assert the_request(db).state is IdentityRequestState.REVOKED
    assert show(hanna, url)[0] == 403
    assert "identity_approval_revoked" in actions(db)


def test_a_standing_approval_ends_when_the_case_is_closed(
    app: Flask, db: Session, team: dict[str, User], confidential: tuple[str, str]
) -> None:
    clara = custodian(db)
    hanna = team["hanna"]
    case = db.scalars(select(Case)).one()
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    with pytest.raises(identity_access.IdentityNotApprovedError):
        casework.reveal_identity(db, access, now=utcnow())
    row = identity_access.request_identity(
        db, case, hanna, "Witness interview", now=utcnow(), notice=NOTICE
    )
    # Only a custodian decides; a handler cannot approve their own request.
    with pytest.raises(identity_access.NotACustodianError):
        identity_access.decide(
            db, hanna, row.id, approve=True, reason="mine", now=utcnow(), notice=NOTICE
        )
    # A decision needs a reason.
    with pytest.raises(identity_access.InvalidInputError):
        identity_access.decide(
            db, clara, row.id, approve=True, reason=" ", now=utcnow(), notice=NOTICE
        )
    identity_access.decide(
        db, clara, row.id, approve=True, reason="Needed", now=utcnow(), notice=NOTICE
    )
    assert casework.reveal_identity(db, access, now=utcnow()) == {
        "name": NAME,
        "contact": "rita@example.org",
    }
    # A second decision on the same request is refused: it is no longer waiting.
    with pytest.raises(identity_access.NotFoundError):
        identity_access.decide(
            db, clara, row.id, approve=False, reason="late", now=utcnow(), notice=NOTICE
        )
    client = staff_client(app, db, hanna)
    page = client.get(case_url(db)).get_data(as_text=True)
    closed = client.post(
        case_url(db) + "/update",
        data={
            "csrf_token": csrf_of(page),
            "tier": str(case.tier),
            "category": case.category,
            "status": "closed",
            "outcome": "withdrawn",
        },
    )
    assert closed.status_code == 302
    db.expire_all()
    assert db.get_one(IdentityRequest, row.id).state is IdentityRequestState.ENDED
    assert "identity_approval_ended" in actions(db)
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    with pytest.raises(identity_access.IdentityNotApprovedError):
        casework.reveal_identity(db, access, now=utcnow())


def test_exports_withhold_the_identity_without_a_standing_approval(
    app: Flask, db: Session, team: dict[str, User], confidential: tuple[str, str]
) -> None:
    from portal.services import export

    hanna = team["hanna"]
    case = db.scalars(select(Case)).one()
    access = casework.open_case(db, hanna, handler_private_key(hanna), case.uid)
    casework.reveal_identity(db, access, now=utcnow())  # unchecked: shown, as today
    assert not export.identity_withheld(db, access)
    assert export._read(db, access).identity == {"name": NAME, "contact": "rita@example.org"}
    custodian(db)
    assert export.identity_withheld(db, access)
    contents = export._read(db, access)
    assert contents.identity is None and contents.identity_withheld
