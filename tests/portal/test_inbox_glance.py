"""The inbox at a glance: labels, unread, critical rows, sorting with keyset pages, search by
reference, capped counts, and "case opened" audited once per staff session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, AuthorKind, Case, CaseStatus, User
from portal.services import inbox, messaging
from portal.timeutil import utcnow
from tests.factories import handler_private_key, make_handler, sign_in_as
from tests.portal.test_reporter_web import file_report

BASE = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def hanna(db: Session) -> User:
    return make_handler(db, "hanna")


@pytest.fixture
def sven(db: Session) -> User:
    return make_handler(db, "sven", level=2)


def staff_client(app: Flask, db: Session, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, db, user)
    return client


def page_of(client: FlaskClient, query: str = "") -> str:
    response = client.get("/staff/inbox" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def openings(db: Session) -> int:
    return (
        db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "case_opened")
        )
        or 0
    )


def test_rows_show_category_labels_and_critical_tier(
    client: FlaskClient, app: Flask, db: Session, hanna: User
) -> None:
    file_report(client, tier="1")
    file_report(client, tier="3")
    html = page_of(staff_client(app, db, hanna))
    assert "<td>Fraud</td>" in html and "<td>fraud</td>" not in html
    assert html.count('<tr class="tier-1 critical">') == 1
    assert '<td>1 · <strong class="critical-word">Critical</strong></td>' in html
    assert "<td>3</td>" in html


def test_unread_appears_when_the_reporter_writes_and_goes_when_opened(
    client: FlaskClient, app: Flask, db: Session, hanna: User, sven: User
) -> None:
    file_report(client)
    case = db.scalars(select(Case)).one()
    hanna_client = staff_client(app, db, hanna)
    sven_client = staff_client(app, db, sven)
    # Never opened: the report itself is unread.
    assert 'class="unread">Unread<' in page_of(hanna_client)
    assert hanna_client.get(f"/staff/cases/{case.uid}").status_code == 200
    html = page_of(hanna_client)
    assert "Unread" not in html.split("<table>")[1]
    assert "0 cases." in page_of(hanna_client, "?unread=1")
    # Opened by one handler, still unread for the other.
    assert 'class="unread">Unread<' in page_of(sven_client)

    db.refresh(case)
    messaging.add_message(
        db,
        case,
        "One more thing.",
        author_kind=AuthorKind.REPORTER,
        store=None,
        now=utcnow() + timedelta(seconds=1),
    )
    assert 'class="unread">Unread<' in page_of(hanna_client)
    assert "1 case." in page_of(hanna_client, "?unread=1")
    # A handler's own message does not mark it unread.
    db.refresh(case)
    before = case.last_reporter_at
    messaging.add_message(
        db,
        case,
        "Thank you.",
        author_kind=AuthorKind.HANDLER,
        author=hanna,
        store=None,
        now=utcnow() + timedelta(seconds=2),
    )
    db.refresh(case)
    assert case.last_reporter_at == before


def test_opening_after_the_reporter_wrote_clears_unread(
    client: FlaskClient, app: Flask, db: Session, hanna: User
) -> None:
    file_report(client)
    case = db.scalars(select(Case)).one()
    hanna_client = staff_client(app, db, hanna)
    hanna_client.get(f"/staff/cases/{case.uid}")
    db.refresh(case)
    messaging.add_message(
        db,
        case,
        "Any news?",
        author_kind=AuthorKind.REPORTER,
        store=None,
        now=utcnow(),
    )
    # Written before this opening: read.
    hanna_client.get(f"/staff/cases/{case.uid}")
    assert "0 cases." in page_of(hanna_client, "?unread=1")


def test_case_opened_is_audited_once_per_staff_session(
    client: FlaskClient, app: Flask, db: Session, hanna: User
) -> None:
    file_report(client)
    file_report(client)
    first, second = db.scalars(select(Case).order_by(Case.id))
    morning = staff_client(app, db, hanna)
    for _ in range(3):
        assert morning.get(f"/staff/cases/{first.uid}").status_code == 200
    assert openings(db) == 1
    morning.get(f"/staff/cases/{second.uid}")
    assert openings(db) == 2
    # A new session audits its first opening again.
    afternoon = staff_client(app, db, hanna)
    afternoon.get(f"/staff/cases/{first.uid}")
    afternoon.get(f"/staff/cases/{first.uid}")
    assert openings(db) == 3


# --- sorting and keyset pages -------------------------------------------------------------------


@pytest.fixture
def many(client: FlaskClient, db: Session, hanna: User, sven: User) -> list[Case]:
    """Seven cases with columns spread so that every sort has ties and NULLs to get through."""
    for _ in range(7):
        file_report(client)
    cases = list(db.scalars(select(Case).order_by(Case.id)))
    statuses = list(CaseStatus)
    for i, case in enumerate(cases):
        case.received_at = BASE + timedelta(hours=i % 3)  # ties on received_at too
        case.status = statuses[i % len(statuses)]
        case.tier = 1 + i % 3
        case.category = ("fraud", "safety")[i % 2]
        case.escalation_level = 1 + i % 2
        case.assignee_id = (None, hanna.id, sven.id)[i % 3]
        case.next_due_at = None if i % 3 == 0 else BASE + timedelta(days=i % 4)
    db.commit()
    return cases


def expected_order(cases: list[Case], sort: str, direction: str) -> list[int]:
    def key(case: Case) -> tuple[Any, ...]:
        tail = (case.received_at, case.id)
        if sort == "due":
            return (case.next_due_at is None, case.next_due_at or BASE, *tail)
        if sort == "assigned":
            return (case.assignee_id is None, case.assignee_id or 0, *tail)
        column = {
            "received": None,
            "status": case.status.value,
            "tier": case.tier,
            "category": case.category,
            "level": case.escalation_level,
        }[sort]
        return tail if column is None else (column, *tail)

    return [c.id for c in sorted(cases, key=key, reverse=direction == "desc")]


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort", sorted(inbox.SORTS))
def test_each_sort_pages_forward_and_back_by_cursor(
    db: Session, hanna: User, many: list[Case], sort: str, direction: str
) -> None:
    key = handler_private_key(hanna)

    def listing(cursor: str = "") -> inbox.InboxPage:
        return inbox.list_cases(
            db,
            hanna,
            key,
            inbox.InboxFilters(),
            now=BASE,
            sort=sort,
            direction=direction,
            cursor=cursor,
            page_size=2,
        )

    pages = [listing()]
    assert pages[0].previous_cursor is None
    while pages[-1].next_cursor is not None:
        pages.append(listing(pages[-1].next_cursor))
    forward = [[r.uid for r in p.rows] for p in pages]
    uids = {c.id: c.uid for c in many}
    assert [u for page in forward for u in page] == [
        uids[i] for i in expected_order(many, sort, direction)
    ]
    assert [len(p) for p in forward] == [2, 2, 2, 1]
    # Back from the last page, each "Previous" gives the same pages again.
    back = [pages[-1]]
    while back[-1].previous_cursor is not None:
        back.append(listing(back[-1].previous_cursor))
    assert [[r.uid for r in p.rows] for p in reversed(back)] == forward
    assert back[-1].next_cursor is not None


def test_sort_headers_link_and_mark_the_active_column(
    app: Flask, db: Session, hanna: User, many: list[Case]
) -> None:
    hanna_client = staff_client(app, db, hanna)
    html = page_of(hanna_client, "?sort=tier&dir=desc&tier=1")
    assert html.count("aria-sort=") == 1
    assert re.search(r'<th scope="col" aria-sort="descending"><a href="[^"]*sort=tier', html)
    # The active column turns round; a filter is kept in every header link.
    assert "sort=tier&amp;dir=asc" in html and "tier=1&amp;sort=status" in html
    default = page_of(hanna_client)
    assert re.search(r'aria-sort="ascending"><a href="[^"]*sort=due&amp;dir=desc', default)


def test_next_and_previous_links_walk_the_pages(
    app: Flask, db: Session, hanna: User, many: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "PAGE_SIZE", 3)
    hanna_client = staff_client(app, db, hanna)
    first = page_of(hanna_client, "?sort=received")
    assert "Previous" not in first
    next_url = re.search(r'<a href="([^"]+)" rel="next">Next</a>', first)
    assert next_url is not None
    second = hanna_client.get(next_url.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'rel="prev">Previous</a>' in second and "First page" in second
    firsts = re.findall(r"/staff/cases/(\w+)", first)
    seconds = re.findall(r"/staff/cases/(\w+)", second)
    assert len(firsts) == len(seconds) == 3 and not set(firsts) & set(seconds)
    # A cursor from another sort, or made up, gives the first page rather than an error.
    assert hanna_client.get("/staff/inbox?sort=tier&cursor=bm9uc2Vuc2U").status_code == 200
    assert hanna_client.get("/staff/inbox?cursor=%%%").status_code == 200


# --- search and counts ----------------------------------------------------------------------------


def test_reference_prefixes_ignore_case_spaces_and_dashes() -> None:
    assert inbox.reference_prefixes("C-3F2A 9B01") == ["3f2a9b01"]
    assert inbox.reference_prefixes("c3f") == ["c3f", "3f"]
    assert inbox.reference_prefixes("3F-2A") == ["3f2a"]
    assert inbox.reference_prefixes("zz") == []
    assert inbox.reference_prefixes("C-3F2A9B01X") == []


def test_search_by_reference_exact_prefix_and_none(
    client: FlaskClient, app: Flask, db: Session, hanna: User
) -> None:
    for _ in range(3):
        file_report(client)
    cases = list(db.scalars(select(Case)))
    target = cases[0]
    # Make the uids distinct from their first digit, so that a prefix picks one.
    for case, digit in zip(cases, "abd", strict=True):
        case.uid = digit + case.uid[1:]
    db.commit()
    hanna_client = staff_client(app, db, hanna)
    reference = inbox.reference(target)
    exact = page_of(hanna_client, f"?q={reference}")
    assert "1 case." in exact and target.uid in exact
    typed = reference.lower().replace("-", " - ")
    assert target.uid in page_of(hanna_client, f"?q={typed}")
    prefix = page_of(hanna_client, f"?q=C-{reference[2:5]}")
    assert "1 case." in prefix and target.uid in prefix
    assert "0 cases." in page_of(hanna_client, "?q=C-E")
    assert "0 cases." in page_of(hanna_client, "?q=not a reference")


def test_counts_are_capped(
    client: FlaskClient, app: Flask, db: Session, hanna: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        file_report(client)
    key = handler_private_key(hanna)
    capped = inbox.list_cases(db, hanna, key, inbox.InboxFilters(), now=utcnow(), count_cap=2)
    assert (capped.total, capped.more, len(capped.rows)) == (2, True, 3)
    exact = inbox.list_cases(db, hanna, key, inbox.InboxFilters(), now=utcnow(), count_cap=3)
    assert (exact.total, exact.more) == (3, False)
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    assert "2+ cases." in page_of(staff_client(app, db, hanna))


def test_a_capped_count_reads_1000_plus(app: Flask) -> None:
    page = inbox.InboxPage(rows=[], total=1000, more=True, sort="due", direction="asc")
    with app.test_request_context():
        html = render_template("handler/_inbox_count.html", page=page)
    assert "1,000+ cases." in html


def test_a_head_request_neither_marks_read_nor_counts_as_an_opening(
    client: FlaskClient, app: Flask, db: Session, hanna: User
) -> None:
    file_report(client)
    case = db.scalars(select(Case)).one()
    hanna_client = staff_client(app, db, hanna)
    assert hanna_client.head(f"/staff/cases/{case.uid}").status_code == 200
    assert openings(db) == 0
    assert "1 case." in page_of(hanna_client, "?unread=1")
