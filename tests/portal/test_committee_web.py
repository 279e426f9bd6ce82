"""The appeal's pages (seeds/002, lines 80-82): the admins' committee page, the Company
Secretary's answer, the committee's votes and its recorded decision, each a POST with CSRF."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, Case, CommitteeDecision, CommitteeVote, User
from portal.services import casework, clock
from portal.services.clock import appeals, committee, meetings
from portal.timeutil import utcnow
from tests.factories import handler_private_key, make_admin, make_handler, sign_in_as
from tests.portal.services.test_clock import act, file_case
from tests.portal.test_reporter_web import csrf_of, file_report


@pytest.fixture
def people(db: Session) -> dict[str, User]:
    users = {
        "hanna": make_handler(db, "hanna"),
        "sara": make_handler(db, "sara", level=2, title="Company Secretary"),
        "eva": make_handler(db, "eva", level=3),
        "otto": make_handler(db, "otto", level=3),
        "ida": make_handler(db, "ida", level=3),
        "admin": make_admin(db),
    }
    db.commit()
    return users


def text(response: object) -> str:
    """The page's words, without tags."""
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def appealed_case(db: Session, app: Flask, people: dict[str, User]) -> Case:
    settings = app.extensions["candor.clock"]
    start = utcnow() - timedelta(days=10)
    case = file_case(db, app, settings, policies=("seed-membership",), now=start)
    access = casework.open_case(db, people["hanna"], handler_private_key(people["hanna"]), case.uid)
    casework.assign(db, access, people["hanna"].id, now=start)
    act(db, people["hanna"], case, "acknowledge", start, settings, app)
    act(db, people["hanna"], case, "decision", start + timedelta(days=2), settings, app)
    clock.file_appeal(db, case, now=start + timedelta(days=3), settings=settings)
    return case


