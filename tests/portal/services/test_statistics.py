"""The statistics against a seeded data set whose every figure is known in advance."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pypdf
import pytest
from sqlalchemy.orm import Session

from portal.models import Case, CaseEvent, CaseStatus, Deadline, EventKind
from portal.models.clock import DeadlineState
from portal.models.committee import CommitteeDecision
from portal.services import annual_report, audit, statistics
from portal.services.errors import InvalidInputError
from portal.services.statistics_figures import AGE_LABELS, chart, figures, to_csv

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
PERIOD = statistics.Period(date(2026, 1, 1), date(2026, 3, 31), BERLIN)
DAY = 86400.0
LABELS = {"fraud": "Fraud", "safety": "Safety"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_case(
    db: Session,
    *,
    category: str,
    tier: int,
    status: CaseStatus,
    received: datetime,
    channel: str | None = None,
) -> Case:
    case = Case(
        uid=secrets.token_hex(16),
        receipt_lookup=secrets.token_bytes(32),
        submission_lookup=secrets.token_bytes(32),
        public_key=secrets.token_bytes(32),
        reporter_wrapped_key=b"-",
        category=category,
        tier=tier,
        status=status,
        confidential=False,
        sealed_report=b"-",
        received_at=received,
        channel=channel,
    )
    db.add(case)
    db.flush()
    db.add(CaseEvent(case_id=case.id, kind=EventKind.RECEIVED, occurred_at=received))
    return case


def event(db: Session, case: Case, kind: EventKind, when: datetime) -> None:
    db.add(CaseEvent(case_id=case.id, kind=kind, occurred_at=when))


def deadline(db: Session, case: Case, clock: str, state: DeadlineState) -> None:
    start = case.received_at
    db.add(
        Deadline(
            case_id=case.id,
            policy="eu-directive",
            clock=clock,
            state=state,
            started_at=start,
            due_at=start + timedelta(days=7),
            stopped_at=None if state is DeadlineState.RUNNING else start + timedelta(days=1),
        )
    )


def seed(db: Session) -> dict[str, Case]:
    """Six cases; the comments give what each adds to the figures for PERIOD (Q1 2026, Berlin)."""
    # January; acknowledged after 2 days, feedback after 30; came back with a message; its
    # appeal (5 April) falls after the period.
    c1 = make_case(
        db, category="fraud", tier=1, status=CaseStatus.RESOLVED, received=at("2026-01-10T10:00")
    )
    event(db, c1, EventKind.ACKNOWLEDGED, c1.received_at + timedelta(days=2))
    event(db, c1, EventKind.FEEDBACK_SENT, c1.received_at + timedelta(days=30))
    event(db, c1, EventKind.FEEDBACK_SENT, c1.received_at + timedelta(days=40))
    event(db, c1, EventKind.REPORTER_MESSAGE, c1.received_at + timedelta(days=3))
    event(db, c1, EventKind.APPEAL_FILED, at("2026-04-05T09:00"))
    deadline(db, c1, "acknowledge", DeadlineState.MET)
    deadline(db, c1, "feedback", DeadlineState.MET)
    # 31 January 23:30 UTC is 1 February in Berlin: a February report. Acknowledged after
    # 4 days; feedback breached; its appeal upheld by the committee; open, investigating.
    c2 = make_case(
        db,
        category="safety",
        tier=2,
        status=CaseStatus.INVESTIGATING,
        received=at("2026-01-31T23:30"),
    )
    event(db, c2, EventKind.ACKNOWLEDGED, c2.received_at + timedelta(days=4))
    event(db, c2, EventKind.APPEAL_FILED, at("2026-03-01T10:00"))
    event(db, c2, EventKind.COMMITTEE_ASKED, at("2026-03-02T10:00"))
    db.add(
        CommitteeDecision(
            case_id=c2.id,
            outcome="uphold",
            upheld=2,
            dismissed=1,
            members=3,
            decided_at=at("2026-03-20T10:00"),
        )
    )
    deadline(db, c2, "acknowledge", DeadlineState.MET)
    deadline(db, c2, "feedback", DeadlineState.BREACHED)
    # February; acknowledged after 6 days, feedback after 60 (in April: still counted, as the
    # case was received in the period); satisfied; its appeal answered by the secretary.
    c3 = make_case(
        db, category="fraud", tier=3, status=CaseStatus.CLOSED, received=at("2026-02-15T12:00")
    )
    event(db, c3, EventKind.ACKNOWLEDGED, c3.received_at + timedelta(days=6))
    event(db, c3, EventKind.FEEDBACK_SENT, c3.received_at + timedelta(days=60))
    event(db, c3, EventKind.REPORTER_SATISFIED, c3.received_at + timedelta(days=61))
    event(db, c3, EventKind.APPEAL_FILED, at("2026-03-10T10:00"))
    event(db, c3, EventKind.SECRETARY_ASKED, at("2026-03-10T10:00"))
    event(db, c3, EventKind.SECRETARY_ANSWERED, at("2026-03-12T10:00"))
    deadline(db, c3, "acknowledge", DeadlineState.MET)
    deadline(db, c3, "feedback", DeadlineState.MET)
    # 31 March 22:30 UTC is 1 April in Berlin (summer time): after the period. Open, new, 9.5
    # days old; its breached deadline is not the period's.
    c4 = make_case(
        db, category="fraud", tier=2, status=CaseStatus.NEW, received=at("2026-03-31T22:30")
    )
    event(db, c4, EventKind.REPORTER_MESSAGE, c4.received_at + timedelta(hours=1))
    deadline(db, c4, "acknowledge", DeadlineState.BREACHED)
    # 31 December 22:30 UTC is still 2025 in Berlin: before the period. Open, acknowledged,
    # 100 days old; its appeal, filed in February, not decided.
    c5 = make_case(
        db,
        category="safety",
        tier=1,
        status=CaseStatus.ACKNOWLEDGED,
        received=at("2025-12-31T22:30"),
    )
    event(db, c5, EventKind.ACKNOWLEDGED, c5.received_at + timedelta(days=1))
    event(db, c5, EventKind.APPEAL_FILED, at("2026-02-01T10:00"))
    # March, by telephone (recorded by a handler); new, nothing done, its acknowledgement
    # deadline still running; 36 days old.
    c6 = make_case(
        db,
        category="safety",
        tier=3,
        status=CaseStatus.NEW,
        received=at("2026-03-05T08:00"),
        channel="telephone",
    )
    deadline(db, c6, "acknowledge", DeadlineState.RUNNING)
    db.commit()
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6}


@pytest.fixture
def stats(db: Session) -> statistics.Statistics:
    seed(db)
    return statistics.compute(db, PERIOD, now=NOW)


def test_reports_per_month_by_category_channel_and_tier(stats: statistics.Statistics) -> None:
    assert stats.months == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert stats.total == 4
    assert stats.by_category == {"fraud": [1, 1, 0], "safety": [0, 1, 1]}
    assert stats.by_channel == {"web": [1, 2, 0], "telephone": [0, 0, 1]}
    assert stats.by_tier == {1: [1, 0, 0], 2: [0, 1, 0], 3: [0, 1, 1]}


def test_time_to_acknowledge_and_to_feedback(stats: statistics.Statistics) -> None:
    # Acknowledged after 2, 4 and 6 days; c6 not yet. Nearest rank: the 2nd and 3rd of 3.
    assert stats.acknowledge == statistics.Durations(
        count=3, median=4 * DAY, p90=6 * DAY, without=1
    )
    # The first feedback counts (c1's after 30 days, not its second after 40).
    assert stats.feedback == statistics.Durations(count=2, median=30 * DAY, p90=60 * DAY, without=2)


def test_share_of_each_clock_met(stats: statistics.Statistics) -> None:
    assert stats.clocks == [
        statistics.ClockShare("eu-directive/acknowledge", met=3, breached=0),
        statistics.ClockShare("eu-directive/feedback", met=2, breached=1),
    ]
    assert stats.clocks[1].share_met == pytest.approx(2 / 3)


def test_open_cases_by_status_and_age(stats: statistics.Statistics) -> None:
    assert stats.open_cases == {
        CaseStatus.NEW: [0, 1, 1, 0, 0],
        CaseStatus.ACKNOWLEDGED: [0, 0, 0, 1, 0],
        CaseStatus.INVESTIGATING: [0, 0, 1, 0, 0],
    }


def test_appeals_and_outcomes(stats: statistics.Statistics) -> None:
    assert stats.appeals == {"uphold": 1, "dismiss": 0, "secretary": 1, "pending": 1}


def test_reporters_who_came_back(stats: statistics.Statistics) -> None:
    assert stats.came_back == 3


def test_an_empty_period_counts_nothing(db: Session) -> None:
    seed(db)
    empty = statistics.compute(
        db, statistics.Period(date(2024, 5, 1), date(2024, 5, 31), BERLIN), now=NOW
    )
    assert empty.total == 0 and empty.by_category == {} and empty.clocks == []
    assert empty.acknowledge == statistics.Durations(0, None, None, 0)
    assert sum(empty.appeals.values()) == 0 and empty.came_back == 0
    assert all(f.table() for f in figures(empty, LABELS))


def test_every_age_bucket_has_a_label() -> None:
    assert len(AGE_LABELS) == len(statistics.AGE_BUCKETS)


def test_periods() -> None:
    assert statistics.default_period(at("2026-11-30T23:30"), BERLIN) == statistics.Period(
        date(2026, 1, 1), date(2026, 12, 1), BERLIN
    )
    assert len(statistics.default_period(NOW, BERLIN).months()) == 12
    assert statistics.year_period(2025, BERLIN).months()[-1] == date(2025, 12, 1)
    with pytest.raises(InvalidInputError):
        statistics.make_period(date(2026, 2, 1), date(2026, 1, 1), BERLIN)
    with pytest.raises(InvalidInputError):
        statistics.make_period(date(2000, 1, 1), date(2026, 1, 1), BERLIN)


def test_figures_tables_and_charts_agree(stats: statistics.Statistics) -> None:
    by_key = {f.key: f for f in figures(stats, LABELS)}
    headings, body = by_key["by-category"].table()
    assert headings == ["Month", "Fraud", "Safety"]
    assert body == [["Jan 2026", "1", "0"], ["Feb 2026", "1", "1"], ["Mar 2026", "0", "1"]]
    headings, body = by_key["response-times"].table()
    assert body == [
        ["Acknowledgement", "4.0", "6.0", "3", "1"],
        ["Feedback", "30.0", "60.0", "2", "2"],
    ]
    assert by_key["clocks"].table()[1][1] == ["eu-directive/feedback", "2", "1", "66.7%"]
    assert by_key["came-back"].table()[1] == [
        ["Came back", "3", "75.0%"],
        ["Did not come back", "1", "25.0%"],
    ]
    drawn = chart(by_key["by-category"])
    # One rectangle per non-zero value, each titled with what it shows.
    assert sorted(b.label for b in drawn.bars) == [
        "Feb 2026, Fraud: 1",
        "Feb 2026, Safety: 1",
        "Jan 2026, Fraud: 1",
        "Mar 2026, Safety: 1",
    ]
    feb = [b for b in drawn.bars if b.label.startswith("Feb")]
    assert feb[0].width == pytest.approx(feb[1].width) and feb[1].x > feb[0].x


def test_csv_is_the_table_and_safe_against_formulas(stats: statistics.Statistics) -> None:
    labels = {"fraud": '=HYPERLINK("http://evil")', "safety": "+Safety"}
    figure = next(f for f in figures(stats, labels) if f.key == "by-category")
    rows = list(csv.reader(io.StringIO(to_csv(figure, "Q1"))))
    assert rows[0] == ["Reports per month by category", "Q1"]
    assert rows[1] == ["Month", '\'=HYPERLINK("http://evil")', "'+Safety"]
    assert rows[2:] == [["Jan 2026", "1", "0"], ["Feb 2026", "1", "1"], ["Mar 2026", "0", "1"]]


def test_annual_report_pdf_holds_the_figures(db: Session) -> None:
    seed(db)
    stats = statistics.compute(db, statistics.year_period(2026, BERLIN), now=NOW)
    body = annual_report.render(
        stats, site_name="Test Organisation", category_labels=LABELS, now=NOW
    )
    reader = pypdf.PdfReader(io.BytesIO(body))
    # Lines wrap where the page is full: compare words, whatever the spacing.
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert (
        reader.metadata is not None
        and reader.metadata.title == "Test Organisation: annual report 2026"
    )
    assert reader.metadata.producer == "Candor" and reader.metadata.creator == "Candor"
    first = " ".join(reader.pages[0].extract_text().split())
    assert (
        "Test Organisation" in first and "2026" in first and "Generated on 10 April 2026" in first
    )
    for figure in figures(stats, LABELS):
        assert figure.title in text
    assert "Reports per month by category" in text and "Fraud" in text
    # The year holds every case but c5 (still 2025 in Berlin).
    assert stats.total == 5 and "5 reports received in the period." in text
    assert "Jan 2026" in text and "Dec 2026" in text
    assert "Upheld by the committee" in text and "eu-directive/feedback" in text


def test_kept_figures_are_the_figures_until_something_they_read_changes(db: Session) -> None:
    cases = seed(db)
    first = statistics.compute(db, PERIOD, now=NOW)
    # Nothing changed: the very figures kept are given again.
    assert statistics.compute(db, PERIOD, now=NOW + timedelta(minutes=5)) is first
    # A new event (the reporter writes on c6) changes "came back" at once.
    event(db, cases["c6"], EventKind.REPORTER_MESSAGE, at("2026-03-20T10:00"))
    db.commit()
    after_message = statistics.compute(db, PERIOD, now=NOW)
    assert after_message is not first and after_message.came_back == first.came_back + 1
    # A status changed by a handler is audited: the audit trail's newest entry tells.
    cases["c6"].status = CaseStatus.INVESTIGATING
    audit.record(db, "case_updated", now=NOW, case_id=cases["c6"].id, detail="status")
    db.commit()
    after_status = statistics.compute(db, PERIOD, now=NOW)
    assert after_status.open_cases[CaseStatus.NEW] != after_message.open_cases[CaseStatus.NEW]
    assert after_status == statistics.compute_now(db, PERIOD, now=NOW)
    # The ages of open cases move with the hour, even with nothing else changed.
    assert statistics.compute(db, PERIOD, now=NOW + timedelta(hours=1)) is not after_status
