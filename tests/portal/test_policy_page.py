"""The published policy (/policy, its PDF, its flowchart) states what the clock enforces.

One source of truth: for each shipped preset, every time the page states and every step of
every escalation table is read back from the page's text and checked against the timeline
``candor clock preview`` computes (``preview.preview_timeline``) for the same policy, tier and
reporter group. Editing a policy changes the page.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.config import Config
from portal.models import User
from portal.services import clock, sitetext, training
from portal.services.calendar import BusinessCalendar, Duration, Unit
from portal.services.clock import preview, versions
from portal.services.clock.preview import Happening
from portal.services.clock.schedule import LEVEL_NAMES, due_time
from portal.services.policies import PRESETS, Policy
from tests.factories import NOW, make_admin, make_handler, sign_in_as

# A Monday morning on the test site's wall clock (Europe/Berlin), a working day in Bavaria.
RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
DURATION = re.compile(r"(\d+) (minute|hour|calendar day|working day|calendar month)s?\b")
UNITS = {
    "minute": Unit.MINUTES,
    "hour": Unit.HOURS,
    "calendar day": Unit.CALENDAR_DAYS,
    "working day": Unit.WORKING_DAYS,
    "calendar month": Unit.CALENDAR_MONTHS,
}
FIRST_STEP = re.compile(r"^when the time allowed \((.+)\) is up: level (\d), (.+)$")
LATER_STEP = re.compile(r"^(.+) later: level (\d), (.+)$")
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def duration_of(text: str) -> Duration:
    (found,) = DURATION.findall(text)
    return Duration(int(found[0]), UNITS[found[1]])


@dataclass
class Row:
    data: dict[str, str]
    cells: list[list[str]] = field(default_factory=list)


class Rows(HTMLParser):
    """The rows of the page's tables that say what they are about (data-clock): each cell's
    text, or the text of each item of its list."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self.row: Row | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-clock" in values:
            self.row = Row({k.removeprefix("data-"): v for k, v in values.items()})
        elif self.row is not None and tag in ("td", "th"):
            self.row.cells.append([])
            self.text = []
        elif self.row is not None and tag == "li":
            self.text = []

    def handle_endtag(self, tag: str) -> None:
        if self.row is None:
            return
        words = " ".join("".join(self.text).split())
        if tag == "li":
            self.row.cells[-1].append(words)
            self.text = []
        elif tag in ("td", "th") and not self.row.cells[-1]:
            self.row.cells[-1].append(words)
        elif tag == "tr":
            self.rows.append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def rows_of(html: str) -> list[Row]:
    parser = Rows()
    parser.feed(html)
    return parser.rows


def calendar_of(app: Flask) -> BusinessCalendar:
    config: Config = app.extensions["candor.config"]
    return clock.settings_for(config).calendar


@pytest.fixture
def admin(db: Session) -> User:
    make_handler(db, "hanna")
    return make_admin(db)


def use_policy(db: Session, admin: User, name: str) -> None:
    """Every category of the test site runs ``name`` alone."""
    for category in ("fraud", "safety"):
        clock.choose_policies(db, category, [name], actor=admin, now=NOW)