def test_the_admin_sets_the_meeting_dates_with_csrf(
    client: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    sign_in_as(client, db, people["admin"])
    page = client.get("/admin/committee")
    assert page.status_code == 200
    body = text(page)
    assert "No Company Secretary is set." in body
    assert "No meeting is scheduled." in body
    assert "Eva (Compliance officer)" in body and "at least 2 of the 3 members" in body
    first = (utcnow() + timedelta(days=40)).date()
    suggested = text(client.get(f"/admin/committee?first={first.isoformat()}"))
    assert "bi-monthly suggestion" in suggested
    for day in meetings.bi_monthly(first, 6):
        assert day.isoformat() in suggested
    assert meetings.meeting_days(db) == ()  # a suggestion saves nothing
    dates = f"{first.isoformat()}\n{meetings.bi_monthly(first, 2)[1].isoformat()}"
    refused = client.post("/admin/committee/meetings", data={"days": dates})
    assert refused.status_code == 400
    assert meetings.meeting_days(db) == ()
    token = csrf_of(page.get_data(as_text=True))
    bad = client.post(
        "/admin/committee/meetings", data={"days": "next Tuesday", "csrf_token": token}
    )
    assert bad.status_code == 400 and "is not a date" in text(bad)
    saved = client.post("/admin/committee/meetings", data={"days": dates, "csrf_token": token})
    assert saved.status_code == 302
    db.expire_all()
    assert meetings.meeting_days(db) == meetings.bi_monthly(first, 2)
    after = text(client.get("/admin/committee"))
    assert f"Next meeting: {first.isoformat()}." in after
    assert "No meeting is scheduled." not in after
    assert db.scalars(select(AuditEntry.action).where(AuditEntry.action == "meetings_set")).all()


def test_the_admin_assigns_the_company_secretary_with_csrf(
    client: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    sign_in_as(client, db, people["admin"])
    page = client.get("/admin/committee").get_data(as_text=True)
    sara = str(people["sara"].id)
    assert client.post("/admin/committee/secretary", data={"user_id": sara}).status_code == 400
    assert appeals.current_secretary(db) is None
    done = client.post(
        "/admin/committee/secretary", data={"user_id": sara, "csrf_token": csrf_of(page)}
    )
    assert done.status_code == 302
    db.expire_all()
    assert appeals.current_secretary(db) == people["sara"]
    body = text(client.get("/admin/committee"))
    assert "The Company Secretary is Sara (Company Secretary)." in body
    assert "No Company Secretary is set." not in body
    cleared = client.post(
        "/admin/committee/secretary", data={"user_id": "", "csrf_token": csrf_of(page)}
    )
    assert cleared.status_code == 302
    db.expire_all()
    assert appeals.current_secretary(db) is None
    unknown = client.post(
        "/admin/committee/secretary", data={"user_id": "99999", "csrf_token": csrf_of(page)}
    )
    assert unknown.status_code == 400


def test_a_handler_cannot_open_the_committee_page(
    client: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    sign_in_as(client, db, people["eva"])
    assert client.get("/admin/committee").status_code in (403, 404)


def test_members_vote_and_record_the_majority_with_csrf(
    client: FlaskClient, app: Flask, db: Session, people: dict[str, User]
) -> None:
    case = appealed_case(db, app, people)  # no secretary: straight to the committee
    url = f"/staff/cases/{case.uid}"
    sign_in_as(client, db, people["eva"])
    page = client.get(url).get_data(as_text=True)
    body = " ".join(html.unescape(page).split())
    assert "The appeal is before the committee" in body
    assert "No committee meeting is scheduled" in body  # none set: the fallback applies
    assert "No votes yet." in body
    vote = f"{url}/appeal/vote"
    assert f'action="{vote}"' in page
    assert client.post(vote, data={"vote": "uphold"}).status_code == 400
    assert db.scalars(select(CommitteeVote)).first() is None
    assert (
        client.post(vote, data={"vote": "uphold", "csrf_token": csrf_of(page)}).status_code == 302
    )
    after = text(client.get(url))
    assert "Your vote to uphold the appeal is recorded." in after
    assert "Your vote: uphold the appeal." in after
    assert "The decision cannot be recorded yet. No majority yet" in after
    decide = f"{url}/appeal/decide"
    assert "Record the committee's decision" not in after
    sign_in_as(client, db, people["otto"])
    page = client.get(url).get_data(as_text=True)
    client.post(vote, data={"vote": "uphold", "csrf_token": csrf_of(page)})
    after = client.get(url).get_data(as_text=True)
    assert f'href="{decide}"' in after
    assert re.search(r"<td>Eva</td>\s*<td>Uphold the appeal</td>", after)
    confirm = client.get(decide)
    assert confirm.status_code == 200
    assert "A majority voted to uphold the appeal" in text(confirm)
    token = csrf_of(confirm.get_data(as_text=True))
    bare = client.post(decide, data={"csrf_token": token})
    assert bare.status_code == 400
    assert db.scalars(select(CommitteeDecision)).first() is None
    done = client.post(decide, data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    final = text(client.get(url))
    assert "The committee decided to uphold the appeal" in final
    assert "2 to uphold, 0 to dismiss, of 3 members" in final
    # In the thread, as the reporter reads it.
    assert str(committee.REPORTER_OUTCOME["uphold"]) in final
    assert f'action="{vote}"' not in final


def test_a_non_member_sees_the_votes_but_cannot_vote(
    client: FlaskClient, app: Flask, db: Session, people: dict[str, User]
) -> None:
    case = appealed_case(db, app, people)
    committee.cast_vote(db, case, "dismiss", actor=people["eva"], now=utcnow())
    sign_in_as(client, db, people["hanna"])
    url = f"/staff/cases/{case.uid}"
    page = client.get(url).get_data(as_text=True)
    assert "Only committee members vote." in html.unescape(page)
    assert re.search(r"<td>Eva</td>\s*<td>Dismiss the appeal</td>", page)
    refused = client.post(
        f"{url}/appeal/vote", data={"vote": "uphold", "csrf_token": csrf_of(page)}
    )
    assert refused.status_code == 400
    assert "Only committee members" in text(refused)


def test_the_secretary_answers_on_the_case_page_unless_involved(
    client: FlaskClient, app: Flask, db: Session, people: dict[str, User]
) -> None:
    appeals.assign_secretary(db, people["sara"].id, actor=people["admin"], now=utcnow())
    case = appealed_case(db, app, people)
    url = f"/staff/cases/{case.uid}"
    sign_in_as(client, db, people["sara"])
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert "It is with the Company Secretary, Sara, who upholds the decision" in text(response)
    answer = f"{url}/appeal/secretary"
    assert f'action="{answer}"' in page
    data = {"answer": "refer", "body": "The committee will decide."}
    assert client.post(answer, data=data).status_code == 400
    assert client.post(answer, data={**data, "csrf_token": csrf_of(page)}).status_code == 302
    assert appeals.stage(db, case) == "committee"
    # Hanna investigated the case: made secretary, she is told she cannot answer its appeal.
    appeals.assign_secretary(db, people["hanna"].id, actor=people["admin"], now=utcnow())
    other = appealed_case(db, app, people)
    sign_in_as(client, db, people["hanna"])
    response = client.get(f"/staff/cases/{other.uid}")
    body = text(response)
    assert "The Company Secretary handled this case: they were assigned to the case" in body
    assert "You cannot answer this appeal: you were assigned to the case" in body
    assert "must not be involved in the matter" in body
    assert f'action="/staff/cases/{other.uid}/appeal/secretary"' not in response.get_data(
        as_text=True
    )


def test_the_policy_page_and_the_cli_show_the_meeting(
    client: FlaskClient, app: Flask, db: Session, people: dict[str, User]
) -> None:
    day = (utcnow() + timedelta(days=30)).date()
    meetings.choose_meetings(db, day.isoformat(), actor_id=people["admin"].id, now=utcnow())
    sign_in_as(client, db, people["admin"])
    body = text(client.get("/admin/policies/seed-membership"))
    assert f"the meeting of {day.isoformat()}, due {day.isoformat()} 23:59" in body
    result = app.test_cli_runner().invoke(
        args=["candor", "clock", "preview", "--policy", "seed-membership", "--received",
              (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d 10:00")]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (
        f"{day.isoformat()} 23:59  seed-membership/appeal  due: committee decides the appeal, "
        f"at the committee meeting of {day.isoformat()}"
    ) in result.stdout


def test_the_reporter_appeals_to_the_secretary_then_takes_it_to_the_committee(
    app: Flask, client: FlaskClient, db: Session, people: dict[str, User]
) -> None:
    """Line 80, then line 82: "If you remain unhappy [...] take the matter to a full committee
    meeting"; each step a POST with its CSRF token."""
    now = utcnow()
    appeals.assign_secretary(db, people["sara"].id, actor=people["admin"], now=now)
    clock.choose_policies(
        db, "fraud", ["seed-membership"], actor=people["admin"], now=now - timedelta(hours=1)
    )
    code, passphrase = file_report(client)
    case = db.scalars(select(Case)).one()
    settings = app.extensions["candor.clock"]
    access = casework.open_case(db, people["hanna"], handler_private_key(people["hanna"]), case.uid)
    casework.assign(db, access, people["hanna"].id, now=utcnow())
    act(db, people["hanna"], case, "acknowledge", utcnow(), settings, app)
    act(db, people["hanna"], case, "decision", utcnow(), settings, app)
    reporter = app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    page = reporter.get("/case").get_data(as_text=True)
    assert 'action="/case/appeal"' in page
    assert reporter.post("/case/appeal", data={}).status_code == 400
    assert appeals.stage(db, case) is None
    sent = reporter.post("/case/appeal", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "Your appeal has been sent to the Company Secretary." in text(sent)
    assert appeals.stage(db, case) == "secretary"
    appeals.answer_as_secretary(
        db, case, "uphold_decision", "The decision stands.",
        actor=people["sara"], now=utcnow(), settings=settings,
    )  # fmt: skip
    page = reporter.get("/case").get_data(as_text=True)
    assert "The decision stands." in page
    assert 'action="/case/appeal/committee"' in page
    assert reporter.post("/case/appeal/committee", data={}).status_code == 400
    assert appeals.stage(db, case) == "answered"
    taken = reporter.post(
        "/case/appeal/committee", data={"csrf_token": csrf_of(page)}, follow_redirects=True
    )
    assert "Your appeal has been sent to the committee." in text(taken)
    assert "decide your appeal (the committee)" in text(taken)
    assert appeals.stage(db, case) == "committee"
    assert 'action="/case/appeal/committee"' not in taken.get_data(as_text=True)
