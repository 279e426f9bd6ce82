"""A handler approving their own look at a reporter's identity.

With a custodian named, a handler sees a confidential reporter's identity only after a custodian
approves that handler's request for that case. The custodians' pages refuse (403) every handler
and admin, so nobody who can read a case can decide a request, and a forged decision posted by a
handler changes nothing; the identity stays closed.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Case, IdentityRequest, IdentityRequestState, Role, User
from portal.services import identity_access
from portal.services.approvals import Notice
from portal.timeutil import utcnow
from tests.factories import make_admin, make_user
from tests.portal.test_reporter_web import csrf_of
from tests.security.conftest import file_case, row_counts, staff_client


def test_only_a_custodian_decides_a_request(app: Flask, db: Session, team: dict[str, User]) -> None:
    make_user(db, "clara", role=Role.CUSTODIAN)
    filed = file_case(
        app.test_client(),
        db,
        anonymity="confidential",
        name="Rita Reporter",
        contact="r@example.org",
    )
    case = db.scalars(select(Case).where(Case.uid == filed.uid)).one()
    hanna = team["hanna"]
    row = identity_access.request_identity(
        db, case, hanna, "Interview", now=utcnow(), notice=Notice("Candor", "http://x")
    )
    for person in (hanna, team["sven"], make_admin(db, "boss", also_handler=True)):
        client = staff_client(app, db, person)
        token = csrf_of(client.get("/staff/account").get_data(as_text=True))
        assert client.get("/staff/identity-requests").status_code == 403
        before = row_counts(db)
        for decision in ("approve", "refuse", "revoke"):
            url = f"/staff/identity-requests/{row.id}/{decision}"
            assert client.get(url).status_code == 403
            forged = client.post(
                url, data={"csrf_token": token, "reason": "mine", "confirm": "yes"}
            )
            assert forged.status_code == 403
        assert row_counts(db) == before
        page = client.get(filed.url)
        if page.status_code == 200:
            shown = client.post(
                filed.url + "/identity", data={"csrf_token": csrf_of(page.get_data(as_text=True))}
            )
            assert shown.status_code == 403 and "Rita Reporter" not in shown.get_data(as_text=True)
    db.expire_all()
    assert db.get_one(IdentityRequest, row.id).state is IdentityRequestState.REQUESTED