def policy_html(client: FlaskClient, language: str = "en") -> str:
    response = client.get(f"/policy?lang={language}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def stated_times(rows: list[Row], name: str) -> dict[str, dict[int, Duration]]:
    """Each clock's time allowed at each tier, as the page's table of time limits states it."""
    times: dict[str, dict[int, Duration]] = {}
    for row in rows:
        if not row.data["clock"].startswith(f"{name}/") or "group" in row.data:
            continue
        by_tier: dict[int, Duration] = {}
        for item in row.cells[1]:
            if "extended" in item or "meeting;" in item:
                continue
            tiers = re.match(r"^tier ([\d, or]+): ", item)
            numbers = [int(t) for t in re.findall(r"\d", tiers.group(1))] if tiers else [1, 2, 3]
            for tier in numbers:
                by_tier[tier] = duration_of(item)
        times[row.data["clock"].split("/", 1)[1]] = by_tier
    return times


def check_times(policy: Policy, rows: list[Row], calendar: BusinessCalendar) -> int:
    """Every stated time against the preview's due times; returns how many were checked."""
    stated = stated_times(rows, policy.name)
    assert set(stated) == {rule.key for rule in policy.clocks}
    checked = 0
    for tier in (1, 2, 3):
        timeline = preview.preview_timeline(policy, RECEIVED, tier, calendar=calendar)
        due = {e.clock: e.at for e in timeline.events if e.happening is Happening.DUE}
        for rule in policy.clocks:
            duration = stated[rule.key][tier]
            if rule.key in due:
                base = RECEIVED
                if rule.anchor_clock is not None:
                    # "the end of the time to acknowledge": the anchor's stated time, from receipt.
                    base = calendar.add(RECEIVED, stated[rule.anchor_clock][tier])
                expected = calendar.add(base, duration)
                assert due[rule.key] == expected, (policy.name, rule.key, tier, duration)
            elif rule.due_at_meeting:
                # No meeting is set: the preview's fallback, for an appeal reaching it now.
                (meeting,) = [m for m in timeline.meeting_dues if m.rule.key == rule.key]
                assert meeting.meeting is None
                assert meeting.due == calendar.add(RECEIVED, duration), (rule.key, duration)
            else:
                # A clock that starts on an act (the appeal): the preview does not run it; the
                # schedule's due time from that act is what the worker will set.
                assert rule in timeline.not_started
                assert due_time(rule, RECEIVED, calendar, tier=tier) == calendar.add(
                    RECEIVED, duration
                )
            checked += 1
    return checked


def only_escalating(policy: Policy, key: str) -> Policy:
    """``policy`` with every other clock's escalation taken out, so that the preview shows this
    clock's climb whole (on a case, a climb already made by another clock is not made again)."""
    return replace(
        policy,
        clocks=tuple(
            r if r.key == key else replace(r, at_expiry=r.at_expiry - {"escalate"})
            for r in policy.clocks
        ),
    )


def check_climbs(
    policy: Policy, rows: list[Row], calendar: BusinessCalendar, groups: list[str]
) -> int:
    """Every stated escalation step against the preview's escalations; returns the count."""
    ladder_rows = [
        r for r in rows if "group" in r.data and r.data["clock"].startswith(f"{policy.name}/")
    ]
    checked = 0
    for rule in policy.clocks:
        mine = [r for r in ladder_rows if r.data["clock"] == f"{policy.name}/{rule.key}"]
        if "escalate" not in rule.at_expiry:
            assert not mine, rule.key
            continue
        own = {r.data["group"] for r in mine} - {""}
        for group in [*groups, None]:
            for tier in (1, 2, 3):
                key = group if group in own else ""
                (row,) = [
                    r
                    for r in mine
                    if r.data["group"] == key and str(tier) in r.data["tiers"].split()
                ]
                timeline = preview.preview_timeline(
                    only_escalating(policy, rule.key),
                    RECEIVED,
                    tier,
                    calendar=calendar,
                    group=group,
                )
                due = next(
                    e.at
                    for e in timeline.events
                    if e.clock == rule.key and e.happening is Happening.DUE
                )
                climbed = [
                    e
                    for e in timeline.events
                    if e.clock == rule.key and e.happening is Happening.ESCALATION
                ]
                steps = row.cells[2]
                assert len(steps) == len(climbed), (rule.key, group, tier, steps)
                at = due
                for number, (text, event) in enumerate(zip(steps, climbed, strict=True)):
                    if number == 0:
                        found = FIRST_STEP.match(text)
                        assert found, text
                        assert event.at == due
                    else:
                        found = LATER_STEP.match(text)
                        assert found, text
                        at = calendar.add(at, duration_of(found.group(1)))
                        assert event.at == at, (rule.key, group, tier, text)
                    assert int(found.group(2)) == event.level, text
                    assert found.group(3) == (event.step or LEVEL_NAMES[event.level]), text
                    checked += 1
    return checked


@pytest.mark.parametrize("preset", PRESETS)
def test_every_stated_time_and_step_is_what_the_preview_computes(
    app: Flask, client: FlaskClient, db: Session, admin: User, preset: str
) -> None:
    use_policy(db, admin, preset)
    rows = rows_of(policy_html(client))
    policy = versions.resolve_policy(db, preset)
    calendar = calendar_of(app)
    groups = ["employee", "customer", "vendor", "public", "other"]
    assert check_times(policy, rows, calendar) == 3 * len(policy.clocks)
    assert check_climbs(policy, rows, calendar, groups) >= 6


def test_the_complaints_ladder_names_the_seeds_steps(
    client: FlaskClient, db: Session, admin: User
) -> None:
    use_policy(db, admin, "seed-complaints")
    rows = rows_of(policy_html(client))
    (customer,) = [
        r
        for r in rows
        if r.data.get("clock") == "seed-complaints/review"
        and r.data.get("group") == "customer"
        and r.data["tiers"] == "1"
    ]
    # seeds/000, lines 40 and 42: the Slack channel after 15 minutes, then support@ after 15 more.
    assert customer.cells[2] == [
        "when the time allowed (15 minutes) is up: level 2, the Alloy team on the customer's "
        "Slack channel",
        "15 minutes later: level 3, support@alloy.co, marked urgent",
    ]


def test_a_wrong_statement_would_be_caught(
    app: Flask, client: FlaskClient, db: Session, admin: User
) -> None:
    """The check fails when the page and the clock disagree: the test is not a tautology."""
    use_policy(db, admin, "eu-directive")
    rows = rows_of(policy_html(client))
    acknowledge = next(r for r in rows if r.data["clock"] == "eu-directive/acknowledge")
    acknowledge.cells[1] = ["8 calendar days"]
    with pytest.raises(AssertionError):
        check_times(versions.resolve_policy(db, "eu-directive"), rows, calendar_of(app))


def test_editing_a_policy_changes_the_page(
    app: Flask, client: FlaskClient, db: Session, admin: User
) -> None:
    versions.create_from_preset(
        db, "seed-membership", "members", "Members' complaints", actor=admin, now=NOW
    )
    use_policy(db, admin, "members")
    before = rows_of(policy_html(client))
    assert stated_times(before, "members@1")["acknowledge"][1] == Duration(48, Unit.HOURS)
    text = versions.get_version(db, "members").content
    edited = text.replace("duration = 48\n", "duration = 24\n", 1)
    assert edited != text
    versions.save_version(
        db, "members", edited, "Acknowledge within a day.", edited_version=1, actor=admin, now=NOW
    )
    versions.forget_cached()
    after_html = policy_html(client)
    after = rows_of(after_html)
    assert stated_times(after, "members@2")["acknowledge"][1] == Duration(24, Unit.HOURS)
    assert "within 24 hours" in after_html and "within 48 hours" not in after_html
    policy = versions.resolve_policy(db, "members")
    calendar = calendar_of(app)
    assert check_times(policy, after, calendar) == 3 * len(policy.clocks)
    assert check_climbs(
        policy, after, calendar, ["employee", "customer", "vendor", "public", "other"]
    )


def pdf_text(client: FlaskClient, language: str = "en") -> str:
    response = client.get(f"/policy.pdf?lang={language}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def squeezed(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


@pytest.mark.parametrize("preset", PRESETS)
def test_the_page_and_the_pdf_state_the_seeds_promises_and_draw_the_flowchart(
    client: FlaskClient, db: Session, admin: User, preset: str
) -> None:
    use_policy(db, admin, preset)
    html = policy_html(client)
    text = pdf_text(client)
    policy = versions.resolve_policy(db, preset)
    receipt_clocks = [r for r in policy.clocks if r.start.value == "received"]
    assert receipt_clocks
    for rule in receipt_clocks:
        promise = f"We {rule.promise} within {policy.promised_within(rule)}."
        assert promise in squeezed(html), promise
        assert promise in text, promise
    for rule in policy.clocks:
        assert rule.label in text
    # The drawing: its ladder's boxes are in the SVG only (the lists say the steps in words).
    (drawing,) = SVG.findall(html)
    assert "Level 2: supervisor" in drawing
    assert "Level 2: supervisor" in text
    assert "Report received" in drawing and "Report received" in text
    if preset == "seed-complaints":
        assert "Notice of the external mediator" in drawing
        assert "if the time runs out (45 calendar days)" in text
    if preset == "seed-membership":
        assert "Company Secretary answers the appeal" in drawing
        assert "extendable to 20 working days" in drawing


def test_the_flowchart_is_well_formed_svg_with_a_text_alternative(
    client: FlaskClient, db: Session, admin: User
) -> None:
    # An admin's own policy: its words reach the drawing as text, never as markup.
    versions.create_from_preset(
        db, "seed-membership", "members", 'Members <b>&</b> "friends"', actor=admin, now=NOW
    )
    use_policy(db, admin, "members")
    html = policy_html(client)
    (drawing,) = SVG.findall(html)
    root = ET.fromstring(drawing)  # noqa: S314  (the site's own SVG, made by this test's site)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    title, desc = root.find(f"{ns}title"), root.find(f"{ns}desc")
    assert title is not None and desc is not None
    assert title.text == 'Flowchart: Members <b>&</b> "friends"'
    assert set(root.get("aria-labelledby", "").split()) == {title.get("id"), desc.get("id")}
    steps = [
        "Report received",
        "Acknowledge, naming who investigates",
        "Investigate and decide",
        "Company Secretary answers the appeal",
        "Committee decides the appeal",
    ]
    description = desc.text or ""
    assert [description.index(s) for s in steps] == sorted(description.index(s) for s in steps)
    # The same steps as an ordered list on the page.
    listed = re.search(r'<figure class="flowchart".*?</figure>\s*<ol>(.*?)</ol>', html, re.S)
    assert listed is not None
    items = re.findall(r"<li>(.*?)</li>", listed.group(1))
    assert items[0] == "Report received" and len(items) == len(steps)
    assert all(step in item for step, item in zip(steps, items, strict=True))
    assert "<b>&</b>" not in html and "<script" not in html


def test_staff_written_sections_are_sanitised_and_have_defaults(
    client: FlaskClient, db: Session, admin: User
) -> None:
    html = policy_html(client)
    assert "Everyone who handles reports is trained" in html  # the built-in training text
    sitetext.set_text(
        db,
        "policy_training",
        "<p>Handlers train every <em>year</em>.</p><script>alert(1)</script>"
        "<img src=x onerror=alert(2)>",
        NOW,
    )
    html = policy_html(client)
    assert "Handlers train every <em>year</em>." in html
    # The tags are gone; what was between them stays as harmless text, as bleach leaves it.
    assert "<script" not in html and "onerror" not in html and "<img" not in html
    assert "Everyone who handles reports is trained" not in html
    assert "Handlers train every year." in pdf_text(client)


def test_the_page_works_without_javascript_and_is_linked_from_the_start_and_the_form(
    client: FlaskClient, db: Session, admin: User
) -> None:
    response = client.get("/policy")
    assert "<script" not in response.get_data(as_text=True)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert 'href="/policy"' in client.get("/").get_data(as_text=True)
    assert 'href="/policy"' in client.get("/report").get_data(as_text=True)


def test_the_pdf_is_in_the_pages_language(client: FlaskClient, db: Session, admin: User) -> None:
    use_policy(db, admin, "eu-directive")
    # Words the catalogue already translates: the Directive's times.
    assert "7 Kalendertage" in pdf_text(client, "de")
    assert "7 calendar days" in pdf_text(client, "en")
    assert len(pdf_text(client, "ar")) > 1000  # Arabic is shaped, right to left, and prints


def test_the_page_states_roles_retention_review_and_the_mediator(
    client: FlaskClient, db: Session, admin: User
) -> None:
    make_handler(db, "sven", level=2)
    use_policy(db, admin, "seed-complaints")
    sitetext.set_text(
        db,
        "mediator_notice",
        "<p>Our mediator, Ms Rossi, answers within {duration}: "
        '<a href="tel:+49301234">030 1234</a>.</p>',
        NOW,
    )
    text = squeezed(policy_html(client))
    assert "Our mediator, Ms Rossi, answers within 45 calendar days" in text
    assert "We keep a case for 5 years after it is closed, then delete it." in text
    assert "Reviewed every 12 calendar months." in text
    html = policy_html(client)
    assert re.search(
        r'data-level="2"><th scope="row">2</th><td>supervisor</td><td>Compliance officer</td>', html
    )


def test_the_admin_policy_page_shows_the_flowchart(app: Flask, db: Session, admin: User) -> None:
    staff = app.test_client()
    sign_in_as(staff, db, admin)
    html = staff.get("/admin/policies/seed-membership").get_data(as_text=True)
    (drawing,) = SVG.findall(html)
    assert "Committee decides the appeal" in drawing
    ET.fromstring(drawing)  # noqa: S314  (the site's own SVG: it must parse)
    assert staff.get("/admin/texts?key=policy_training").status_code == 200


def test_the_training_the_admins_require_is_stated_on_the_page_and_in_the_pdf(
    client: FlaskClient, db: Session, admin: User
) -> None:
    sentence = "All handlers complete “Handling whistleblowing reports”, and again every 24 months."
    assert sentence not in squeezed(policy_html(client))
    training.add_requirement(
        db,
        name="Handling whistleblowing reports",
        who="handlers:1",
        months="24",
        actor_id=admin.id,
        now=NOW,
    )
    assert sentence in squeezed(policy_html(client))
    assert sentence in pdf_text(client)
    retired = training.list_requirements(db)[0]
    training.retire_requirement(db, retired, actor_id=admin.id, now=NOW)
    assert sentence not in squeezed(policy_html(client))


@pytest.mark.parametrize("preset", PRESETS)
def test_each_clock_reads_as_a_whole_sentence_in_resolution_and_communication(
    client: FlaskClient, db: Session, admin: User, preset: str
) -> None:
    use_policy(db, admin, preset)
    html = policy_html(client)
    start = html.index("<h2>Resolution and communication</h2>")
    text = squeezed(html[start : html.index("<h2", start + 1)])
    # No fragment left hanging where a time should follow, nor a reason "of" a start event.
    assert "within:" not in text and "recorded reason of" not in text
    if preset == "seed-membership":
        assert "It may be extended once to 20 working days, with a recorded reason." in text
        assert "at the committee's next meeting, or, without one, within" in text
